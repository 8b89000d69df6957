"""Offline synthesis throughput: validated, executed trajectories per second on the bundled suites, per kind.

Each kind runs alone (mix = {kind: 1}) over every bundled suite; the figure is samples that passed verification
per second of wall time (writing and dedupe included), with the yield next to it.

Then the default mixture of kinds runs once in one process and once in ``--workers`` processes (``toolgym synth
--workers``), timed from when the synthesizer is ready, and the ratio is printed (both runs in this invocation).

    python bench/synth_offline_throughput.py [--n 200] [--concurrency 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="samples per kind")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="processes for the scaling comparison (0: skip it)")
    args = parser.parse_args()

    from synthesizers.config import DEFAULT_MIX
    from synthesizers.offline import OfflineSynthesizer
    from synthesizers.runner import RunOptions, run_synthesis
    from toolkit import aio
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
            report = aio.run(run_synthesis, synth, opts)
            elapsed = time.perf_counter() - start
            verified = report.yields.reached["verified"]
            total_verified += verified
            total_time += elapsed
            rows.append((kind, verified, f"{verified / elapsed:.1f}", f"{100 * verified / args.n:.0f}%",
                         report.yields.written))
    rows.append(("all kinds", total_verified, f"{total_verified / total_time:.1f}", "", ""))
    print(f"suites: {', '.join(suites)}; {args.n} samples per kind; concurrency {args.concurrency}")
    print(format_table(rows, ("kind", "verified", "verified/s", "yield", "written (after dedupe)")))
    if args.workers > 1:
        _scaling(suites, args.n * 2, args.concurrency, args.workers)


def _scaling(suites: list[str], n: int, concurrency: int, workers: int) -> None:
    from synthesizers.config import SynthConfig
    from synthesizers.factory import make_synthesizer
    from synthesizers.runner import RunOptions, run_synthesis
    from toolkit import aio

    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, workers):
            config = SynthConfig(suites=suites, n=n, seed=2, concurrency=concurrency * count, workers=count)
            opts = RunOptions(n=n, out=Path(tmp) / f"w{count}.jsonl", seed=2, mix=config.mix,
                              concurrency=config.concurrency, progress=False)
            report = aio.run(run_synthesis, make_synthesizer(config), opts)
            rates[count] = report.yields.reached["verified"] / report.seconds
        same = (Path(tmp) / "w1.jsonl").read_bytes() == (Path(tmp) / f"w{workers}.jsonl").read_bytes()
    print(f"\ndefault mix, {n} samples: 1 process {rates[1]:.1f} verified/s; {workers} worker processes "
          f"{rates[workers]:.1f} verified/s = {rates[workers] / rates[1]:.2f}x (identical output: {same})")


if __name__ == "__main__":
    main()
