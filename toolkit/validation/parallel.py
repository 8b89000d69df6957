"""The static stages of a large file on several processes.

Checking a record is CPU-bound (most of it is the JSON Schema check of the record), so a file is cut into
chunks of raw lines that worker processes decode and check. Results come back in file order; at most two
chunks per worker are in flight, so memory stays bounded however large the file. Workers are *spawned* (not
forked): they start clean, whatever threads or event loops the parent has.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from toolkit.readers import decode_line, iter_raw_lines
from toolkit.specs import ToolSpec
from toolkit.validation.report import RecordReport

__all__ = ["check_file_parallel"]

CHUNK_LINES = 256

_Checked = tuple[RecordReport, dict[str, Any] | None]


def _check_chunk(
    lines: list[tuple[int, bytes, bool]],
    stem: str,
    max_depth: int,
    fallback: Mapping[str, ToolSpec] | None,
    stages: frozenset[str],
    keep_records: bool,
) -> list[_Checked]:
    from toolkit.validation.pipeline import static_report  # the worker imports the pipeline on first use

    out: list[_Checked] = []
    for number, raw, last in lines:
        item = decode_line(number, raw, last=last, stem=stem)
        if item is None:
            continue
        report, traj = static_report(0, item, max_depth, fallback, stages)
        out.append((report, item.record if keep_records and traj is not None else None))
    return out


def check_file_parallel(
    path: Path,
    *,
    workers: int,
    max_depth: int,
    fallback: Mapping[str, ToolSpec] | None,
    stages: Collection[str],
    keep_records: bool,
) -> Iterator[_Checked]:
    """``(report, record dict or None)`` per non-blank line, in file order, numbered here.

    The record comes back only with ``keep_records`` and when it passed the ``record`` stage (to be replayed).
    """
    raw = iter_raw_lines(path)
    context = multiprocessing.get_context("spawn")
    pending: deque[Future[list[_Checked]]] = deque()
    index = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        while True:
            chunk = list(islice(raw, CHUNK_LINES))
            if chunk:
                pending.append(pool.submit(
                    _check_chunk, chunk, path.stem, max_depth, fallback, frozenset(stages), keep_records
                ))
            if pending and (len(pending) >= 2 * workers or not chunk):
                for report, record in pending.popleft().result():
                    report.index = index
                    index += 1
                    yield report, record
            if not chunk and not pending:
                return
