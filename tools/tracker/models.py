"""Typed shapes of the ``tracker`` suite: argument objects and results (each result type is a tool's output schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Status",
    "Priority",
    "Email",
    "Label",
    "IsoDate",
    "Comment",
    "Issue",
    "IssueSummary",
    "SearchResult",
    "Project",
    "ProjectList",
    "LabelChanges",
    "IssueChanges",
]

Status = Literal["todo", "in_progress", "in_review", "done"]
Priority = Literal["low", "medium", "high", "urgent"]
Email = Annotated[
    str, Field(pattern=r"^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$", max_length=80, description="Email.")
]
Label = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,29}$", description="Lower-case label, e.g. 'bug' or 'rate-limiting'.")
]
IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Date as YYYY-MM-DD.")]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Comment(_Out):
    id: str = Field(description="Comment id, e.g. 'WEB-1-c2'.")
    author: str = Field(description="Author's email.")
    body: str
    created_on: str = Field(description="Date the comment was written (YYYY-MM-DD).")


class IssueSummary(_Out):
    id: str = Field(description="Issue id, e.g. 'WEB-3'.")
    project: str = Field(description="Project key, e.g. 'WEB'.")
    title: str
    status: Status
    priority: Priority
    assignee: str | None = Field(description="Assignee's email, or null when unassigned.")
    labels: list[str]
    due_date: str | None = None


class Issue(IssueSummary):
    description: str
    reporter: str = Field(description="Reporter's email.")
    created_on: str
    updated_on: str
    comments: list[Comment] = Field(default_factory=list)


class SearchResult(_Out):
    issues: list[IssueSummary] = Field(description="Matching issues, most urgent first, then by id.")
    total: int = Field(description="How many issues matched in all (may exceed the number returned).")
    truncated: bool = Field(description="True when more issues matched than were returned; raise limit or narrow.")


class Project(_Out):
    key: str = Field(description="Project key, the prefix of its issue ids.")
    name: str
    lead: str = Field(description="Project lead's email.")
    members: list[str] = Field(description="Emails of the people issues can be assigned to.")
    open_issues: int = Field(description="Issues not done.")


class ProjectList(_Out):
    projects: list[Project]


class LabelChanges(BaseModel):
    """Labels to add to and remove from an issue."""

    model_config = ConfigDict(extra="forbid")

    add: list[Label] = Field(default_factory=list, max_length=10, description="Labels to add.")
    remove: list[Label] = Field(default_factory=list, max_length=10, description="Labels to remove.")


class IssueChanges(BaseModel):
    """The fields to change on an issue; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=3, max_length=120, description="New title.")
    description: str | None = Field(default=None, max_length=4000, description="New description (replaces it).")
    status: Status | None = Field(default=None, description="New status (the workflow allows only some moves).")
    priority: Priority | None = Field(default=None, description="New priority.")
    assignee: Email | None = Field(default=None, description="Email of the project member to assign.")
    unassign: bool = Field(default=False, description="Remove the assignee (do not combine with assignee).")
    due_date: IsoDate | None = Field(default=None, description="New due date.")
    labels: LabelChanges | None = Field(default=None, description="Labels to add and remove.")
