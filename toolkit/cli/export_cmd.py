"""`toolgym export FILE --format FMT --out DIR` — write records as training data, optionally split."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from toolkit.errors import UserError
from toolkit.exporters import (
    EXPORTERS,
    SPLITS,
    Exporter,
    ExportError,
    Split,
    get_exporter,
    split_records,
    tools_used,
)
from toolkit.exporters.splits import split_held_out_tools
from toolkit.readers import load_trajectories
from toolkit.records import Trajectory

EXAMPLE = """example:
  toolgym export samples/data/sample_trajectories.jsonl --format trl --out out/trl
  toolgym export data.jsonl --format openai --out out/oai --split held-out-tools --test-fraction 0.25 --seed 1
  toolgym export data.jsonl --format sharegpt --out out/lf --split kind --only-valid

writes DIR/all.jsonl (or DIR/train.jsonl + DIR/test.jsonl with --split) and DIR/manifest.json; the openai
format also writes DIR/<split>.links.jsonl, line-aligned with the rows, holding each row's id / parent_id /
parent_call_id. Load TRL output with toolkit.exporters.load_trl_jsonl (plain datasets loading null-fills
tool-call arguments)."""

_OUTPUTS = ("all", "train", "test")
_MAX_PROBLEMS = 100  # listed in the manifest; the counts are always complete


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="export trajectory records to TRL, OpenAI, ShareGPT or Hermes training files",
        description="Export trajectory records (with their subagents, one row each) to a training format, "
        "optionally split into train/test deterministically from a seed.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="JSONL of ToolGym records (TRL / OpenAI chat rows are read too)")
    p.add_argument("--format", required=True, choices=list(EXPORTERS), help="target format")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    p.add_argument("--split", choices=list(SPLITS), help="split into train.jsonl and test.jsonl")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of records in test (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument(
        "--held-out-by",
        choices=["called", "offered"],
        default="called",
        help="held-out-tools: compare the tools records call (default) or are offered (stricter)",
    )
    p.add_argument("--only-valid", action="store_true", help="keep only records whose validation passed")
    return p


def _read(path: Path) -> tuple[list[Trajectory], list[str]]:
    """Records and per-line problems ("line N: why"); a bad line is skipped, never fatal."""
    records, bad = load_trajectories(path)
    return records, [f"line {item.line}: {item.error}" for item in bad]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _filter_valid(records: list[Trajectory]) -> tuple[list[Trajectory], int, int]:
    kept = [r for r in records if r.validation is not None and r.validation.passed]
    unvalidated = sum(1 for r in records if r.validation is None)
    return kept, len(records) - len(kept) - unvalidated, unvalidated


def _write(
    out: Path, name: str, records: list[Trajectory], exporter: Exporter, errors: list[dict[str, str]]
) -> dict[str, Any]:
    rows = written = 0
    called: set[str] = set()
    offered: set[str] = set()
    kinds: Counter[str] = Counter()
    with ExitStack() as stack:
        f = stack.enter_context((out / f"{name}.jsonl").open("w", encoding="utf-8"))
        sidecar = None
        if not exporter.links_in_row:
            sidecar = stack.enter_context((out / f"{name}.links.jsonl").open("w", encoding="utf-8"))
        for record in records:
            try:
                produced = exporter.export_with_links(record)
            except ExportError as exc:  # a record this format cannot hold: reported, the rest goes on
                errors.append({"record_id": exc.record_id, "split": name, "problem": exc.problem})
                continue
            for row, link in produced:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                if sidecar is not None:
                    sidecar.write(json.dumps(link.to_dict(), ensure_ascii=False) + "\n")
            written += 1
            rows += len(produced)
            called |= tools_used(record, "called")
            offered |= tools_used(record, "offered")
            kinds[record.scenario.kind if record.scenario else "unknown"] += 1
    info: dict[str, Any] = {
        "file": f"{name}.jsonl",
        "records": written,
        "rows": rows,
        "subagent_rows": rows - written,
        "kinds": dict(sorted(kinds.items())),
        "tools_called": sorted(called),
        "tools_offered": sorted(offered),
    }
    if not exporter.links_in_row:
        info["links_file"] = f"{name}.links.jsonl"
    return info


def _split(args: argparse.Namespace, records: list[Trajectory]) -> Split:
    if args.split == "held-out-tools":
        return split_held_out_tools(
            records, test_fraction=args.test_fraction, seed=args.seed, match=args.held_out_by
        )
    return split_records(records, args.split, test_fraction=args.test_fraction, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    src = Path(args.file)
    exporter = get_exporter(args.format)
    if args.held_out_by != "called" and args.split != "held-out-tools":
        raise UserError("--held-out-by only applies to --split held-out-tools; add that, or drop --held-out-by")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; pass a directory (it is created if missing)")
    records, problems = _read(src)
    if not records:
        first = f" First problem: {problems[0]}" if problems else ""
        raise UserError(f"{src}: no trajectory record could be read ({len(problems)} bad line(s)).{first}")
    n_read = len(records)
    duplicates = sorted(k for k, n in Counter(r.id for r in records).items() if n > 1)
    dropped_invalid = dropped_unvalidated = 0
    if args.only_valid:
        records, dropped_invalid, dropped_unvalidated = _filter_valid(records)
        if not records:
            raise UserError(
                f"{src}: no record has a passing validation ({dropped_invalid} failed, "
                f"{dropped_unvalidated} never validated); run the validator first, or drop --only-valid"
            )
    split = _split(args, records) if args.split else None
    out.mkdir(parents=True, exist_ok=True)
    for stale in _OUTPUTS:  # never leave files of an earlier export that this one does not rewrite
        for suffix in (".jsonl", ".links.jsonl"):
            (out / f"{stale}{suffix}").unlink(missing_ok=True)
    errors: list[dict[str, str]] = []
    parts = {"train": split.train, "test": split.test} if split else {"all": records}
    files = {name: _write(out, name, recs, exporter, errors) for name, recs in parts.items()}
    manifest: dict[str, Any] = {
        "format": args.format,
        "source": {
            "path": str(src),
            "sha256": _sha256(src),
            "records_read": n_read,
            "lines_skipped": len(problems),
            "problems": problems[:_MAX_PROBLEMS],
            # Row links and split ranking use record ids; duplicates are exported, but flagged.
            "duplicate_ids": duplicates[:_MAX_PROBLEMS],
        },
        "filter": {
            "only_valid": bool(args.only_valid),
            "failed_validation": dropped_invalid,
            "not_validated": dropped_unvalidated,
        },
        "split": None,
        "export_errors": {"count": len(errors), "records": errors[:_MAX_PROBLEMS]},
        "files": files,
    }
    if split:
        manifest["split"] = {
            "method": split.method,
            "seed": split.seed,
            "test_fraction": split.test_fraction,
            "achieved_test_fraction": round(len(split.test) / max(1, len(split.train) + len(split.test)), 4),
            "held_out_tools": split.held_out_tools,
            "held_out_by": args.held_out_by if split.method == "held-out-tools" else None,
            "dropped_records": len(split.dropped),
            "dropped_ids": [r.id for r in split.dropped][:_MAX_PROBLEMS],
            "notes": split.notes,
        }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    _report(out, manifest, problems, errors)
    return 1 if problems or errors else 0


def _report(out: Path, manifest: dict[str, Any], problems: list[str], errors: list[dict[str, str]]) -> None:
    for p in problems[:10]:
        print(f"skipped {manifest['source']['path']} {p}")
    for e in errors[:10]:
        print(f"not exported: record {e['record_id']!r}: {e['problem']}")
    more = max(0, len(problems) - 10) + max(0, len(errors) - 10)
    if more:
        print(f"... and {more} more (see manifest.json)")
    duplicates = manifest["source"]["duplicate_ids"]
    if duplicates:
        print(f"warning: {len(duplicates)} record id(s) occur more than once, e.g. {duplicates[0]!r}; "
              "row links and splits key on ids, so give every record its own id")
    for name, info in manifest["files"].items():
        counts = f"{info['records']} record(s), {info['rows']} row(s)"
        print(f"{out / info['file']}: {counts}, tools called {info['tools_called']}")
    split = manifest["split"]
    if split and split["dropped_records"]:
        print(f"dropped by the split: {split['dropped_records']} record(s) (see manifest.json)")
    if split and split["held_out_tools"]:
        print(f"held-out tools: {split['held_out_tools']}")
    for note in split["notes"] if split else []:
        print(f"note: {note}")
    print(f"manifest: {out / 'manifest.json'}")
