"""Readable differences between two environment snapshots (rows of tables matched by ``id``)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["diff_snapshots", "short_json"]

_MAX_DIFF_LINES = 20


def short_json(value: Any) -> str:
    """Compact JSON of a value, cut to 80 characters."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _keyed(rows: list[Any]) -> dict[str, Any] | None:
    if not all(isinstance(r, dict) and "id" in r for r in rows):
        return None
    keyed = {str(r["id"]): r for r in rows}
    return keyed if len(keyed) == len(rows) else None


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append(f"{sub}: added {short_json(b[k])}")
            elif k not in b:
                out.append(f"{sub}: removed (was {short_json(a[k])})")
            else:
                _diff(a[k], b[k], sub, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _keyed(a), _keyed(b)
        if ka is not None and kb is not None:
            for k in sorted(set(ka) | set(kb)):
                sub = f"{path}[{k}]"
                if k not in ka:
                    out.append(f"{sub}: added {short_json(kb[k])}")
                elif k not in kb:
                    out.append(f"{sub}: removed (was {short_json(ka[k])})")
                else:
                    _diff(ka[k], kb[k], sub, out)
            return
        if len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                _diff(x, y, f"{path}[{i}]", out)
            return
    out.append(f"{path or '(root)'}: {short_json(a)} -> {short_json(b)}")


def diff_snapshots(a: dict[str, Any], b: dict[str, Any], *, limit: int = _MAX_DIFF_LINES) -> list[str]:
    """Readable differences between two snapshots: rows of tables are matched by ``id``; at most ``limit``
    lines."""
    out: list[str] = []
    _diff(a, b, "", out)
    if len(out) > limit:
        out = out[:limit] + [f"... and {len(out) - limit} more change(s)"]
    return out
