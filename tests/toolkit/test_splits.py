"""Splits: sizes, stratification, held-out tool disjointness, and determinism from the seed alone."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from toolkit.errors import UserError
from toolkit.exporters import split_by_kind, split_held_out_tools, split_random, split_records, tools_used
from toolkit.records import FunctionCall, Message, Scenario, ToolCallRecord, Trajectory
from toolkit.specs import ToolSpec

SCHEMA = {"type": "object", "properties": {}}


def rec(rid: str, calls: list[str], kind: str = "single", offered: list[str] | None = None,
        child_calls: list[str] | None = None) -> Trajectory:
    """A record calling ``calls`` (one per turn); ``child_calls`` go to a delegated subagent."""
    msgs = [Message(role="user", content=f"task {rid}")]
    for n, name in enumerate(calls):
        cid = f"{rid}-c{n}"
        call = ToolCallRecord(id=cid, function=FunctionCall(name=name))
        msgs.append(Message(role="assistant", tool_calls=[call]))
        msgs.append(Message(role="tool", tool_call_id=cid, content="ok"))
    subagents = {}
    if child_calls is not None:
        cid = f"{rid}-d"
        call = ToolCallRecord(id=cid, function=FunctionCall(name="delegate"))
        msgs.append(Message(role="assistant", tool_calls=[call]))
        msgs.append(Message(role="tool", tool_call_id=cid, content="done"))
        subagents[cid] = rec(f"{rid}.sub", child_calls)
    msgs.append(Message(role="assistant", content="done"))
    if offered is None:
        offered = sorted(set(calls) | ({"delegate"} if child_calls is not None else set()))
    names = offered
    return Trajectory(
        id=rid,
        messages=msgs,
        tools=[ToolSpec(name=n, input_schema=SCHEMA) for n in names],
        subagents=subagents,
        scenario=Scenario(kind=kind),
    )


def corpus(n: int = 60) -> list[Trajectory]:
    rng = random.Random(7)
    tools = ["add", "sub", "mul", "div", "search", "fetch", "convert", "sort"]
    kinds = ["single", "parallel", "chain", "no_tool"]
    out = []
    for i in range(n):
        kind = kinds[i % 4]
        calls = [] if kind == "no_tool" else rng.sample(tools, 1 if kind == "single" else 2)
        out.append(rec(f"r{i:03d}", calls, kind, offered=tools))
    return out


def ids(records: list[Trajectory]) -> list[str]:
    return sorted(r.id for r in records)


@pytest.mark.parametrize("split", [split_random, split_by_kind, split_held_out_tools])
def test_the_same_seed_gives_the_same_split_whatever_the_input_order(split):
    records = corpus()
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    a, b = split(records, seed=3), split(shuffled, seed=3)
    assert (ids(a.train), ids(a.test), ids(a.dropped)) == (ids(b.train), ids(b.test), ids(b.dropped))
    assert [r.id for r in b.test] == [r.id for r in shuffled if r.id in set(ids(b.test))]  # input order kept


@pytest.mark.parametrize("split", [split_random, split_by_kind])
def test_different_seeds_give_different_splits(split):
    records = corpus()
    assert ids(split(records, seed=0).test) != ids(split(records, seed=1).test)


def test_random_split_puts_the_rounded_fraction_in_test_and_everything_else_in_train():
    records = corpus(50)
    s = split_random(records, test_fraction=0.3, seed=0)
    assert len(s.test) == 15 and len(s.train) == 35 and not s.dropped
    assert set(ids(s.train)).isdisjoint(ids(s.test))


def test_random_split_keeps_at_least_one_record_on_each_side():
    s = split_random(corpus(3), test_fraction=0.05, seed=0)
    assert len(s.test) == 1 and len(s.train) == 2


def test_kind_split_gives_every_kind_its_share_within_one_record():
    records = corpus(61)  # 16/15/15/15 per kind
    s = split_by_kind(records, test_fraction=0.2, seed=0)
    assert len(s.test) == round(61 * 0.2)
    per_kind = Counter(r.scenario.kind for r in records)
    in_test = Counter(r.scenario.kind for r in s.test)
    for kind, n in per_kind.items():
        assert abs(in_test[kind] - n * 0.2) < 1, kind


def test_kind_split_notes_kinds_too_small_to_reach_test():
    records = corpus(20) + [rec("lonely", ["add"], kind="rare")]
    s = split_by_kind(records, test_fraction=0.2, seed=0)
    assert any("rare" in note for note in s.notes)


def test_held_out_tools_never_share_a_tool_between_train_and_test():
    records = corpus(80)
    for seed in range(5):
        s = split_held_out_tools(records, test_fraction=0.25, seed=seed)
        train_tools = set().union(*(tools_used(r) for r in s.train))
        test_tools = set().union(*(tools_used(r) for r in s.test))
        assert s.test and s.train
        assert train_tools.isdisjoint(test_tools), seed
        assert test_tools <= set(s.held_out_tools)


def test_held_out_tools_drops_exactly_the_records_that_mix_held_out_and_training_tools():
    records = corpus(80)
    s = split_held_out_tools(records, test_fraction=0.25, seed=0)
    held = set(s.held_out_tools)
    mixed = {r.id for r in records if tools_used(r) & held and not tools_used(r) <= held}
    assert set(ids(s.dropped)) == mixed and mixed
    assert len(s.train) + len(s.test) + len(s.dropped) == len(records)
    assert any(f"{len(mixed)} record(s)" in note for note in s.notes)


def test_held_out_tools_counts_the_tools_subagents_call():
    records = [
        rec("a", ["add"]), rec("b", ["add"]), rec("c", ["search"]), rec("d", ["search"]),
        rec("p", [], child_calls=["search"]),  # calls delegate; its child calls search
    ]
    assert tools_used(records[4]) == {"delegate", "search"}
    for seed in range(6):
        s = split_held_out_tools(records, test_fraction=0.4, seed=seed)
        train_tools = set().union(*(tools_used(r) for r in s.train))
        assert train_tools.isdisjoint(set().union(*(tools_used(r) for r in s.test)))


def test_held_out_by_offered_tools_keeps_test_tools_out_of_train_prompts_too():
    records = [rec(f"a{i}", ["add"], offered=["add"]) for i in range(4)]
    records += [rec(f"s{i}", ["search"], offered=["search", "add"]) for i in range(4)]
    records += [rec(f"f{i}", ["fetch"], offered=["fetch"]) for i in range(4)]
    for seed in range(4):
        s = split_held_out_tools(records, test_fraction=0.3, seed=seed, match="offered")
        train_offered = set().union(*(tools_used(r, "offered") for r in s.train))
        test_offered = set().union(*(tools_used(r, "offered") for r in s.test))
        assert s.test and train_offered.isdisjoint(test_offered)


def test_held_out_tools_splits_records_without_calls_at_random():
    records = [rec(f"a{i}", ["add"]) for i in range(5)] + [rec(f"s{i}", ["search"]) for i in range(5)]
    records += [rec(f"n{i}", [], kind="no_tool") for i in range(10)]
    s = split_held_out_tools(records, test_fraction=0.5, seed=0)
    assert Counter(r.scenario.kind for r in s.test)["no_tool"] == 5


def test_held_out_tools_refuses_records_that_use_a_single_tool():
    with pytest.raises(UserError, match="at least 2 distinct tools.*--split random"):
        split_held_out_tools([rec("a", ["add"]), rec("b", ["add"])], seed=0)


def test_held_out_tools_refuses_when_every_record_mixes_all_tools():
    records = [rec(f"m{i}", ["add", "search"]) for i in range(5)]
    with pytest.raises(UserError, match="no tool can be held out cleanly"):
        split_held_out_tools(records, seed=0)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_a_test_fraction_outside_zero_and_one_is_refused(fraction):
    with pytest.raises(UserError, match="between 0 and 1"):
        split_random(corpus(10), test_fraction=fraction)


def test_a_single_record_cannot_be_split():
    with pytest.raises(UserError, match="at least 2 records"):
        split_random([rec("a", ["add"])])


def test_split_records_picks_the_method_by_name_and_refuses_unknown_ones():
    assert split_records(corpus(10), "kind", seed=0).method == "kind"
    with pytest.raises(UserError, match="choose one of: random, kind, held-out-tools"):
        split_records(corpus(10), "stratified")


def test_records_sharing_an_id_are_still_split_the_same_whatever_their_order():
    records = corpus(20) + [rec("r003", ["add"], kind="chain"), rec("r003", ["sort"], kind="parallel")]
    a = split_random(records, test_fraction=0.3, seed=2)
    b = split_random(list(reversed(records)), test_fraction=0.3, seed=2)
    assert sorted(r.to_json() for r in a.test) == sorted(r.to_json() for r in b.test)
