"""The calendar's SQLite store (in memory, one per environment), time parsing, and deterministic seeding.

Every query is parameterised; the only SQL built at run time is a list of ``?`` placeholders whose length is
the number of attendees. Times are stored as UTC ISO strings (``2026-03-04T13:30:00Z``), which sort
lexicographically in time order, so overlap checks are plain string comparisons in SQL.
"""

from __future__ import annotations

import random
import re
import sqlite3
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from toolkit.errors import ToolError

__all__ = [
    "CalendarStore", "PEOPLE", "TIMEZONES", "BASE_DATE", "WORKDAYS", "EMAIL",
    "parse_local", "parse_date", "zone", "to_utc_text", "local_text",
]  # fmt: skip

BASE_DATE = date(2026, 3, 2)  # a Monday; seeded events fill the two working weeks from here
WORKDAYS = [BASE_DATE + timedelta(days=d) for d in range(14) if (BASE_DATE + timedelta(days=d)).weekday() < 5]
TIMEZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC"]
PEOPLE = [
    ("Alice Nguyen", "alice.nguyen@example.com"), ("Ben Carter", "ben.carter@example.com"),
    ("Chloe Martin", "chloe.martin@example.com"), ("Diego Alvarez", "diego.alvarez@example.com"),
    ("Emma Schulz", "emma.schulz@example.com"), ("Farah Khan", "farah.khan@example.com"),
    ("George Okafor", "george.okafor@example.com"), ("Hana Sato", "hana.sato@example.com"),
]  # fmt: skip
_TITLES = [
    "Quarterly budget review", "Search ranking design sync", "Onboarding: new hires",
    "Customer call: Northwind", "Incident postmortem", "Roadmap planning", "1:1 check-in",
    "Security review: payments API", "Hiring debrief", "Vendor demo: observability", "Sprint retrospective",
    "Data platform office hours", "Marketing launch prep",
    "Board deck dry run", "Accessibility audit walkthrough", "Pricing experiment readout", "Team lunch",
    "Mobile release go/no-go", "Legal review: data retention", "Partner integration kickoff",
    "Support escalations",
    "Architecture review: event bus", "Interview: staff engineer", "Analytics dashboard review",
]  # fmt: skip
_LOCATIONS = ["Room 4.12", "Room 2.03", "Video call", "Cafe Aurora", "Main boardroom", None, None]
_CANCEL_REASONS = ["Organiser is out sick", "Moved to next quarter", "No agenda items"]
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_ISO_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?$")
_UTC_FMT = "%Y-%m-%dT%H:%M:%SZ"


def zone(name: str) -> ZoneInfo:
    """An IANA time zone, or a :class:`ToolError` that shows valid names."""
    try:
        if not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", name):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/London, America/New_York, "
            "America/Los_Angeles, Europe/Berlin, Asia/Tokyo or UTC"
        ) from None


def parse_local(text: str, tz: ZoneInfo, field: str) -> datetime:
    """An aware datetime from ISO 8601 ``YYYY-MM-DDTHH:MM[:SS][offset]``; a naive time is local to ``tz``."""
    raw = text.strip()
    if not _ISO_LOCAL.match(raw):
        raise ToolError(f"{field} must be an ISO 8601 date-time such as 2026-03-04T14:30 (got {text!r})")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"{field} {text!r} is not a real date-time; check the day and the hour") from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def parse_date(text: str, field: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        message = f"{field} must be a date written YYYY-MM-DD, such as 2026-03-04 (got {text!r})"
        raise ToolError(message) from None


def to_utc_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime(_UTC_FMT)


def local_text(utc_text: str, tz_name: str) -> str:
    """``2026-03-04T14:30`` in the event's own time zone."""
    value = datetime.strptime(utc_text, _UTC_FMT).replace(tzinfo=timezone.utc)
    return value.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%dT%H:%M")


class CalendarStore:
    """Events and attendees in a private in-memory SQLite database."""

    def __init__(self) -> None:
        # check_same_thread=False: tools run in a worker thread; the lock serialises access.
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        self.db.executescript(
            """
            CREATE TABLE events (
                id TEXT PRIMARY KEY, seq INTEGER NOT NULL, title TEXT NOT NULL,
                start_utc TEXT NOT NULL, end_utc TEXT NOT NULL, timezone TEXT NOT NULL, location TEXT,
                status TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')), cancel_reason TEXT
            );
            CREATE TABLE attendees (
                event_id TEXT NOT NULL REFERENCES events(id), email TEXT NOT NULL,
                PRIMARY KEY (event_id, email)
            );
            CREATE INDEX events_time ON events (start_utc, end_utc);
            """
        )

    def close(self) -> None:
        self.db.close()

    def next_id(self) -> tuple[str, int]:
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events").fetchone()
        return f"evt-{row[0]:03d}", row[0]

    def insert(
        self, *, title: str, start_utc: str, end_utc: str, tz: str, attendees: list[str],
        location: str | None, status: str = "confirmed", reason: str | None = None,
    ) -> str:  # fmt: skip
        event_id, seq = self.next_id()
        self.db.execute(
            "INSERT INTO events (id, seq, title, start_utc, end_utc, timezone, location, status, "
            "cancel_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (event_id, seq, title, start_utc, end_utc, tz, location, status, reason),
        )
        self.db.executemany(
            "INSERT INTO attendees (event_id, email) VALUES (?, ?)", [(event_id, a) for a in attendees]
        )
        return event_id

    def conflict(
        self, attendees: list[str], start_utc: str, end_utc: str, exclude: str | None = None
    ) -> sqlite3.Row | None:
        """The earliest confirmed event that overlaps [start, end) and shares an attendee, if any."""
        if not attendees:
            return None
        marks = ",".join("?" for _ in attendees)
        return self.db.execute(
            "SELECT e.id, e.title, e.start_utc, e.end_utc, e.timezone, a.email FROM events e "
            f"JOIN attendees a ON a.event_id = e.id WHERE e.status = 'confirmed' AND a.email IN ({marks}) "
            "AND e.start_utc < ? AND e.end_utc > ? AND e.id != ? ORDER BY e.start_utc, e.id LIMIT 1",
            (*attendees, end_utc, start_utc, exclude or ""),
        ).fetchone()

    def get(self, event_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            return None
        rows = self.db.execute("SELECT email FROM attendees WHERE event_id = ? ORDER BY email", (event_id,))
        people = [r[0] for r in rows]
        return {**dict(row), "attendees": people}

    def query(self, *, start_utc: str, end_utc: str, attendee: str | None, title: str | None,
              include_cancelled: bool, limit: int) -> list[dict[str, Any]]:  # fmt: skip
        sql = "SELECT e.id FROM events e WHERE e.start_utc < ? AND e.end_utc > ?"
        args: list[Any] = [end_utc, start_utc]
        if not include_cancelled:
            sql += " AND e.status = 'confirmed'"
        if attendee is not None:
            sql += " AND EXISTS (SELECT 1 FROM attendees a WHERE a.event_id = e.id AND a.email = ?)"
            args.append(attendee)
        if title is not None:
            sql += " AND instr(lower(e.title), ?) > 0"
            args.append(title.lower())
        sql += " ORDER BY e.start_utc, e.id LIMIT ?"
        args.append(limit)
        return [self.get(r[0]) for r in self.db.execute(sql, args)]  # type: ignore[misc]

    def all_events(self) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM events ORDER BY id")]
        return [self.get(i) for i in ids]  # type: ignore[misc]

    def busy(self, attendees: list[str], start_utc: str, end_utc: str) -> list[tuple[str, str]]:
        marks = ",".join("?" for _ in attendees)
        rows = self.db.execute(
            "SELECT DISTINCT e.start_utc, e.end_utc FROM events e JOIN attendees a ON a.event_id = e.id "
            f"WHERE e.status = 'confirmed' AND a.email IN ({marks}) AND e.start_utc < ? AND e.end_utc > ? "
            "ORDER BY e.start_utc",
            (*attendees, end_utc, start_utc),
        )
        return [(r[0], r[1]) for r in rows]

    def seed(self, seed: int) -> None:
        """Deterministic initial events for ``seed``: 14-23 events (up to 3 of them concurrent with another
        one, for other people), two of them cancelled."""
        rng = random.Random(f"calendar/{seed}")
        titles = rng.sample(_TITLES, k=rng.randint(14, 20))
        emails = [e for _, e in PEOPLE]
        for title in titles:
            for _ in range(50):
                day = rng.choice(WORKDAYS)
                tz = rng.choice(TIMEZONES)
                start = datetime(day.year, day.month, day.day, rng.randint(8, 16), rng.choice([0, 30]),
                                 tzinfo=ZoneInfo(tz))  # fmt: skip
                end = start + timedelta(minutes=rng.choice([30, 45, 60, 90]))
                people = sorted(rng.sample(emails, k=rng.randint(2, 4)))
                s, e = to_utc_text(start), to_utc_text(end)
                if self.conflict(people, s, e) is None:
                    self.insert(title=title, start_utc=s, end_utc=e, tz=tz, attendees=people,
                                location=rng.choice(_LOCATIONS))  # fmt: skip
                    break
        # Teams hold meetings at the same time: a few concurrent events with other people, so that someone is
        # always busy at some meeting's time (what "invite a busy person" tasks need).
        spare = [t for t in _TITLES if t not in titles]
        for row in rng.sample(self.all_events(), k=3):
            others = [e for e in emails if e not in row["attendees"]]
            people = sorted(rng.sample(others, k=min(2, len(others))))
            if spare and people and self.conflict(people, row["start_utc"], row["end_utc"]) is None:
                self.insert(title=spare.pop(0), start_utc=row["start_utc"], end_utc=row["end_utc"],
                            tz=row["timezone"], attendees=people,
                            location=rng.choice(_LOCATIONS))  # fmt: skip
        ids = [r[0] for r in self.db.execute("SELECT id FROM events ORDER BY id")]
        for event_id in rng.sample(ids, k=2):
            self.db.execute("UPDATE events SET status = 'cancelled', cancel_reason = ? WHERE id = ?",
                            (rng.choice(_CANCEL_REASONS), event_id))  # fmt: skip
        self.db.commit()
