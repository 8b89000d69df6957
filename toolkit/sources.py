"""Tool sources written as strings, as on the command line.

* ``py:MODULE`` or ``py:MODULE:ATTR`` — Python tools. ``ATTR`` (or, without it, the first of ``create_toolset``,
  ``toolset``) is a :class:`~toolkit.python_tools.PythonToolset` or a zero-argument factory returning one; a
  module with neither contributes its functions decorated with :func:`toolkit.python_tools.tool`.
* ``stdio:COMMAND ARGS...`` — an MCP server started as a subprocess (no shell; the rest is split like a shell would).
* ``http://...`` / ``https://...`` — an MCP server over streamable HTTP.

A *factory* is returned rather than a toolset so that callers that need a fresh tool state (execution replay,
environments) can make one per use.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from toolkit.errors import UserError
from toolkit.toolsets import CallLimits, ToolRegistry, Toolset

__all__ = ["ToolSource", "parse_source", "open_registry", "redact_secrets"]


_MASK = "***"

# A name looks secret when one of its parts (split on `_ . -` and camelCase) is a secret word, a word ending in one
# (PGPASSWORD, authtoken), or a glued `...key` (apikey). Whole parts, so `author`, `monkey`, `max_tokens` pass.
_SECRET_WORDS = frozenset({"token", "key", "secret", "secrets", "password", "passwords", "passwd", "pwd",
                           "passphrase", "auth", "authorization", "credential", "credentials"})
_SECRET_ENDINGS = ("token", "secret", "password", "passwd", "credential", "credentials")
_GLUED_KEY = re.compile(r"(?:api|access|auth|client|private|secret|session|app|master|license)key")
# ...unless the name says where the secret lives rather than holding it (`--token-file PATH`).
_POINTER_WORDS = frozenset({"file", "path", "dir", "env", "var", "stdin", "type", "kind", "mode", "name", "length",
                            "len", "size", "count", "limit", "timeout", "ttl", "expiry", "expires", "header", "scheme"})
_NAME_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _secret_name(name: str) -> bool:
    parts = [p.lower() for p in _NAME_PART.findall(name)]
    if not parts or parts[-1] in _POINTER_WORDS or parts[0] == "no":  # `--no-auth` is a switch, not a value
        return False
    return any(p in _SECRET_WORDS or p.endswith(_SECRET_ENDINGS) or _GLUED_KEY.fullmatch(p) for p in parts)


_NOT_MASKED = r"""(?!\*\*\*(?:[\s:;,'")\]}]|$))"""  # a value already masked: redacting twice changes nothing
_VALUE = r"""(?:"[^"]*"|'[^']*'|(?:\\.|[^\s'"\\])+)"""
# NAME=VALUE or --name=VALUE; a quote just before the name ('API_TOKEN=a b') runs the value to the closing quote.
_ASSIGNMENT = re.compile(r"""(?<![\w.\-/])(?P<q>['"])?(?P<name>-{0,2}[A-Za-z_][\w.\-]*)="""
                         r"""(?P<value>""" + _NOT_MASKED + r"""(?(q)[^'"]+|""" + _VALUE + "))")
# --name VALUE: the value is the next word, unless that is another option.
_FLAG = re.compile(r"(?<![\w\-])(?P<name>--?[A-Za-z][\w.\-]*)(?P<gap>[ \t]+)"
                   r"(?P<value>(?!-)" + _NOT_MASKED + _VALUE + ")")
_AUTH_HEADER = re.compile(r"(?i)\b(?P<head>(?:proxy-)?authorization\s*:\s*"
                          r"(?P<scheme>(?:bearer|basic|token|digest)\s+)?)(?P<value>" + _NOT_MASKED + r"[^\s'\"]+)")
_BEARER = re.compile(r"(?i)\b(?P<head>bearer\s+)(?P<value>[A-Za-z0-9._~+/=\-]{6,})")
_BASIC = re.compile(r"(?i)\b(?P<head>basic\s+)(?P<value>[A-Za-z0-9+/]{8,}={0,2})(?![\w\-])")
# Well-known key shapes; the lengths (and a digit for sk-) keep identifiers like `sk-learn` or `hf_hub` out.
_TOKEN_SHAPES = re.compile(
    r"\b(?:sk-(?=[\w\-]*\d)[\w\-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|hf_[A-Za-z0-9]{30,}|(?:AKIA|ASIA)[A-Z0-9]{16}\b)"
)
_TOKEN_PREFIX = re.compile(r"github_pat_|[a-z]+[-_]|[A-Z]{4}")
_URL = re.compile(r"https?://[^\s'\"]+")


def _looks_like_credential(value: str) -> bool:
    """Whether the word after ``Bearer``/``Basic`` is a credential rather than prose ("basic arithmetic")."""
    return any(c.isdigit() or c in "._~+/=-" for c in value) or any(c.isupper() for c in value[1:])


def redact_secrets(text: str) -> str:
    """``text`` with likely credentials masked, for names that end up in logs, records and error messages: the
    userinfo and query of URLs, ``NAME=VALUE`` and ``--name VALUE`` where the name looks secret (``API_TOKEN``,
    ``--api-key``), ``Authorization:``/``Bearer``/``Basic`` values and well-known key shapes (``sk-``, ``ghp_``,
    ``github_pat_``, ``xoxb-``, ``hf_``, ``AKIA``). Ordinary text and commands come back unchanged."""

    def url(match: re.Match[str]) -> str:
        parts = urlsplit(match.group(0))
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{_MASK}@{host}" if "@" in parts.netloc else host
        return urlunsplit((parts.scheme, netloc, parts.path, _MASK if parts.query else "", parts.fragment))

    def header(match: re.Match[str]) -> str:
        if match["scheme"] or _looks_like_credential(match["value"]):
            return match["head"] + _MASK
        return match.group(0)

    def scheme(match: re.Match[str]) -> str:
        return match["head"] + _MASK if _looks_like_credential(match["value"]) else match.group(0)

    def assignment(match: re.Match[str]) -> str:
        return f"{match['q'] or ''}{match['name']}={_MASK}" if _secret_name(match["name"]) else match.group(0)

    def flag(match: re.Match[str]) -> str:
        return f"{match['name']}{match['gap']}{_MASK}" if _secret_name(match["name"]) else match.group(0)

    def token(match: re.Match[str]) -> str:
        prefix = _TOKEN_PREFIX.match(match.group(0))
        return (prefix.group(0) if prefix else "") + _MASK

    text = _URL.sub(url, text)
    text = _AUTH_HEADER.sub(header, text)
    text = _BEARER.sub(scheme, text)
    text = _BASIC.sub(scheme, text)
    text = _ASSIGNMENT.sub(assignment, text)
    text = _FLAG.sub(flag, text)
    return _TOKEN_SHAPES.sub(token, text)


@dataclass(frozen=True)
class ToolSource:
    """A parsed source string; call :meth:`make` for a new, unopened toolset."""

    text: str
    kind: str  # "python" | "stdio" | "http"
    target: str
    args: tuple[str, ...] = ()

    def make(self) -> Toolset:
        if self.kind == "python":
            from toolkit.python_tools import load_python_toolset

            return load_python_toolset(self.target)
        from toolkit.mcp_tools import MCPToolset

        # The toolset's name shows up in error results and failure reasons, which datasets keep: give it the
        # redacted label; the real command and URL are still what run.
        if self.kind == "stdio":
            return MCPToolset.stdio(self.target, list(self.args), name=self.label)
        return MCPToolset.http(self.target, name=self.label)

    def factory(self) -> Callable[[], Toolset]:
        return self.make

    @property
    def label(self) -> str:
        """The source as written with likely credentials masked (see :func:`redact_secrets`): safe for records and
        logs."""
        return redact_secrets(self.text)

    def __repr__(self) -> str:  # the dataclass repr would show the raw command in tracebacks and logs
        return f"ToolSource({self.label!r}, kind={self.kind!r})"


_HELP = "write py:MODULE[:ATTR], stdio:COMMAND ARGS..., or an http(s):// URL of a streamable-HTTP MCP server"


def parse_source(text: str) -> ToolSource:
    """Parse one tool-source string, or raise a :class:`UserError` that shows the accepted forms."""
    text = text.strip()
    shown = redact_secrets(text)  # errors get logged: don't echo a token typed into the command
    if text.startswith("py:"):
        target = text[3:].strip()
        if not target:
            raise UserError(f"empty Python module in tool source {shown!r}; {_HELP}")
        return ToolSource(text, "python", target)
    if text.startswith("stdio:"):
        try:
            parts = shlex.split(text[6:])
        except ValueError as exc:
            raise UserError(f"cannot split the command in {shown!r}: {exc}; check its quotes") from None
        if not parts:
            raise UserError(f"empty command in tool source {shown!r}; {_HELP}")
        return ToolSource(text, "stdio", parts[0], tuple(parts[1:]))
    if text.startswith(("http://", "https://")):
        return ToolSource(text, "http", text)
    raise UserError(f"unrecognised tool source {shown!r}; {_HELP}")


def open_registry(sources: Sequence[str | ToolSource], *, limits: CallLimits | None = None) -> ToolRegistry:
    """A registry over fresh toolsets for the given sources (not yet opened: use ``async with``)."""
    parsed = [s if isinstance(s, ToolSource) else parse_source(s) for s in sources]
    return ToolRegistry([s.make() for s in parsed], limits=limits)
