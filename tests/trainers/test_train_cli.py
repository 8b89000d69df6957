"""`toolgym train sft`: YAML config with --set overrides, clear config errors, --gate-only, a real run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.trainers.helpers import DROPS_CALLS, delegating_record, record, write_jsonl
from toolkit.errors import UserError
from trainers.cli import train_cmd
from trainers.models import resolve_model
from trainers.sft import _quantization
from trainers.sft_config import load_sft_config, parse_sets


SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "train_sft.yaml"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="toolgym")
    sub = parser.add_subparsers(dest="command")
    train_cmd.add_parser(sub).set_defaults(_run=train_cmd.run)
    args = parser.parse_args(argv)
    return args._run(args)


def test_the_sample_config_loads_and_set_overrides_it():
    cfg = load_sft_config(SAMPLE, parse_sets(["learning_rate=1e-4", "lora=false", "presentation=python",
                                              "lora_target_modules=[q_proj, v_proj]", "native=null"]))
    assert cfg.learning_rate == 1e-4 and cfg.lora is False and cfg.presentation == "python"
    assert cfg.lora_target_modules == ["q_proj", "v_proj"] and cfg.native is None
    assert cfg.train_file == Path("samples/data/sample_trajectories.jsonl") and cfg.model == "bundled"


def test_yaml_scientific_notation_without_a_dot_is_still_a_number(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train_file: t.jsonl\nlearning_rate: 5e-5\nepochs: 2\n", encoding="utf-8")
    cfg = load_sft_config(path)
    assert cfg.learning_rate == 5e-5 and cfg.epochs == 2.0


def test_unknown_settings_are_named_with_the_known_ones():
    with pytest.raises(UserError, match=r"unknown setting\(s\) lerning_rate; known: .*learning_rate"):
        load_sft_config(None, {"train_file": "t.jsonl", "lerning_rate": 1})


def test_every_invalid_value_is_listed_at_once():
    with pytest.raises(UserError) as err:
        load_sft_config(None, {"train_file": "t.jsonl", "presentation": "yaml", "lora_r": 0, "lora_dropout": 1.5})
    text = str(err.value)
    assert "presentation must be one of json, mcp, python" in text
    assert "lora_r must be at least 1" in text and "lora_dropout must be in [0, 1)" in text


def test_a_value_of_the_wrong_type_names_the_setting():
    with pytest.raises(UserError, match="setting batch_size='four' is not a valid int"):
        load_sft_config(None, {"train_file": "t.jsonl", "batch_size": "four"})
    with pytest.raises(UserError, match="--set takes key=value"):
        parse_sets(["learning_rate"])


def test_a_missing_train_file_says_how_to_set_it():
    with pytest.raises(UserError, match="train_file is required"):
        load_sft_config(None, {})


def test_qlora_without_cuda_and_bitsandbytes_is_refused_with_the_fix():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg = load_sft_config(None, {"train_file": "t.jsonl", "qlora": True})
    with pytest.raises(UserError, match="qlora needs a CUDA GPU and the bitsandbytes package; set qlora: false"):
        _quantization(cfg)


def test_model_names_resolve_to_the_bundled_gguf_files_and_directories(tmp_path):
    bundled = resolve_model("bundled")
    assert bundled.gguf_file and bundled.gguf_file.endswith(".gguf")
    assert resolve_model(str(tmp_path)).location == str(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"))


@pytest.fixture
def saved_tiny_model(tmp_path, tiny_model, smol_tokenizer):
    folder = tmp_path / "tiny"
    tiny_model.save_pretrained(folder)
    smol_tokenizer.save_pretrained(folder)
    return folder


def test_gate_only_exits_1_and_lists_the_failures_for_a_broken_template(tmp_path, capsys, smol_tokenizer):
    data = write_jsonl(tmp_path / "d.jsonl", [record("a"), record("b")])
    template = tmp_path / "broken.jinja"
    template.write_text(DROPS_CALLS, encoding="utf-8")
    code = _run(["train", "sft", "--gate-only", "--quiet", "--set", f"train_file={data}", "--set",
                 f"chat_template={template}", "--set", f"output_dir={tmp_path / 'run'}"])
    out = capsys.readouterr().out
    assert code == 1
    assert "gate FAILED" in out and "round trip" in out


def test_train_sft_runs_end_to_end_from_the_command_line(tmp_path, capsys, saved_tiny_model):
    data = write_jsonl(tmp_path / "d.jsonl", [record("a"), record("b"), delegating_record("c")])
    config = tmp_path / "sft.yaml"
    config.write_text(f"train_file: {data}\nmodel: {saved_tiny_model}\nmax_steps: 1\nbatch_size: 2\n"
                      f"max_length: 512\noutput_dir: {tmp_path / 'run'}\n", encoding="utf-8")
    code = _run(["train", "sft", str(config), "--quiet", "--set", "split=none", "--set", "presentation=mcp"])
    assert code == 0
    assert "trained 1 steps" in capsys.readouterr().out
    summary = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert summary["config"]["presentation"] == "mcp" and summary["model"]["location"] == str(saved_tiny_model)


def test_train_without_a_method_prints_usage_and_exits_2(capsys):
    assert _run(["train"]) == 2
    assert "toolgym train METHOD" in capsys.readouterr().out
