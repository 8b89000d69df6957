from __future__ import annotations

from pathlib import Path

from synthesizers.dedupe import Deduplicator
from synthesizers.sink import JsonlSink, repair_torn_tail, scan_ids
from toolkit.records import FunctionCall, Message, ToolCallRecord, Trajectory


def _traj(i: str, text: str, args: dict | None = None) -> Trajectory:
    msgs = [Message(role="user", content=text)]
    if args is not None:
        msgs.append(Message(role="assistant", tool_calls=[ToolCallRecord(id="c1", function=FunctionCall(name="f", arguments=args))]))
        msgs.append(Message(role="tool", tool_call_id="c1", name="f", content="1"))
    msgs.append(Message(role="assistant", content="done"))
    return Trajectory(id=i, messages=msgs)


def test_torn_last_line_is_cut_and_complete_lines_are_kept(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "mes')
    assert repair_torn_tail(p) == len('{"id": "c", "mes')
    assert scan_ids(p) == {"a", "b"}
    p.write_text('{"id": "a"}\n{"id": "b", oops}\n')
    repair_torn_tail(p)
    assert p.read_text() == '{"id": "a"}\n'


def test_sink_appends_whole_lines_on_resume(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    with JsonlSink(p, resume=False) as s:
        s.write({"id": "a"})
    p.write_text(p.read_text() + '{"id": "b"')
    with JsonlSink(p, resume=True) as s:
        s.write({"id": "c"})
    assert p.read_text() == '{"id":"a"}\n{"id":"c"}\n'


def test_exact_and_near_duplicates_are_caught_but_different_calls_are_not() -> None:
    d = Deduplicator(threshold=0.8)
    base = ("please convert twelve point five kilometres into miles for my running plan this week and then tell me "
            "how many laps of the four hundred metre track that would be if I run them all on saturday morning")
    assert d.check(_traj("1", base, {"x": 1})) is None
    assert d.check(_traj("2", base, {"x": 1})) == "exact duplicate"
    assert d.check(_traj("3", base + " please", {"x": 1})) == "near duplicate"
    assert d.check(_traj("4", "what meetings do I have on friday with the design team in lisbon", {"x": 1})) is None
    exact_only = Deduplicator(threshold=None)
    assert exact_only.check(_traj("1", base)) is None
    assert exact_only.check(_traj("3", base + " please")) is None
