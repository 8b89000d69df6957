"""Slot providers for calendar templates: grounded time windows computed from the current state.

Each provider is ``fn(rng, slots) -> dict`` and only reads the store. Values carry both what a call needs
(``start``: ``2026-03-05T14:00``, ``timezone``) and what a person would say (``day_text``: "Thursday 5 March",
``tz_text``: "Berlin time").
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from toolkit.environment import NoSlotValue
from tools.calendar.store import PEOPLE, TIMEZONES, WORKDAYS, CalendarStore, local_text, to_utc_text

__all__ = ["slot_providers"]

_NEW_TITLES = [
    "Design review", "Budget planning", "Customer onboarding call", "Release planning", "Tech talk rehearsal",
    "Quarterly goals workshop", "Interview loop debrief", "API deprecation sync", "Offsite logistics",
]  # fmt: skip
_NAMES = {email: name for name, email in PEOPLE}


def _day_text(d: date) -> str:
    return f"{d.strftime('%A')} {d.day} {d.strftime('%B')}"


def _tz_text(tz: str) -> str:
    return "UTC" if tz == "UTC" else tz.rsplit("/", 1)[-1].replace("_", " ") + " time"


def _emails_text(emails: list[str]) -> str:
    return emails[0] if len(emails) == 1 else ", ".join(emails[:-1]) + " and " + emails[-1]


def _window(day: date, tz: str, hour: int, minute: int, minutes: int) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))
    return start, start + timedelta(minutes=minutes)


def _describe(start: datetime, end: datetime, tz: str, people: list[str]) -> dict[str, Any]:
    return {
        "date": start.date().isoformat(), "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": end.strftime("%Y-%m-%dT%H:%M"), "timezone": tz, "tz_text": _tz_text(tz),
        "day_text": _day_text(start.date()), "start_text": start.strftime("%H:%M"),
        "end_text": end.strftime("%H:%M"),
        "duration": int((end - start).total_seconds() // 60), "attendees": people,
        "emails_text": _emails_text(people), "names": _emails_text([_NAMES.get(p, p) for p in people]),
    }  # fmt: skip


def _length(event: dict[str, Any]) -> timedelta:
    return datetime.fromisoformat(event["end_utc"][:-1]) - datetime.fromisoformat(event["start_utc"][:-1])


def _confirmed(store: CalendarStore) -> list[dict[str, Any]]:
    return [e for e in store.all_events() if e["status"] == "confirmed"]


def slot_providers(store: CalendarStore) -> dict[str, Callable[[random.Random, dict[str, Any]], Any]]:
    """Providers bound to one environment's store."""
    emails = [e for _, e in PEOPLE]

    def free_window(rng: random.Random, slots: dict[str, Any]) -> dict[str, Any]:
        """A new meeting (title, 2-3 attendees, day, time) that conflicts with nothing."""
        for _ in range(100):
            people = sorted(rng.sample(emails, k=rng.randint(2, 3)))
            tz = rng.choice(TIMEZONES)
            start, end = _window(rng.choice(WORKDAYS), tz, rng.randint(9, 16), rng.choice([0, 30]),
                                 rng.choice([30, 60]))  # fmt: skip
            if store.conflict(people, to_utc_text(start), to_utc_text(end)) is None:
                return {**_describe(start, end, tz, people), "title": rng.choice(_NEW_TITLES)}
        raise NoSlotValue("no free window")

    def conflict_window(rng: random.Random, slots: dict[str, Any]) -> dict[str, Any]:
        """A new meeting that overlaps a confirmed event sharing an attendee (``conflict_title`` names it)."""
        event = rng.choice(_confirmed(store))
        tz = event["timezone"]
        start = datetime.fromisoformat(local_text(event["start_utc"], tz)).replace(tzinfo=ZoneInfo(tz))
        start += timedelta(minutes=rng.choice([0, 15]))
        end = start + timedelta(minutes=60)
        others = [e for e in emails if e not in event["attendees"]]
        people = sorted({rng.choice(event["attendees"]), rng.choice(others)})
        clash = store.conflict(people, to_utc_text(start), to_utc_text(end))
        if clash is None:
            raise NoSlotValue("no conflict")
        return {**_describe(start, end, tz, people), "title": rng.choice(_NEW_TITLES),
                "conflict_id": clash["id"], "conflict_title": clash["title"]}  # fmt: skip

    def move_target(rng: random.Random, slots: dict[str, Any]) -> dict[str, Any]:
        """A confirmed event and a new start (same duration, its own time zone) where its attendees are
        free."""
        event = rng.choice(_confirmed(store))
        tz = event["timezone"]
        minutes = int(_length(event).total_seconds() // 60)
        for _ in range(100):
            start, end = _window(rng.choice(WORKDAYS), tz, rng.randint(9, 16), rng.choice([0, 30]), minutes)
            if store.conflict(event["attendees"], to_utc_text(start), to_utc_text(end), event["id"]) is None:
                return {**_describe(start, end, tz, event["attendees"]), "event_id": event["id"],
                        "event_title": event["title"]}  # fmt: skip
        raise NoSlotValue("no free time to move to")

    def move_conflict(rng: random.Random, slots: dict[str, Any]) -> dict[str, Any]:
        """A confirmed event and a new start that collides with another event sharing an attendee."""
        events = _confirmed(store)
        event = rng.choice(events)
        shared = set(event["attendees"])
        others = [o for o in events if o["id"] != event["id"] and shared & set(o["attendees"])]
        if not others:
            raise NoSlotValue("no event shares an attendee")
        target = rng.choice(others)
        tz = event["timezone"]
        start = datetime.fromisoformat(local_text(target["start_utc"], tz)).replace(tzinfo=ZoneInfo(tz))
        length = _length(event)
        end = start + length
        clash = store.conflict(event["attendees"], to_utc_text(start), to_utc_text(end), event["id"])
        if clash is None:
            raise NoSlotValue("no conflict")
        return {**_describe(start, end, tz, event["attendees"]), "event_id": event["id"],
                "event_title": event["title"], "conflict_id": clash["id"],
                "conflict_title": clash["title"]}  # fmt: skip

    def first_meeting(rng: random.Random, slots: dict[str, Any]) -> dict[str, Any]:
        """A person and a UTC day on which they have confirmed meetings; ``first_title`` is the earliest."""
        pairs = sorted({(p, e["start_utc"][:10]) for e in _confirmed(store) for p in e["attendees"]})
        if not pairs:
            raise NoSlotValue("no meetings")
        person, day = rng.choice(pairs)
        first = min((e for e in _confirmed(store) if person in e["attendees"] and e["start_utc"][:10] == day),
                    key=lambda e: (e["start_utc"], e["id"]))  # fmt: skip
        return {"email": person, "name": _NAMES[person], "date": day,
                "day_text": _day_text(date.fromisoformat(day)), "first_id": first["id"],
                "first_title": first["title"]}  # fmt: skip

    def invitee(rng: random.Random, slots: dict[str, Any]) -> dict[str, Any]:
        """A confirmed event and a person not on it who is free at its time (``busy: false``)."""
        return _invitee(rng, busy=False)

    def busy_invitee(rng: random.Random, slots: dict[str, Any]) -> dict[str, Any]:
        """A confirmed event and a person not on it who is booked elsewhere then (``conflict_title``)."""
        return _invitee(rng, busy=True)

    def _invitee(rng: random.Random, *, busy: bool) -> dict[str, Any]:
        events = _confirmed(store)
        for _ in range(50):
            event = rng.choice(events)
            for person in rng.sample(emails, k=len(emails)):
                if person in event["attendees"]:
                    continue
                clash = store.conflict([person], event["start_utc"], event["end_utc"], event["id"])
                if (clash is not None) == busy:
                    extra = {"conflict_id": clash["id"], "conflict_title": clash["title"]} if clash else {}
                    return {"event_id": event["id"], "event_title": event["title"], "email": person,
                            "name": _NAMES[person], **extra}  # fmt: skip
        raise NoSlotValue("no such invitee")

    return {"free_window": free_window, "invitee": invitee, "busy_invitee": busy_invitee,
            "conflict_window": conflict_window, "move_target": move_target,
            "move_conflict": move_conflict, "first_meeting": first_meeting}  # fmt: skip
