"""Offline synthesis throughput: validated, executed trajectories per second on the bundled suites, per kind.

Each kind runs alone (mix = {kind: 1}) over every bundled suite; the figure is samples that passed verification
per second of wall time (writing and dedupe included), with the yield next to it.

    python bench/synth_offline_throughput.py [--n 200] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="samples per kind")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from synthesizers.config import DEFAULT_MIX
    from synthesizers.offline import OfflineSynthesizer
    from synthesizers.runner import RunOptions, run_synthesis
    from toolkit.environment import list_suites
    from toolkit.tables import format_table

    suites = list_suites()
    rows = []
    total_verified, total_time = 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for kind in DEFAULT_MIX:
            synth = OfflineSynthesizer(suites=suites)
            opts = RunOptions(n=args.n, out=Path(tmp) / f"{kind}.jsonl", mix={kind: 1}, concurrency=args.concurrency,
                              progress=False, seed=1)
            start = time.perf_counter()
            report = anyio.run(run_synthesis, synth, opts)
            elapsed = time.perf_counter() - start
            verified = report.yields.reached["verified"]
            total_verified += verified
            total_time += elapsed
            rows.append((kind, verified, f"{verified / elapsed:.1f}", f"{100 * verified / args.n:.0f}%",
                         report.yields.written))
    rows.append(("all kinds", total_verified, f"{total_verified / total_time:.1f}", "", ""))
    print(f"suites: {', '.join(suites)}; {args.n} samples per kind; concurrency {args.concurrency}")
    print(format_table(rows, ("kind", "verified", "verified/s", "yield", "written (after dedupe)")))


if __name__ == "__main__":
    main()
