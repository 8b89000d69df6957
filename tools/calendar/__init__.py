"""Calendar suite: events in SQLite (in memory, one database per environment), with time zones and conflicts.

Tools: ``create_event``, ``list_events``, ``get_event``, ``move_event``, ``cancel_event``,
    ``find_free_slots``.
Times are ISO 8601 (``2026-03-04T14:30``), local to an IANA time zone; a new or moved event that overlaps a
confirmed event sharing an attendee is rejected with a message naming that event. Each seed gives a
deterministic set of 14-20 events over two working weeks from Monday 2 March 2026 (two of them cancelled).

``toolgym tools py:tools.calendar`` lists the tools.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from toolkit.environment import Environment
from toolkit.errors import ToolError
from toolkit.python_tools import PythonToolset, tool
from tools.calendar.providers import slot_providers
from tools.calendar.store import (
    EMAIL, PEOPLE, CalendarStore, local_text, parse_date, parse_local, to_utc_text, zone,
)  # fmt: skip

__all__ = ["CalendarEnvironment", "create_environment", "create_toolset"]

MAX_TITLE_CHARS = 120
MAX_ATTENDEES = 20
MAX_RANGE_DAYS = 62
MAX_LISTED = 50
MAX_EVENT_DAYS = 7


class Event(TypedDict):
    event_id: str
    title: str
    start: str
    end: str
    timezone: str
    attendees: list[str]
    location: str | None
    status: str
    cancel_reason: str | None


class EventList(TypedDict):
    count: int
    truncated: bool
    events: list[Event]


class Slot(TypedDict):
    start: str
    end: str


class FreeSlots(TypedDict):
    date: str
    timezone: str
    duration_minutes: int
    slots: list[Slot]


_LOCAL = "%Y-%m-%dT%H:%M"


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _event(row: dict[str, Any]) -> Event:
    return {
        "event_id": row["id"], "title": row["title"],
        "start": local_text(row["start_utc"], row["timezone"]),
        "end": local_text(row["end_utc"], row["timezone"]),
        "timezone": row["timezone"], "attendees": list(row["attendees"]), "location": row["location"],
        "status": row["status"], "cancel_reason": row["cancel_reason"],
    }  # fmt: skip


def _emails(values: list[str], field: str) -> list[str]:
    out = []
    for v in values:
        email = v.strip().lower()
        if not EMAIL.match(email):
            raise ToolError(
                f"{field}: {v!r} is not an email address; give addresses like alice.nguyen@example.com"
            )
        out.append(email)
    return sorted(set(out))


class CalendarEnvironment(Environment):
    """A shared team calendar (see the module docstring)."""

    suite = "calendar"

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        old = getattr(self, "_store", None)
        self._store = CalendarStore()
        self._store.seed(seed)
        if old is not None:
            old.close()

    def snapshot(self) -> dict[str, Any]:
        with self._store.lock:
            rows = self._store.all_events()
        events = []
        for r in rows:
            e = _event(r)
            events.append({"id": e.pop("event_id"), **e})
        return {"events": events}

    def state_tables(self) -> dict[str, list[dict[str, Any]]]:
        people = [
            {"id": email, "name": name, "email": email, "first_name": name.split()[0]}
            for name, email in PEOPLE
        ]
        return {**self.snapshot(), "people": people}

    def slot_providers(self) -> dict[str, Any]:
        return slot_providers(self._store)

    def _check_free(
        self, attendees: list[str], start: datetime, end: datetime, exclude: str | None = None
    ) -> None:
        clash = self._store.conflict(attendees, to_utc_text(start), to_utc_text(end), exclude)
        if clash is not None:
            tz = clash["timezone"]
            when = f"{local_text(clash['start_utc'], tz)} to {local_text(clash['end_utc'], tz)} {tz}"
            raise ToolError(
                f"{clash['email']} is already booked in {clash['id']} {clash['title']!r} ({when}); "
                "pick another time (find_free_slots can help) or change the attendees"
            )

    def _existing(self, event_id: str) -> dict[str, Any]:
        row = self._store.get(event_id.strip())
        if row is None:
            raise ToolError(
                f"no event with id {event_id!r}; ids look like 'evt-007' (list_events shows them)"
            )
        return row

    @tool
    def create_event(
        self,
        title: str,
        start: str,
        end: str,
        timezone: str,
        attendees: list[str],
        location: str | None = None,
    ) -> Event:
        """Create a calendar event.

        Args:
            title: Short title, e.g. "Design review" (at most 120 characters).
            start: Start as an ISO 8601 local date-time, e.g. "2026-03-04T14:30".
            end: End as an ISO 8601 local date-time, after start.
            timezone: IANA time zone the times are in, e.g. "Europe/Berlin".
            attendees: Email addresses of the attendees (1 to 20).
            location: Where it happens, e.g. "Room 4.12" or "Video call".
        """
        title = " ".join(title.split())
        if not title or len(title) > MAX_TITLE_CHARS:
            raise ToolError(f"title must be 1 to {MAX_TITLE_CHARS} characters")
        tz = zone(timezone)
        begin, finish = parse_local(start, tz, "start"), parse_local(end, tz, "end")
        if finish <= begin:
            raise ToolError(f"end ({end}) must be after start ({start})")
        if finish - begin > timedelta(days=MAX_EVENT_DAYS):
            raise ToolError(f"an event may last at most {MAX_EVENT_DAYS} days")
        people = _emails(attendees, "attendees")
        if not 1 <= len(people) <= MAX_ATTENDEES:
            raise ToolError(f"give 1 to {MAX_ATTENDEES} attendees, got {len(people)}")
        if location is not None and len(location) > MAX_TITLE_CHARS:
            raise ToolError(f"location must be at most {MAX_TITLE_CHARS} characters")
        with self._store.lock:
            self._check_free(people, begin, finish)
            event_id = self._store.insert(
                title=title, start_utc=to_utc_text(begin), end_utc=to_utc_text(finish), tz=timezone,
                attendees=people, location=location,
            )  # fmt: skip
            self._store.db.commit()
            return _event(self._store.get(event_id))  # type: ignore[arg-type]

    @tool
    def list_events(
        self,
        date_from: str,
        date_to: str,
        attendee: str | None = None,
        title_contains: str | None = None,
        timezone: str = "UTC",
        include_cancelled: bool = False,
    ) -> EventList:
        """List events between two dates (inclusive), earliest first.

        Args:
            date_from: First day, YYYY-MM-DD.
            date_to: Last day, YYYY-MM-DD (at most 62 days after date_from).
            attendee: Only events this email address attends.
            title_contains: Only events whose title contains this text (case-insensitive).
            timezone: IANA time zone in which the days are counted.
            include_cancelled: Also list cancelled events.
        """
        tz = zone(timezone)
        first, last = parse_date(date_from, "date_from"), parse_date(date_to, "date_to")
        if last < first:
            raise ToolError(f"date_to ({date_to}) is before date_from ({date_from})")
        if (last - first).days > MAX_RANGE_DAYS:
            days = (last - first).days
            raise ToolError(f"the range is {days} days; list at most {MAX_RANGE_DAYS} days at a time")
        who = _emails([attendee], "attendee")[0] if attendee is not None else None
        if title_contains is not None and len(title_contains) > MAX_TITLE_CHARS:
            raise ToolError(f"title_contains must be at most {MAX_TITLE_CHARS} characters")
        lo = datetime.combine(first, time(0), tz)
        hi = datetime.combine(last + timedelta(days=1), time(0), tz)
        with self._store.lock:
            rows = self._store.query(start_utc=to_utc_text(lo), end_utc=to_utc_text(hi), attendee=who,
                                     title=title_contains, include_cancelled=include_cancelled,
                                     limit=MAX_LISTED + 1)  # fmt: skip
        return {"count": min(len(rows), MAX_LISTED), "truncated": len(rows) > MAX_LISTED,
                "events": [_event(r) for r in rows[:MAX_LISTED]]}  # fmt: skip

    @tool
    def get_event(self, event_id: str) -> Event:
        """Get one event by id.

        Args:
            event_id: The event's id, e.g. "evt-007".
        """
        with self._store.lock:
            return _event(self._existing(event_id))

    @tool
    def move_event(self, event_id: str, new_start: str, new_end: str | None = None) -> Event:
        """Move an event to a new time, in the event's own time zone.

        Args:
            event_id: The event to move, e.g. "evt-007".
            new_start: New start as an ISO 8601 local date-time, e.g. "2026-03-05T10:00".
            new_end: New end; defaults to keeping the event's duration.
        """
        with self._store.lock:
            row = self._existing(event_id)
            if row["status"] == "cancelled":
                raise ToolError(f"{row['id']} {row['title']!r} is cancelled; create a new event instead")
            tz = zone(row["timezone"])
            begin = parse_local(new_start, tz, "new_start")
            if new_end is None:
                finish = begin + (_utc(row["end_utc"]) - _utc(row["start_utc"]))
            else:
                finish = parse_local(new_end, tz, "new_end")
            if finish <= begin:
                raise ToolError(f"new_end ({new_end}) must be after new_start ({new_start})")
            self._check_free(row["attendees"], begin, finish, exclude=row["id"])
            self._store.db.execute("UPDATE events SET start_utc = ?, end_utc = ? WHERE id = ?",
                                   (to_utc_text(begin), to_utc_text(finish), row["id"]))  # fmt: skip
            self._store.db.commit()
            return _event(self._store.get(row["id"]))  # type: ignore[arg-type]

    @tool
    def cancel_event(self, event_id: str, reason: str | None = None) -> Event:
        """Cancel an event (it stays on the calendar, marked cancelled).

        Args:
            event_id: The event to cancel, e.g. "evt-007".
            reason: Why, shown to the attendees (at most 200 characters).
        """
        if reason is not None and len(reason) > 200:
            raise ToolError("reason must be at most 200 characters")
        with self._store.lock:
            row = self._existing(event_id)
            if row["status"] == "cancelled":
                raise ToolError(f"{row['id']} {row['title']!r} is already cancelled")
            self._store.db.execute("UPDATE events SET status = 'cancelled', cancel_reason = ? WHERE id = ?",
                                   (reason, row["id"]))  # fmt: skip
            self._store.db.commit()
            return _event(self._store.get(row["id"]))  # type: ignore[arg-type]

    @tool
    def add_attendees(self, event_id: str, attendees: list[str]) -> Event:
        """Invite more people to an event; each must be free at the event's time.

        Args:
            event_id: The event, e.g. "evt-007".
            attendees: Email addresses to add (people already invited are left as they are).
        """
        people = _emails(attendees, "attendees")
        with self._store.lock:
            row = self._existing(event_id)
            if row["status"] == "cancelled":
                raise ToolError(f"{row['id']} {row['title']!r} is cancelled; attendees cannot be added")
            new = [p for p in people if p not in row["attendees"]]
            if len(row["attendees"]) + len(new) > MAX_ATTENDEES:
                raise ToolError(f"an event may have at most {MAX_ATTENDEES} attendees")
            self._check_free(new, _utc(row["start_utc"]), _utc(row["end_utc"]), exclude=row["id"])
            self._store.db.executemany("INSERT INTO attendees (event_id, email) VALUES (?, ?)",
                                       [(row["id"], p) for p in new])  # fmt: skip
            self._store.db.commit()
            return _event(self._store.get(row["id"]))  # type: ignore[arg-type]

    @tool
    def remove_attendees(self, event_id: str, attendees: list[str]) -> Event:
        """Take people off an event's attendee list (at least one attendee must remain).

        Args:
            event_id: The event, e.g. "evt-007".
            attendees: Email addresses to remove; each must be attending.
        """
        people = _emails(attendees, "attendees")
        with self._store.lock:
            row = self._existing(event_id)
            missing = [p for p in people if p not in row["attendees"]]
            if missing:
                raise ToolError(f"{', '.join(missing)} not attending {row['id']}; attendees: "
                                f"{', '.join(row['attendees'])}")  # fmt: skip
            if len(set(row["attendees"]) - set(people)) < 1:
                raise ToolError("an event needs at least one attendee; cancel the event instead")
            self._store.db.executemany("DELETE FROM attendees WHERE event_id = ? AND email = ?",
                                       [(row["id"], p) for p in people])  # fmt: skip
            self._store.db.commit()
            return _event(self._store.get(row["id"]))  # type: ignore[arg-type]

    @tool
    def find_free_slots(
        self,
        date: str,
        duration_minutes: Annotated[int, Field(ge=5, le=480)],
        attendees: list[str],
        timezone: str = "UTC",
        work_start: str = "09:00",
        work_end: str = "17:00",
        max_results: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> FreeSlots:
        """Find times on one day when all the given attendees are free, on a 30-minute grid.

        Args:
            date: The day, YYYY-MM-DD.
            duration_minutes: Length of the meeting in minutes (5 to 480).
            attendees: Email addresses that must all be free (1 to 20).
            timezone: IANA time zone of the day and working hours.
            work_start: Earliest start, HH:MM.
            work_end: Latest end, HH:MM.
            max_results: At most this many slots, earliest first (1 to 20).
        """
        tz = zone(timezone)
        day = parse_date(date, "date")
        people = _emails(attendees, "attendees")
        if not 1 <= len(people) <= MAX_ATTENDEES:
            raise ToolError(f"give 1 to {MAX_ATTENDEES} attendees, got {len(people)}")
        try:
            open_at, close_at = time.fromisoformat(work_start), time.fromisoformat(work_end)
        except ValueError:
            message = "work_start and work_end must be times written HH:MM, e.g. 09:00 and 17:30"
            raise ToolError(message) from None
        lo, hi = datetime.combine(day, open_at, tz), datetime.combine(day, close_at, tz)
        if hi <= lo:
            raise ToolError(f"work_end ({work_end}) must be after work_start ({work_start})")
        length = timedelta(minutes=duration_minutes)
        with self._store.lock:
            busy = self._store.busy(people, to_utc_text(lo), to_utc_text(hi))
        spans = [(_utc(s), _utc(e)) for s, e in busy]
        slots: list[Slot] = []
        at = lo
        while at + length <= hi and len(slots) < max_results:
            if all(not (s < at + length and e > at) for s, e in spans):
                slots.append({"start": at.strftime(_LOCAL), "end": (at + length).strftime(_LOCAL)})
            at += timedelta(minutes=30)
        return {"date": day.isoformat(), "timezone": timezone, "duration_minutes": duration_minutes,
                "slots": slots}  # fmt: skip


def create_environment() -> CalendarEnvironment:
    """A new calendar environment (seed 0)."""
    return CalendarEnvironment()


def create_toolset() -> PythonToolset:
    """The calendar tools over a fresh seed-0 calendar (``toolgym tools py:tools.calendar``)."""
    return create_environment().toolset()
