"""`toolgym validate` and `toolgym inspect`: tables, JSON reports, trees and exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from toolkit.cli import main

DATA = Path(__file__).parent / "data"
LEDGER = "py:tests.toolkit.data.ledger_tools"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_exits_0_and_prints_the_stage_table_when_every_record_passes(capsys):
    code, out, _ = _run(capsys, "validate", str(DATA / "good.jsonl"))
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:4] == ["stage", "checked", "passed", "failed"]
    stages = [line.split()[0] for line in out.splitlines()[2:7]]
    assert stages == ["record", "structure", "arguments", "results", "subagents"]
    assert "6/6 record(s) passed (100.0%)" in out


def test_validate_exits_1_and_shows_the_top_failure_reasons_per_stage(capsys):
    code, out, _ = _run(capsys, "validate", str(DATA / "bad.jsonl"))
    assert code == 1
    structure = next(line for line in out.splitlines() if line.startswith("structure"))
    assert structure.split()[1:5] == ["15", "7", "8", "7"]  # checked, passed, failed, still passing
    assert "bad role order (2), dangling tool call (2), unknown call id (2)" in structure
    assert "line 1 (dangling-call) [structure] dangling tool call:" in out
    assert "… and 11 more (use --json for all)" in out


def test_validate_json_report_has_per_stage_counts_and_failures_with_line_numbers(capsys):
    code, out, _ = _run(capsys, "validate", str(DATA / "truncated.jsonl"), "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["total"], report["passed"], report["failed"]) == (3, 1, 2)
    record = report["stages"][0]
    assert (record["stage"], record["checked"], record["passed"], record["failed"]) == ("record", 3, 1, 2)
    assert {r["reason"] for r in record["top_reasons"]} == {"bad JSON", "truncated line"}
    assert [(f["line"], f["failed_stages"]) for f in report["failures"]] == [(2, ["record"]), (3, ["record"])]
    assert report["failures"][1]["reasons"]["record"][0].startswith("truncated line:")


def test_validate_replays_with_tool_sources_and_fails_on_a_tampered_result(capsys):
    code, out, _ = _run(capsys, "validate", str(DATA / "good.jsonl"), "--tools", LEDGER)
    assert code == 0 and any(line.startswith("replay") for line in out.splitlines())
    code, out, _ = _run(capsys, "validate", str(DATA / "tampered.jsonl"), "--tools", LEDGER, "--json")
    failure = json.loads(out)["failures"][0]
    assert code == 1 and failure["failed_stages"] == ["replay"]
    assert "call 'c3' to 'balance'" in failure["reasons"]["replay"][0]


@pytest.mark.slow
def test_validate_replays_over_the_third_party_time_server_with_a_nondeterministic_tool(capsys):
    source = f"stdio:{sys.executable} -m mcp_server_time"
    code, out, _ = _run(capsys, "validate", str(DATA / "time.jsonl"), "--tools", source,
                        "--nondeterministic", "get_current_*", "--json")
    assert code == 0, out
    assert json.loads(out)["stages"][-1] == {"stage": "replay", "checked": 3, "passed": 3, "failed": 0,
                                             "still_passing": 3, "top_reasons": []}


def test_validate_reads_trl_and_openai_files(capsys):
    code, out, _ = _run(capsys, "validate", str(DATA / "trl.jsonl"), "--json")
    report = json.loads(out)
    assert code == 1 and (report["passed"], report["failed"]) == (2, 1)
    assert report["failures"][0]["line"] == 3 and report["failures"][0]["format"] == "trl"
    code, out, _ = _run(capsys, "validate", str(DATA / "openai.jsonl"), "--json")
    assert code == 1 and [f["line"] for f in json.loads(out)["failures"]] == [3, 4]


def test_max_depth_option_allows_deeper_delegation(capsys):
    _, out, _ = _run(capsys, "validate", str(DATA / "bad.jsonl"), "--json", "--max-depth", "4")
    failures = {f["id"]: f for f in json.loads(out)["failures"]}
    assert "too-deep" not in failures
    _, out, _ = _run(capsys, "validate", str(DATA / "bad.jsonl"), "--json")
    assert "too-deep" in {f["id"] for f in json.loads(out)["failures"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "missing.jsonl"], "file not found: missing.jsonl"),
        (["validate", str(DATA / "good.jsonl"), "--tools", "ftp://x"], "unrecognised tool source 'ftp://x'"),
        (["validate", str(DATA / "good.jsonl"), "--tools", "py:no_such_tools_module"], "cannot import"),
        (["validate", str(DATA / "good.jsonl"), "--nondeterministic", "x"], "add --tools SOURCE"),
        (["validate", str(DATA / "good.jsonl"), "--max-depth", "-1"], "--max-depth must be 0 or more"),
        (["validate", str(DATA / "good.jsonl"), "--stages", "replay"], "replay stage needs tools"),
        (["validate", str(DATA / "good.jsonl"), "--stages", "record,vibes"],
         "unknown validation stage(s) vibes"),
        (["inspect", str(DATA / "good.jsonl"), "--index", "6"], "--index 6 is out of range"),
        (["inspect", str(DATA / "good.jsonl"), "--id", "nope"], "no record with id 'nope'"),
    ],
)
def test_usage_errors_exit_2_with_a_message_that_names_the_problem(capsys, argv, message):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err


def test_validate_shows_progress_on_stderr_unless_quiet(capsys):
    _, out, err = _run(capsys, "validate", str(DATA / "good.jsonl"), "--tools", LEDGER)
    assert "validate [" in err and "replay [" in err and "6/6" in err
    assert "[" not in out.splitlines()[-1]
    _, _, err = _run(capsys, "validate", str(DATA / "good.jsonl"), "--tools", LEDGER, "--quiet")
    assert err == ""


def test_write_saves_every_record_with_its_verdict_and_only_passed_keeps_a_clean_dataset(capsys, tmp_path):
    annotated, clean = tmp_path / "annotated.jsonl", tmp_path / "clean.jsonl"
    code, _, err = _run(capsys, "validate", str(DATA / "openai.jsonl"), "--quiet", "--write", str(annotated))
    assert code == 1 and "wrote 3 record(s)" in err and "1 unreadable line(s) not written" in err
    rows = [json.loads(x) for x in annotated.read_text().splitlines()]
    assert [(r["id"], r["validation"]["passed"]) for r in rows] == [
        ("openai-1", True), ("openai-2", True), ("openai-4", False)
    ]
    assert rows[2]["validation"]["stages"][1]["reasons"][0].startswith("unknown call id:")
    code, _, _ = _run(capsys, "validate", str(DATA / "openai.jsonl"), "--quiet", "--write", str(clean),
                      "--only-passed")
    assert code == 1 and len(clean.read_text().splitlines()) == 2
    code, out, _ = _run(capsys, "validate", str(clean), "--quiet")
    assert code == 0 and "2/2 record(s) passed" in out


def test_write_refuses_to_overwrite_the_input_and_only_passed_needs_write(capsys, tmp_path):
    copy = tmp_path / "good.jsonl"
    copy.write_text((DATA / "good.jsonl").read_text())
    code, out, err = _run(capsys, "validate", str(copy), "--quiet", "--write", str(copy))
    assert code == 2 and out == "" and "refusing to overwrite the file being validated" in err
    assert copy.read_text() == (DATA / "good.jsonl").read_text()
    code, _, err = _run(capsys, "validate", str(copy), "--only-passed")
    assert code == 2 and "add --write OUT" in err


def test_an_empty_file_is_a_usage_error(capsys, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    code, _, err = _run(capsys, "validate", str(empty))
    assert code == 2 and "holds no records" in err


def test_stages_option_runs_only_the_chosen_stages(capsys):
    code, out, _ = _run(capsys, "validate", str(DATA / "bad.jsonl"), "--stages", "arguments", "--json")
    report = json.loads(out)
    assert [s["stage"] for s in report["stages"]] == ["record", "arguments"]
    assert code == 1 and report["failed"] == 4  # 3 argument failures + the schema violation


def test_inspect_prints_a_tree_with_the_subagent_under_its_delegate_call(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "good.jsonl"), "--id", "delegate")
    assert code == 0
    lines = out.splitlines()
    assert lines[1] == "trajectory delegate"
    assert "scenario: kind=delegate, suite=ledger" in lines
    call = next(i for i, line in enumerate(lines) if "call d1: delegate(" in line)
    assert lines[call + 1].endswith("result [3]: Bob's balance is now 3.")
    assert lines[call + 2].endswith("subagent deleg-child (tools: deposit, balance)")
    assert any(line.endswith("call k1: deposit(account=\"bob\", amount=3)") for line in lines[call + 3:])
    assert lines[-2] == "└─ [4] assistant: The helper reports bob's balance is now 3."
    assert lines[-1].startswith("checks: record, structure, arguments, results, subagents passed")


def test_inspect_truncates_long_results_and_shows_expected_calls(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "good.jsonl"), "--index", "0", "--max-chars", "10")
    assert code == 0
    assert "expected: 1 call(s): deposit, answer facts: 5" in out
    assert 'result [3]: {"account"… [21 more chars]' in out


def test_inspect_shows_unmatched_tool_results_and_calls_without_results(capsys):
    _, out, _ = _run(capsys, "inspect", str(DATA / "bad.jsonl"), "--id", "unknown-call-id")
    assert "(no result)" in out and "[3] tool (answers 'c9', unmatched)" in out


def test_inspect_shows_a_subagent_keyed_by_an_unknown_call_at_the_end(capsys):
    _, out, _ = _run(capsys, "inspect", str(DATA / "bad.jsonl"), "--id", "subagent-key-not-a-call")
    lines = out.splitlines()
    orphan = lines.index("└─ subagent deleg-child under unknown call 'ghost'")
    assert lines[orphan - 1].startswith("├─ [4] assistant:")
    assert lines[-3] == "   └─ [4] assistant: Bob's balance is now 3."
    assert lines[-2:] == [
        "checks failed:",
        "  [structure] unknown subagent key: conversation: subagents key 'ghost' is not the id of a call in "
        "this conversation (call ids: d1)",
    ]


def test_inspect_of_an_unreadable_line_exits_1_with_the_reason(capsys):
    code, out, _ = _run(capsys, "inspect", str(DATA / "truncated.jsonl"), "--index", "2")
    assert code == 1
    assert out.startswith("line 3 cannot be shown: truncated line: the last line has no newline")


def test_help_of_both_commands_shows_examples(capsys):
    for command in ("validate", "inspect"):
        assert main([command, "--help"]) == 0
        assert f"toolgym {command} data/train.jsonl" in capsys.readouterr().out
