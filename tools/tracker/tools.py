"""The ``tracker`` tools: one implementation, served two ways.

:class:`TrackerTools` holds the tool methods (typed arguments with descriptions, pydantic results). The suite's
environment inherits them (tools run in-process on the environment's state), and :mod:`tools.tracker.server` wraps
the bound methods of a :class:`TrackerService` in an MCP SDK ``MCPServer`` — so ``stdio:python -m tools.tracker``
offers exactly these tools, with output schemas and structured content.

Parameter descriptions live in ``Annotated[..., Field(description=...)]`` and docstrings hold prose only, because
the MCP SDK publishes a docstring whole while ToolGym splits Google sections out; this way both presentations give
the model the same text.
"""

from __future__ import annotations

import copy
import random
import re
from datetime import date
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError as _MCPToolError
from pydantic import Field

from toolkit.errors import ToolError
from toolkit.python_tools import tool
from tools.tracker.data import ACTING_USER, ISSUES, PROJECTS, TODAY
from tools.tracker.models import (
    Comment,
    Email,
    Issue,
    IssueChanges,
    IssueSummary,
    IsoDate,
    Label,
    Priority,
    Project,
    ProjectList,
    SearchResult,
    Status,
)

__all__ = [
    "TrackerError", "TrackerTools", "TrackerService", "WORKFLOW", "TOOL_NAMES", "MAX_COMMENTS", "MAX_ISSUES",
]

WORKFLOW: dict[str, tuple[str, ...]] = {
    "todo": ("in_progress",),
    "in_progress": ("todo", "in_review"),
    "in_review": ("in_progress", "done"),
    "done": ("todo",),
}
"""Allowed status moves: an issue is worked on, reviewed, then done; a done issue can only be reopened."""
TOOL_NAMES = ("list_projects", "search_issues", "get_issue", "create_issue", "update_issue", "add_comment")
_PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
_ISSUE_ID = re.compile(r"^([A-Z]{2,5})-(\d{1,5})$")
_MAX_LABELS = 10
MAX_COMMENTS = 50
"""Comments per issue: bounds what get_issue returns however long an agent or a server runs."""
MAX_ISSUES = 500
"""Issues in the tracker: bounds a long-running server's memory."""

IssueId = Annotated[str, Field(description="Issue id: project key, dash, number, e.g. 'WEB-3'.", max_length=12)]
ProjectKey = Annotated[str, Field(description="Project key, e.g. 'WEB' (see list_projects).", max_length=8)]


class TrackerError(ToolError, _MCPToolError):
    """A refused tracker call. Both ToolGym's Python toolsets and the MCP SDK show its message to the model."""


def _id_order(issue_id: str) -> tuple[str, int]:
    key, _, num = issue_id.partition("-")
    return key, int(num)


class TrackerTools:
    """Issue-tracker tools over ``self.projects`` / ``self.issues``; call :meth:`_load_seed` before use."""

    def _load_seed(self, seed: int = 0) -> None:
        """Replace all state with a fresh copy of the seed data, varied by ``seed``.

        Seed 0 is the data as written in :mod:`tools.tracker.data`. Other seeds keep every id, title, status and
        unassigned issue, but redraw the priority of open issues and the assignee of assigned ``todo`` issues, so
        "the most urgent unassigned issue" or "who owns OPS-1" must be looked up, not remembered.
        """
        self.projects: dict[str, dict[str, Any]] = {p["key"]: copy.deepcopy(p) for p in PROJECTS}
        self.issues: dict[str, dict[str, Any]] = {i["id"]: copy.deepcopy(i) for i in ISSUES}
        if not seed:
            return
        rng = random.Random(seed)
        for issue in self.issues.values():
            if issue["status"] != "done":
                issue["priority"] = rng.choice(list(_PRIORITY_RANK))
            if issue["status"] == "todo" and issue["assignee"] is not None:
                issue["assignee"] = rng.choice(self.projects[issue["project"]]["members"])

    # ------------------------------------------------------------------------------------------- helpers
    def _project(self, key: Any) -> dict[str, Any]:
        if not isinstance(key, str) or key.upper() not in self.projects:
            raise TrackerError(f"no project {key!r}; projects are {', '.join(self.projects)} (see list_projects)")
        return self.projects[key.upper()]

    def _issue(self, issue_id: Any) -> dict[str, Any]:
        if not isinstance(issue_id, str) or not _ISSUE_ID.match(issue_id.strip().upper()):
            raise TrackerError(f"issue_id must look like 'WEB-3', got {issue_id!r}")
        issue = self.issues.get(issue_id.strip().upper())
        if issue is None:
            raise TrackerError(f"no issue {issue_id!r}; use search_issues to find issues")
        return issue

    def _check_member(self, project: dict[str, Any], email: str) -> None:
        if email not in project["members"]:
            raise TrackerError(
                f"{email} is not a member of project {project['key']}; assignable members: "
                f"{', '.join(project['members'])}"
            )

    @staticmethod
    def _check_date(value: str, what: str) -> None:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise TrackerError(f"{what} {value!r} is not a real date; write YYYY-MM-DD, e.g. '2025-07-01'") from None

    @staticmethod
    def _summary(issue: dict[str, Any]) -> IssueSummary:
        return IssueSummary(**{k: issue[k] for k in IssueSummary.model_fields})

    # ------------------------------------------------------------------------------------------- read tools
    @tool
    def list_projects(self) -> ProjectList:
        """List the projects: key, name, lead, the members issues can be assigned to, and open issue count."""
        out = []
        for p in self.projects.values():
            open_count = sum(1 for i in self.issues.values() if i["project"] == p["key"] and i["status"] != "done")
            out.append(Project(**p, open_issues=open_count))
        return ProjectList(projects=out)

    @tool
    def search_issues(
        self,
        project: Annotated[ProjectKey | None, Field(description="Only issues of this project key.")] = None,
        status: Annotated[Status | None, Field(description="Only issues with this status.")] = None,
        priority: Annotated[Priority | None, Field(description="Only issues with this priority.")] = None,
        assignee: Annotated[Email | None, Field(description="Only issues assigned to this email.")] = None,
        unassigned: Annotated[bool, Field(description="Only issues with no assignee.")] = False,
        label: Annotated[Label | None, Field(description="Only issues carrying this label.")] = None,
        text: Annotated[
            str | None, Field(max_length=100, description="Words that must appear in the title or description.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=50, description="Most issues to return.")] = 10,
    ) -> SearchResult:
        """Search issues with optional filters (all must match); most urgent first, then by id."""
        if assignee is not None and unassigned:
            raise TrackerError("give either assignee or unassigned=true, not both")
        if project is not None:
            self._project(project)
        words = (text or "").lower().split()
        hits = []
        for issue in self.issues.values():
            if project is not None and issue["project"] != project.upper():
                continue
            if status is not None and issue["status"] != status:
                continue
            if priority is not None and issue["priority"] != priority:
                continue
            if assignee is not None and issue["assignee"] != assignee:
                continue
            if unassigned and issue["assignee"] is not None:
                continue
            if label is not None and label not in issue["labels"]:
                continue
            haystack = f"{issue['title']} {issue['description']}".lower()
            if any(w not in haystack for w in words):
                continue
            hits.append(issue)
        hits.sort(key=lambda i: (_PRIORITY_RANK[i["priority"]], _id_order(i["id"])))
        return SearchResult(
            issues=[self._summary(i) for i in hits[:limit]], total=len(hits), truncated=len(hits) > limit
        )

    @tool
    def get_issue(self, issue_id: IssueId) -> Issue:
        """Get one issue with its description and comments."""
        return Issue(**self._issue(issue_id))

    # ------------------------------------------------------------------------------------------- write tools
    @tool
    def create_issue(
        self,
        project: ProjectKey,
        title: Annotated[str, Field(min_length=3, max_length=120, description="Short summary of the issue.")],
        description: Annotated[str, Field(max_length=4000, description="Details: steps, impact, context.")] = "",
        priority: Annotated[Priority, Field(description="How urgent the issue is.")] = "medium",
        labels: Annotated[
            list[Label], Field(max_length=_MAX_LABELS, description="Labels to attach.")
        ] = [],  # noqa: B006 (never mutated: pydantic hands each call its own list)
        assignee: Annotated[Email | None, Field(description="Email of a project member to assign.")] = None,
        due_date: Annotated[IsoDate | None, Field(description="Due date, YYYY-MM-DD.")] = None,
    ) -> Issue:
        """Create an issue in a project (status todo). Returns the new issue with its id."""
        proj = self._project(project)
        if assignee is not None:
            self._check_member(proj, assignee)
        if due_date is not None:
            self._check_date(due_date, "due_date")
        if not title.strip():
            raise TrackerError("title must not be blank")
        if len(self.issues) >= MAX_ISSUES:
            raise TrackerError(f"the tracker holds {MAX_ISSUES} issues, its limit; no more can be created")
        number = 1 + max((_id_order(i)[1] for i in self.issues if i.startswith(proj["key"] + "-")), default=0)
        issue_id = f"{proj['key']}-{number}"
        issue = {
            "id": issue_id, "project": proj["key"], "title": title.strip(), "status": "todo", "priority": priority,
            "assignee": assignee, "labels": sorted(set(labels)), "due_date": due_date, "description": description,
            "reporter": ACTING_USER, "created_on": TODAY, "updated_on": TODAY, "comments": [],
        }
        self.issues[issue_id] = issue
        return Issue(**issue)

    @tool
    def update_issue(
        self,
        issue_id: IssueId,
        changes: Annotated[IssueChanges, Field(description="Fields to change; leave out what stays the same.")],
    ) -> Issue:
        """Change an issue's fields: title, description, status, priority, assignee, due date, labels.

        Status moves follow the workflow todo -> in_progress -> in_review -> done (a step back to the previous
        status is allowed; a done issue can only be reopened to todo). Work statuses need an assignee.
        """
        issue = self._issue(issue_id)
        given = changes.model_fields_set - ({"unassign"} if not changes.unassign else set())
        if not given:
            raise TrackerError("changes is empty; give at least one field to change, e.g. {\"priority\": \"high\"}")
        if changes.assignee is not None and changes.unassign:
            raise TrackerError("give either assignee or unassign=true, not both")
        if issue["status"] == "done" and given - {"status"}:
            raise TrackerError(f"{issue['id']} is done; reopen it first (status 'todo') before changing other fields")
        proj = self.projects[issue["project"]]
        new = copy.deepcopy(issue)
        if changes.title is not None:
            new["title"] = changes.title.strip()
        if changes.description is not None:
            new["description"] = changes.description
        if changes.priority is not None:
            new["priority"] = changes.priority
        if changes.assignee is not None:
            self._check_member(proj, changes.assignee)
            new["assignee"] = changes.assignee
        if changes.unassign:
            new["assignee"] = None
        if changes.due_date is not None:
            self._check_date(changes.due_date, "due_date")
            new["due_date"] = changes.due_date
        if changes.labels is not None:
            missing = [lb for lb in changes.labels.remove if lb not in issue["labels"]]
            if missing:
                raise TrackerError(
                    f"cannot remove {', '.join(missing)}: not on {issue['id']}, whose labels are "
                    f"{', '.join(issue['labels']) or '(none)'}"
                )
            labels = (set(issue["labels"]) - set(changes.labels.remove)) | set(changes.labels.add)
            if len(labels) > _MAX_LABELS:
                raise TrackerError(f"an issue carries at most {_MAX_LABELS} labels; remove some first")
            new["labels"] = sorted(labels)
        if changes.status is not None and changes.status != issue["status"]:
            allowed = WORKFLOW[issue["status"]]
            if changes.status not in allowed:
                raise TrackerError(
                    f"cannot move {issue['id']} from {issue['status']} to {changes.status}; allowed next: "
                    f"{', '.join(allowed)} (workflow: todo -> in_progress -> in_review -> done)"
                )
            new["status"] = changes.status
        if new["status"] in ("in_progress", "in_review", "done") and new["assignee"] is None:
            raise TrackerError(
                f"{issue['id']} would be {new['status']} with no assignee; assign a member of {proj['key']} "
                f"({', '.join(proj['members'])}) in the same change"
            )
        new["updated_on"] = TODAY
        issue.clear()
        issue.update(new)
        return Issue(**issue)

    @tool
    def add_comment(
        self,
        issue_id: IssueId,
        body: Annotated[str, Field(min_length=1, max_length=2000, description="Comment text (plain text).")],
    ) -> Comment:
        """Add a comment to an issue, as the assistant's user."""
        issue = self._issue(issue_id)
        if not body.strip():
            raise TrackerError("body must not be blank")
        if len(issue["comments"]) >= MAX_COMMENTS:
            raise TrackerError(
                f"{issue['id']} already has {MAX_COMMENTS} comments, the limit; summarise in the description instead"
            )
        comment = {"id": f"{issue['id']}-c{len(issue['comments']) + 1}", "author": ACTING_USER,
                   "body": body.strip(), "created_on": TODAY}
        issue["comments"].append(comment)
        return Comment(**comment)

    # ------------------------------------------------------------------------------------------- state
    def snapshot(self) -> dict[str, Any]:
        """The gradable state: issues (with comments) as rows keyed by ``id``. Projects never change."""
        return {"issues": copy.deepcopy(sorted(self.issues.values(), key=lambda i: _id_order(i["id"])))}


class TrackerService(TrackerTools):
    """The tracker's state and tools as a plain object (what the MCP server wraps); ``seed`` as in environments."""

    def __init__(self, seed: int = 0) -> None:
        self._load_seed(seed)
