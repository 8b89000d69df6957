"""LLM-driven synthesis throughput against a loopback OpenAI-compatible server with a fixed 100 ms answer delay.

At concurrency C every request waits 100 ms, so the ideal is C / 0.1 s requests per second; the figure printed is
the achieved request rate as a share of that ideal (target >= 0.9 at C = 64). The server runs in a separate process
so that its work does not compete with the client for the GIL.

    python bench/synth_llm_throughput.py [--concurrency 64] [--samples 400] [--delay 0.1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _serve(port_queue: mp.Queue, delay: float, stop: mp.Event) -> None:  # type: ignore[type-arg]
    from tests.synthesizers.teacher_double import teacher
    from tests.toolkit.openai_loopback import OpenAILoopback

    def slow_teacher(body: dict) -> object:
        return teacher(body).slow(delay)

    with OpenAILoopback(responder=slow_teacher) as server:
        port_queue.put(server.base_url)
        stop.wait()
    port_queue.put(time.process_time())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()

    import toolkit.backends
    from synthesizers.llm import LLMSynthesizer
    from synthesizers.llm.agent import Teacher
    from synthesizers.runner import RunOptions, run_synthesis
    from toolkit.backends import Decoding, OpenAIBackend, OpenAIConfig

    toolkit.backends.ALLOW_MODEL_REQUESTS = True
    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(queue, args.delay, stop), daemon=True)
    proc.start()
    base_url = queue.get(timeout=60)
    try:
        backend = OpenAIBackend(OpenAIConfig(model="teacher", base_url=base_url, api_key_env=None,
                                             max_concurrency=args.concurrency, request_timeout=30))
        synth = LLMSynthesizer(teacher=Teacher(backend=backend, decoding=Decoding(max_tokens=64)),
                               suites=["calculator"])
        with tempfile.TemporaryDirectory() as tmp:
            opts = RunOptions(n=args.samples, out=Path(tmp) / "bench.jsonl", concurrency=args.concurrency,
                              mix={"single": 1}, near_dup_threshold=None, progress=False)
            start, cpu_start = time.perf_counter(), time.process_time()
            report = anyio.run(run_synthesis, synth, opts)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        stop.set()
        server_cpu = queue.get(timeout=10)
        proc.join(timeout=10)
    requests = 3 * report.yields.reached["verified"]  # task writer + tool call + final answer per sample
    ideal = args.concurrency / args.delay
    achieved = requests / elapsed
    print(f"samples verified: {report.yields.reached['verified']}/{args.samples} in {elapsed:.2f} s")
    print(f"requests/s achieved: {achieved:.1f}   ideal at concurrency {args.concurrency}: {ideal:.1f}")
    print(f"client CPU: {1000 * cpu / requests:.2f} ms per request ({cpu / elapsed:.0%} of one core)")
    print(f"server CPU: {1000 * server_cpu / requests:.2f} ms per request")
    print(f"share of ideal: {achieved / ideal:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
