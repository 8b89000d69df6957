"""Calendar suite: SQLite-backed events with IANA time zones, conflict detection and free-slot search."""

from __future__ import annotations

from itertools import combinations

import pytest

from tools.calendar import CalendarEnvironment

ALICE, BEN, CHLOE = "alice.nguyen@example.com", "ben.carter@example.com", "chloe.martin@example.com"


@pytest.fixture
def env() -> CalendarEnvironment:
    return CalendarEnvironment()


def ok(env, name, **args):
    result = env.call(name, args)
    assert not result.is_error, result.content
    return result.structured


def err(env, name, **args) -> str:
    result = env.call(name, args)
    assert result.is_error, result.content
    return result.content


def create(env, title="Sync", start="2026-03-20T10:00", end="2026-03-20T11:00", tz="UTC", attendees=(ALICE,),
           **kw):  # fmt: skip
    return env.call("create_event", {"title": title, "start": start, "end": end, "timezone": tz,
                                     "attendees": list(attendees), **kw})  # fmt: skip


def test_seeded_calendars_are_deterministic_and_free_of_conflicts():
    env = CalendarEnvironment()
    for seed in range(5):
        env.reset(seed=seed)
        events = env.snapshot()["events"]
        assert 14 <= len(events) <= 23
        assert sum(e["status"] == "cancelled" for e in events) == 2
        confirmed = [e for e in events if e["status"] == "confirmed"]
        for a, b in combinations(confirmed, 2):
            if set(a["attendees"]) & set(b["attendees"]) and a["timezone"] == b["timezone"]:
                assert a["end"] <= b["start"] or b["end"] <= a["start"], (a["id"], b["id"])
        again = CalendarEnvironment()
        again.reset(seed=seed)
        assert again.snapshot() == env.snapshot()


def test_create_event_stores_it_in_its_time_zone(env):
    event = ok(env, "create_event", title="  Design   review ", start="2026-03-20T09:30",
               end="2026-03-20T10:15", timezone="Asia/Tokyo",
               attendees=["Ben.Carter@example.com", ALICE, ALICE], location="Room 1")  # fmt: skip
    assert event["title"] == "Design review" and event["attendees"] == [ALICE, BEN]
    when = (event["start"], event["end"], event["timezone"])
    assert when == ("2026-03-20T09:30", "2026-03-20T10:15", "Asia/Tokyo")
    row = next(e for e in env.snapshot()["events"] if e["id"] == event["event_id"])
    assert row["status"] == "confirmed" and row["location"] == "Room 1"
    assert ok(env, "get_event", event_id=event["event_id"]) == event


def test_days_are_counted_in_the_requested_time_zone(env):
    # 08:00 in Tokyo is 23:00 UTC on the 19th
    event = ok(env, "create_event", title="Early Tokyo call", start="2026-03-20T08:00",
               end="2026-03-20T08:30", timezone="Asia/Tokyo", attendees=[ALICE])  # fmt: skip
    utc_19 = ok(env, "list_events", date_from="2026-03-19", date_to="2026-03-19", attendee=ALICE)
    tokyo_20 = ok(env, "list_events", date_from="2026-03-20", date_to="2026-03-20", timezone="Asia/Tokyo",
                  attendee=ALICE)  # fmt: skip
    assert [e["event_id"] for e in utc_19["events"]] == [event["event_id"]]
    assert [e["event_id"] for e in tokyo_20["events"]] == [event["event_id"]]


def test_overlap_for_a_shared_attendee_is_rejected_naming_the_event(env):
    first = create(env, title="Budget", attendees=[ALICE, BEN]).structured
    before = env.snapshot()
    message = err(env, "create_event", title="Clash", start="2026-03-20T10:30", end="2026-03-20T11:30",
                  timezone="UTC", attendees=[BEN, CHLOE])  # fmt: skip
    assert f"ben.carter@example.com is already booked in {first['event_id']} 'Budget'" in message
    assert "find_free_slots" in message
    assert env.snapshot() == before
    # the same instant written in another zone is the same overlap
    berlin = create(env, start="2026-03-20T11:30", end="2026-03-20T12:00", tz="Europe/Berlin")
    assert "already booked" in berlin.content
    assert not create(env, title="Other people", attendees=[CHLOE]).is_error
    back_to_back = create(env, title="Back to back", start="2026-03-20T11:00", end="2026-03-20T11:30")
    assert not back_to_back.is_error


def test_bad_times_zones_and_people_are_explained(env):
    assert "must be after start" in create(env, start="2026-03-20T11:00", end="2026-03-20T10:00").content
    zone = create(env, tz="PST").content
    assert "unknown time zone 'PST'" in zone and "America/Los_Angeles" in zone
    assert "ISO 8601 date-time such as 2026-03-04T14:30" in create(env, start="next Tuesday 3pm").content
    assert "not a real date-time" in create(env, start="2026-02-30T10:00").content
    assert "not an email address" in create(env, attendees=["Alice"]).content
    assert "1 to 20 attendees" in create(env, attendees=[f"p{i}@example.com" for i in range(21)]).content
    assert "at most 7 days" in create(env, end="2026-03-29T10:00").content
    assert "title must be" in create(env, title=" ").content


def test_move_event_keeps_the_duration_and_checks_conflicts(env):
    a = create(env, title="A", attendees=[ALICE]).structured
    b = create(env, title="B", start="2026-03-20T14:00", end="2026-03-20T14:45", attendees=[ALICE]).structured
    moved = ok(env, "move_event", event_id=b["event_id"], new_start="2026-03-20T16:00")
    assert (moved["start"], moved["end"]) == ("2026-03-20T16:00", "2026-03-20T16:45")
    clash = err(env, "move_event", event_id=b["event_id"], new_start="2026-03-20T10:30")
    assert f"in {a['event_id']} 'A'" in clash
    moved_a = ok(env, "move_event", event_id=a["event_id"], new_start="2026-03-20T10:15")
    assert moved_a["end"] == "2026-03-20T11:15"
    backwards = err(env, "move_event", event_id=a["event_id"], new_start="2026-03-20T12:00",
                    new_end="2026-03-20T11:00")  # fmt: skip
    assert "must be after new_start" in backwards
    ok(env, "cancel_event", event_id=a["event_id"])
    assert "is cancelled" in err(env, "move_event", event_id=a["event_id"], new_start="2026-03-21T10:00")


def test_cancel_event_marks_it_and_frees_the_time(env):
    a = create(env, attendees=[ALICE]).structured
    cancelled = ok(env, "cancel_event", event_id=a["event_id"], reason="Client rescheduled")
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "Client rescheduled"
    assert "already cancelled" in err(env, "cancel_event", event_id=a["event_id"])
    assert not create(env, title="Takes the slot", attendees=[ALICE]).is_error
    assert "ids look like 'evt-007'" in err(env, "cancel_event", event_id="evt-999")


def test_attendees_can_be_added_when_free_and_removed(env):
    event = create(env, title="Planning", attendees=[ALICE, BEN]).structured
    create(env, title="Chloe elsewhere", start="2026-03-20T10:30", end="2026-03-20T11:30", attendees=[CHLOE])
    busy = err(env, "add_attendees", event_id=event["event_id"], attendees=[CHLOE])
    assert "chloe.martin@example.com is already booked in" in busy and "'Chloe elsewhere'" in busy
    added = ok(env, "add_attendees", event_id=event["event_id"], attendees=["Dana@Example.com", ALICE])
    assert added["attendees"] == [ALICE, BEN, "dana@example.com"]
    removed = ok(env, "remove_attendees", event_id=event["event_id"], attendees=[BEN])
    assert removed["attendees"] == [ALICE, "dana@example.com"]
    assert "not attending" in err(env, "remove_attendees", event_id=event["event_id"], attendees=[BEN])
    everyone = [ALICE, "dana@example.com"]
    last = err(env, "remove_attendees", event_id=event["event_id"], attendees=everyone)
    assert "at least one attendee" in last
    ok(env, "cancel_event", event_id=event["event_id"])
    assert "is cancelled" in err(env, "add_attendees", event_id=event["event_id"], attendees=[CHLOE])


def test_sql_metacharacters_are_data(env):
    before = env.snapshot()
    for evil in ["evt-001' OR '1'='1", "x'); DROP TABLE events; --"]:
        assert "no event with id" in err(env, "get_event", event_id=evil)
    listed = ok(env, "list_events", date_from="2026-03-01", date_to="2026-03-31",
                title_contains="' OR 1=1 --")  # fmt: skip
    assert listed["count"] == 0
    title = "Robert'); DROP TABLE events;--"
    made = ok(env, "create_event", title=title, start="2026-03-25T10:00", end="2026-03-25T11:00",
              timezone="UTC", attendees=[ALICE])  # fmt: skip
    assert made["title"] == title
    assert len(env.snapshot()["events"]) == len(before["events"]) + 1


def test_list_events_filters_and_bounds(env):
    everything = ok(env, "list_events", date_from="2026-03-01", date_to="2026-03-31", include_cancelled=True)
    confirmed = ok(env, "list_events", date_from="2026-03-01", date_to="2026-03-31")
    snapshot = env.snapshot()["events"]
    assert everything["count"] == len(snapshot) and confirmed["count"] == len(snapshot) - 2
    starts = [(e["start"], e["timezone"]) for e in confirmed["events"]]
    assert len(starts) == confirmed["count"] and not confirmed["truncated"]
    for_ben = ok(env, "list_events", date_from="2026-03-01", date_to="2026-03-31", attendee=BEN)
    assert for_ben["events"] and all(BEN in e["attendees"] for e in for_ben["events"])
    title = snapshot[0]["title"]
    by_title = ok(env, "list_events", date_from="2026-03-01", date_to="2026-03-31",
                  title_contains=title.upper(), include_cancelled=True)  # fmt: skip
    assert [e["event_id"] for e in by_title["events"]] == [snapshot[0]["id"]]
    assert "at most 62 days" in err(env, "list_events", date_from="2026-01-01", date_to="2026-06-01")
    assert "before date_from" in err(env, "list_events", date_from="2026-03-10", date_to="2026-03-01")
    assert "YYYY-MM-DD" in err(env, "list_events", date_from="03/10/2026", date_to="2026-03-11")


def test_free_slots_avoid_every_attendees_events_within_working_hours(env):
    env.reset(seed=1)
    create(env, title="Alice busy", start="2026-03-17T09:00", end="2026-03-17T10:30", tz="Europe/Berlin",
           attendees=[ALICE])  # fmt: skip
    # 10:00-11:00 UTC is 11:00-12:00 in Berlin
    create(env, title="Ben busy", start="2026-03-17T10:00", end="2026-03-17T11:00", tz="UTC", attendees=[BEN])
    out = ok(env, "find_free_slots", date="2026-03-17", duration_minutes=60, attendees=[ALICE, BEN],
             timezone="Europe/Berlin", max_results=3)  # fmt: skip
    assert [s["start"] for s in out["slots"]] == ["2026-03-17T12:00", "2026-03-17T12:30", "2026-03-17T13:00"]
    late = ok(env, "find_free_slots", date="2026-03-17", duration_minutes=120, attendees=[CHLOE],
              timezone="UTC", work_start="15:00", work_end="17:00")  # fmt: skip
    assert late["slots"] == [{"start": "2026-03-17T15:00", "end": "2026-03-17T17:00"}]
    backwards = err(env, "find_free_slots", date="2026-03-17", duration_minutes=30, attendees=[ALICE],
                    work_start="10:00", work_end="09:00")  # fmt: skip
    assert "work_end (09:00) must be after" in backwards
    bad = env.call("find_free_slots", {"date": "2026-03-17", "duration_minutes": 600, "attendees": [ALICE]})
    assert bad.is_error and bad.error_kind == "invalid_arguments" and "maximum of 480" in bad.content


def test_daylight_saving_time_is_applied(env):
    # New York moves to daylight time on 8 March 2026: 09:00 local is 14:00 UTC before and 13:00 UTC after.
    create(env, title="Before DST", start="2026-03-06T09:00", end="2026-03-06T10:00", tz="America/New_York",
           attendees=["nyc@example.com"])  # fmt: skip
    create(env, title="After DST", start="2026-03-09T09:00", end="2026-03-09T10:00", tz="America/New_York",
           attendees=["nyc@example.com"])  # fmt: skip
    expected = {
        "2026-03-06": ["12:00", "12:30", "13:00", "15:00"],  # busy 14:00-15:00 UTC
        "2026-03-09": ["12:00", "14:00", "14:30", "15:00"],  # busy 13:00-14:00 UTC
    }
    for day, starts in expected.items():
        slots = ok(env, "find_free_slots", date=day, duration_minutes=60, attendees=["nyc@example.com"],
                   timezone="UTC", work_start="12:00", work_end="16:00", max_results=20)["slots"]  # fmt: skip
        assert [s["start"] for s in slots] == [f"{day}T{t}" for t in starts]


def test_slot_providers_give_grounded_windows(env):
    import random

    providers = env.slot_providers()
    rng = random.Random(3)
    free = providers["free_window"](rng, {})
    assert not create(env, title=free["title"], start=free["start"], end=free["end"], tz=free["timezone"],
                      attendees=free["attendees"]).is_error  # fmt: skip
    clash = providers["conflict_window"](rng, {})
    message = create(env, start=clash["start"], end=clash["end"], tz=clash["timezone"],
                     attendees=clash["attendees"]).content  # fmt: skip
    assert clash["conflict_title"] in message
