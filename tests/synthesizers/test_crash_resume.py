"""A synthesis run killed with SIGKILL part-way and then resumed ends with exactly the records of an uninterrupted
run: same ids, no duplicates, no torn lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ARGS = ["--suite", "calculator", "--suite", "orders", "--n", "150", "--seed", "9", "--concurrency", "4", "--quiet"]


def _cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "toolkit", "synth", *ARGS, "--out", str(out), *extra]


def _lines(path: Path) -> list[str]:
    data = path.read_text(encoding="utf-8")
    assert data == "" or data.endswith("\n"), "torn last line"
    return data.splitlines()


def test_sigkill_then_resume_gives_the_same_records_as_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = tmp_path / "reference.jsonl"
    subprocess.run(_cmd(reference), check=True, timeout=300, capture_output=True)

    out = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # bounded wait for the run to be part-way through
            if out.exists() and out.stat().st_size > 0 and len(out.read_bytes().splitlines()) >= 20:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed; make it longer"
    partial = len(out.read_bytes().splitlines())
    assert 0 < partial < len(_lines(reference))

    done = subprocess.run(_cmd(out, "--resume", "--json"), check=True, timeout=300, capture_output=True, text=True)
    summary = json.loads(done.stdout)
    assert summary["skipped_already_done"] >= 20
    ids = [json.loads(line)["id"] for line in _lines(out)]
    assert len(ids) == len(set(ids)), "duplicated records after resume"
    assert ids == [json.loads(line)["id"] for line in _lines(reference)]
    assert _lines(out) == _lines(reference)  # byte-identical records, in the same order
