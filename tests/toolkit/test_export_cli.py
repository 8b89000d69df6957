"""``toolgym export`` end to end on the sample dataset: splits, reproducibility, bad lines, manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.toolkit.test_exporters import REPO, SAMPLE, delegating_trajectory, parallel_trajectory
from toolkit.exporters import flatten_subagents
from toolkit.readers import load_trajectories
from toolkit.records import Validation


def _export(tmp_path: Path, *args: str, src: Path = SAMPLE) -> tuple[int, Path, dict]:
    from toolkit.cli import main

    out = tmp_path / "out"
    code = main(["export", str(src), "--out", str(out), *args])
    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return code, out, manifest


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("fmt", ["trl", "openai", "sharegpt", "hermes"])
def test_export_without_split_writes_every_record_and_subagent_as_rows(tmp_path, fmt):
    code, out, manifest = _export(tmp_path, "--format", fmt)
    assert code == 0
    rows = _lines(out / "all.jsonl")
    assert len(rows) == 13  # 12 records + 1 subagent
    assert manifest["format"] == fmt and manifest["split"] is None
    assert manifest["files"]["all"] | {"tools_offered": None} == {
        "file": "all.jsonl", "records": 12, "rows": 13, "subagent_rows": 1,
        "kinds": {"chain": 1, "delegate": 1, "error_recovery": 1, "missing_argument": 1, "multi_turn": 1,
                  "no_tool": 2, "parallel": 2, "single": 3},
        "tools_called": ["add", "convert_units", "delegate", "search_docs"], "tools_offered": None,
        **({"links_file": "all.links.jsonl"} if fmt == "openai" else {}),
    }
    import hashlib

    assert manifest["source"]["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["all.jsonl", "manifest.json"] + (["all.links.jsonl"] if fmt == "openai" else []))


def test_openai_export_writes_links_line_aligned_with_the_rows(tmp_path):
    _, out, _ = _export(tmp_path, "--format", "openai")
    rows, links = _lines(out / "all.jsonl"), _lines(out / "all.links.jsonl")
    assert len(rows) == len(links)
    child = next(i for i, link in enumerate(links) if link["parent_id"])
    assert links[child] == {"id": "s11-delegate-research.sub1", "parent_id": "s11-delegate-research",
                            "parent_call_id": "call_s11_delegate_research_1",
                            "root_id": "s11-delegate-research", "depth": 1}
    assert [t["function"]["name"] for t in rows[child]["tools"]] == ["search_docs"]
    assert links[child - 1]["id"] == "s11-delegate-research"  # the child follows its parent


def test_export_held_out_tools_writes_disjoint_tool_sets_and_reports_drops(tmp_path):
    code, out, manifest = _export(tmp_path, "--format", "trl", "--split", "held-out-tools", "--seed", "0")
    assert code == 0
    train, test = manifest["files"]["train"], manifest["files"]["test"]
    assert set(train["tools_called"]).isdisjoint(test["tools_called"]) and test["tools_called"]
    split = manifest["split"]
    assert split["method"] == "held-out-tools" and split["seed"] == 0 and split["held_out_tools"]
    assert train["records"] + test["records"] + split["dropped_records"] == 12
    test_rows = _lines(out / "test.jsonl")
    messages = [m for r in test_rows for m in r["messages"]]
    called = {tc["function"]["name"] for m in messages for tc in m.get("tool_calls", [])}
    assert called <= set(split["held_out_tools"])


def test_export_is_byte_for_byte_reproducible_for_a_seed(tmp_path):
    a = _export(tmp_path / "a", "--format", "sharegpt", "--split", "random", "--seed", "5")[1]
    b = _export(tmp_path / "b", "--format", "sharegpt", "--split", "random", "--seed", "5")[1]
    for name in ("train.jsonl", "test.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_export_split_membership_ignores_the_order_of_the_input_file(tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("".join(reversed(lines)), encoding="utf-8")
    _, _, m1 = _export(tmp_path / "a", "--format", "trl", "--split", "kind")
    _, out2, m2 = _export(tmp_path / "b", "--format", "trl", "--split", "kind", src=shuffled)
    _, out1, _ = _export(tmp_path / "c", "--format", "trl", "--split", "kind")
    ids1 = sorted(r["metadata"]["id"] for r in _lines(out1 / "test.jsonl"))
    ids2 = sorted(r["metadata"]["id"] for r in _lines(out2 / "test.jsonl"))
    assert ids1 == ids2 and m1["files"]["test"]["kinds"] == m2["files"]["test"]["kinds"]


def test_export_skips_malformed_and_torn_lines_reports_their_numbers_and_exits_1(tmp_path, capsys):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(lines[0] + "{not json\n" + lines[1] + '{"id": "x"}\n' + lines[2] + lines[3][:40],
                      encoding="utf-8")
    code, out, manifest = _export(tmp_path, "--format", "trl", src=broken)
    assert code == 1
    assert manifest["source"]["lines_skipped"] == 3
    problems = manifest["source"]["problems"]
    assert problems[0].startswith("line 2: bad JSON")
    assert problems[1].startswith("line 4: unknown row shape")
    assert problems[2].startswith("line 6: truncated line") and "cut off while being written" in problems[2]
    assert len(_lines(out / "all.jsonl")) == 3
    assert "line 2" in capsys.readouterr().out


def test_export_only_valid_keeps_records_whose_validation_passed(tmp_path):
    records = load_trajectories(SAMPLE)[0]
    failed = records[0].model_copy(update={"id": "failed", "validation": Validation(passed=False)})
    unvalidated = records[1].model_copy(update={"id": "unvalidated", "validation": None})
    src = tmp_path / "mixed.jsonl"
    mixed = [*records[2:5], failed, unvalidated]
    src.write_text("".join(t.to_json() + "\n" for t in mixed), encoding="utf-8")
    code, out, manifest = _export(tmp_path, "--format", "hermes", "--only-valid", src=src)
    assert code == 0
    assert manifest["filter"] == {"only_valid": True, "failed_validation": 1, "not_validated": 1}
    assert [r["metadata"]["id"] for r in _lines(out / "all.jsonl")] == [r.id for r in records[2:5]]


def test_export_counts_records_the_format_cannot_hold_and_writes_the_rest(tmp_path, capsys):
    t = parallel_trajectory()
    t.messages[2] = t.messages[2].model_copy(update={"content": "Let me check."})
    src = tmp_path / "mixed.jsonl"
    src.write_text(t.to_json() + "\n" + delegating_trajectory().to_json() + "\n", encoding="utf-8")
    code, out, manifest = _export(tmp_path, "--format", "sharegpt", src=src)
    assert code == 1
    assert manifest["export_errors"]["count"] == 1
    assert manifest["export_errors"]["records"][0]["record_id"] == "t1"
    assert len(_lines(out / "all.jsonl")) == 3
    assert "not exported: record 't1'" in capsys.readouterr().out


def test_export_of_a_file_with_no_readable_record_is_a_usage_error(tmp_path, capsys):
    src = tmp_path / "junk.jsonl"
    src.write_text("hello\n", encoding="utf-8")
    code, _, _ = _export(tmp_path, "--format", "trl", src=src)
    assert code == 2
    assert "no trajectory record could be read" in capsys.readouterr().err


def test_export_removes_files_of_an_earlier_export_into_the_same_directory(tmp_path):
    _export(tmp_path, "--format", "trl")
    _, out, _ = _export(tmp_path, "--format", "trl", "--split", "random")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test.jsonl", "train.jsonl"]


def test_sample_dataset_is_up_to_date_valid_and_covers_every_scenario_kind():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "samples/data/make_sample.py", "--check"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    records, bad = load_trajectories(SAMPLE)
    assert not bad and len(records) == 12
    assert all(r.validation and r.validation.passed for r in records)
    assert {r.scenario.kind for r in records} == {
        "single", "parallel", "chain", "no_tool", "missing_argument", "error_recovery", "multi_turn",
        "delegate",
    }
    parent = next(r for r in records if r.subagents)
    (call_id, child), = parent.subagents.items()
    delegate_call = next(c for c in parent.tool_calls() if c.id == call_id)
    assert delegate_call.name == "delegate" and set(delegate_call.arguments) == {"task", "tools"}
    assert [t.name for t in child.tools] == delegate_call.arguments["tools"]
    result_msg = next(m for m in parent.messages if m.tool_call_id == call_id)
    assert result_msg.content == child.final_answer()


def test_export_converts_a_third_party_openai_file_into_another_format(tmp_path):
    _, oai, _ = _export(tmp_path / "a", "--format", "openai")
    code, out, manifest = _export(tmp_path / "b", "--format", "hermes", src=oai / "all.jsonl")
    assert code == 0 and manifest["files"]["all"]["rows"] == 13
    first = _lines(out / "all.jsonl")[0]["conversations"]
    call = '{"name": "add", "arguments": {"a": 1234.5, "b": 987.25}}'
    assert first[2]["value"] == f"<tool_call>\n{call}\n</tool_call>"


def test_export_flags_duplicate_record_ids_in_the_manifest_and_on_stdout(tmp_path, capsys):
    line = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    src = tmp_path / "dupes.jsonl"
    src.write_text(line + line, encoding="utf-8")
    code, _, manifest = _export(tmp_path, "--format", "trl", src=src)
    assert code == 0 and manifest["source"]["duplicate_ids"] == ["s01-single-add"]
    assert "occur more than once" in capsys.readouterr().out


def test_export_refuses_held_out_by_without_its_split_and_an_out_path_that_is_a_file(tmp_path, capsys):
    code, _, _ = _export(tmp_path, "--format", "trl", "--split", "random", "--held-out-by", "offered")
    assert code == 2 and "--held-out-by only applies to --split held-out-tools" in capsys.readouterr().err
    from toolkit.cli import main

    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["export", str(SAMPLE), "--format", "trl", "--out", str(tmp_path / "file")]) == 2
    assert "is a file; pass a directory" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["trl", "openai"])
def test_exported_chat_rows_read_back_to_the_same_conversations(tmp_path, fmt):
    _, out, _ = _export(tmp_path, "--format", fmt)
    back, bad = load_trajectories(out / "all.jsonl")
    assert not bad
    originals = [node for r in load_trajectories(SAMPLE)[0] for node, _ in flatten_subagents(r)]
    assert len(back) == len(originals) == 13
    for got, want in zip(back, originals):
        assert [(m.role, m.content) for m in got.messages] == [(m.role, m.content) for m in want.messages]
        assert [c.to_dict() for c in got.tool_calls()] == [c.to_dict() for c in want.tool_calls()]
        assert [t.name for t in got.tools] == [t.name for t in want.tools]
