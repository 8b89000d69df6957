"""LLM-driven synthesis throughput against a loopback OpenAI-compatible server with a fixed 100 ms answer delay.

At concurrency C every request waits 100 ms, so the ideal is C / 0.1 s requests per second; the figure printed is
the achieved request rate as a share of that ideal (target >= 0.9 at C = 64). The server runs in a separate process
so that its work does not compete with the client for the GIL.

    python bench/synth_llm_throughput.py [--concurrency 64] [--samples 1280] [--delay 0.1] [--workers 1]

Samples default to a multiple of the concurrency: every sample makes three sequential 100 ms requests, so a run
whose last wave is partly empty could not reach the ideal even with a free client. The clock starts once the
synthesizer (and its worker processes) are up.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _serve(port_queue: mp.Queue, delay: float, stop: mp.Event) -> None:  # type: ignore[type-arg]
    from tests.synthesizers.teacher_double import teacher
    from tests.toolkit.openai_loopback import OpenAILoopback

    def slow_teacher(body: dict) -> object:
        return teacher(body).slow(delay)

    with OpenAILoopback(responder=slow_teacher, inline_responder=True) as server:
        port_queue.put(server.base_url)
        stop.wait()
    port_queue.put(time.process_time())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1280)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=1, help="synthesis worker processes (toolgym synth --workers)")
    args = parser.parse_args()

    from synthesizers.config import SynthConfig, TeacherConfig
    from synthesizers.factory import make_synthesizer
    from synthesizers.runner import RunOptions, run_synthesis
    from toolkit import aio

    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(queue, args.delay, stop), daemon=True)
    proc.start()
    base_url = queue.get(timeout=60)
    try:
        teacher = TeacherConfig(base_url=base_url, model="teacher", api_key_env="", max_tokens=64)
        config = SynthConfig(synthesizer="llm", suites=["calculator"], teacher=teacher, n=args.samples,
                             concurrency=args.concurrency, workers=args.workers, mix={"single": 1},
                             near_dup_threshold=None)
        with tempfile.TemporaryDirectory() as tmp:
            opts = RunOptions(n=args.samples, out=Path(tmp) / "bench.jsonl", concurrency=args.concurrency,
                              mix={"single": 1}, near_dup_threshold=None, progress=False)
            synth = make_synthesizer(config)

            async def timed() -> tuple[object, float, float]:
                async with synth:  # workers start (and import) before the clock does
                    start, cpu_start = time.perf_counter(), time.process_time()
                    report = await run_synthesis(synth, opts, enter=False)
                    return report, time.perf_counter() - start, time.process_time() - cpu_start

            report, elapsed, cpu = aio.run(timed)
    finally:
        stop.set()
        server_cpu = queue.get(timeout=10)
        proc.join(timeout=10)
    requests = 3 * report.yields.reached["verified"]  # task writer + tool call + final answer per sample
    ideal = args.concurrency / args.delay
    achieved = requests / elapsed
    print(f"samples verified: {report.yields.reached['verified']}/{args.samples} in {elapsed:.2f} s")
    print(f"requests/s achieved: {achieved:.1f}   ideal at concurrency {args.concurrency}: {ideal:.1f}")
    if args.workers == 1:
        print(f"client CPU: {1000 * cpu / requests:.2f} ms per request ({cpu / elapsed:.0%} of one core)")
    else:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu = children.ru_utime + children.ru_stime
        print(f"client CPU: parent {1000 * cpu / requests:.2f} ms per request ({cpu / elapsed:.0%} of one core); "
              f"{args.workers} workers {workers_cpu:.1f} s in all, start-up included")
    print(f"server CPU: {1000 * server_cpu / requests:.2f} ms per request")
    print(f"share of ideal: {achieved / ideal:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
