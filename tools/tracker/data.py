"""Seed data of the ``tracker`` suite: three projects of a small software company and their issues."""

from __future__ import annotations

from typing import Any

__all__ = ["TODAY", "ACTING_USER", "PROJECTS", "ISSUES"]

TODAY = "2025-06-16"
ACTING_USER = "assistant@acme.dev"
"""Who the agent acts as: the reporter of issues it creates and the author of its comments."""

PROJECTS: list[dict[str, Any]] = [
    {"key": "WEB", "name": "Website", "lead": "alice@acme.dev",
     "members": ["alice@acme.dev", "bob@acme.dev", "dan@acme.dev"]},
    {"key": "API", "name": "Public API", "lead": "carol@acme.dev",
     "members": ["carol@acme.dev", "dan@acme.dev", "frank@acme.dev"]},
    {"key": "OPS", "name": "Infrastructure", "lead": "erin@acme.dev",
     "members": ["erin@acme.dev", "bob@acme.dev", "frank@acme.dev"]},
]


def _issue(issue_id: str, title: str, priority: str, status: str, assignee: str | None, labels: list[str],
           description: str, *, reporter: str, created: str, due: str | None = None,
           comments: list[tuple[str, str, str]] = ()) -> dict[str, Any]:
    return {
        "id": issue_id, "project": issue_id.split("-")[0], "title": title, "status": status, "priority": priority,
        "assignee": assignee, "labels": labels, "due_date": due, "description": description, "reporter": reporter,
        "created_on": created, "updated_on": created,
        "comments": [{"id": f"{issue_id}-c{i}", "author": a, "body": b, "created_on": d}
                     for i, (a, b, d) in enumerate(comments, start=1)],
    }


ISSUES: list[dict[str, Any]] = [
    _issue("WEB-1", "Login page shows a blank screen on Safari 17", "high", "in_progress", "bob@acme.dev",
           ["bug", "safari"], "Users on Safari 17 see an empty page after submitting the login form.",
           reporter="alice@acme.dev", created="2025-06-02",
           comments=[("bob@acme.dev", "Reproduced; the auth redirect is blocked by ITP.", "2025-06-03")]),
    _issue("WEB-2", "Add a dark mode toggle", "medium", "todo", None, ["feature", "ui"],
           "Offer a dark theme, remembered per browser.", reporter="dan@acme.dev", created="2025-05-20"),
    _issue("WEB-3", "Checkout button misaligned on mobile", "medium", "in_review", "dan@acme.dev",
           ["bug", "mobile"], "On screens under 380 px the checkout button overflows its card.",
           reporter="bob@acme.dev", created="2025-06-05"),
    _issue("WEB-4", "Update the privacy policy link in the footer", "low", "done", "alice@acme.dev", ["content"],
           "The footer still links to the 2023 policy.", reporter="alice@acme.dev", created="2025-05-12"),
    _issue("WEB-5", "Blog images are not lazy-loaded", "medium", "todo", None, ["performance"],
           "The blog index loads every image up front (4 MB).", reporter="dan@acme.dev", created="2025-06-10"),
    _issue("API-1", "Rate limiter returns 500 instead of 429", "urgent", "in_progress", "carol@acme.dev",
           ["bug", "rate-limiting"], "Clients over their quota get a 500 with no Retry-After header.",
           reporter="frank@acme.dev", created="2025-06-11",
           comments=[("carol@acme.dev", "Root cause: the limiter raises before the middleware maps it.", "2025-06-12"),
                     ("frank@acme.dev", "Customer Contoso is blocked by this.", "2025-06-13")]),
    _issue("API-2", "Document pagination for /v2/orders", "low", "todo", "frank@acme.dev", ["docs"],
           "The cursor parameter is undocumented.", reporter="carol@acme.dev", created="2025-05-28"),
    _issue("API-3", "Add idempotency keys to POST /payments", "high", "todo", None, ["feature", "payments"],
           "Retries can create duplicate payments.", reporter="carol@acme.dev", created="2025-06-09",
           due="2025-07-01"),
    _issue("API-4", "Deprecate the /v1/users endpoint", "medium", "in_review", "dan@acme.dev", ["deprecation"],
           "Announce the sunset date and add a Deprecation header.", reporter="carol@acme.dev",
           created="2025-05-30"),
    _issue("OPS-1", "Rotate TLS certificates for staging", "high", "todo", "erin@acme.dev", ["security"],
           "The staging certificates expire on 2025-06-25.", reporter="erin@acme.dev", created="2025-06-06",
           due="2025-06-20"),
    _issue("OPS-2", "Nightly backup job exceeds its 2-hour window", "urgent", "in_progress", "frank@acme.dev",
           ["backup", "performance"], "The job took 3h10 on 2025-06-14 and overlapped the ETL run.",
           reporter="erin@acme.dev", created="2025-06-14",
           comments=[("frank@acme.dev", "Switching to incremental snapshots.", "2025-06-15")]),
    _issue("OPS-3", "Upgrade Postgres to 16", "medium", "todo", None, ["database"],
           "Plan the upgrade of the primary cluster; test on staging first.", reporter="bob@acme.dev",
           created="2025-06-01"),
]
