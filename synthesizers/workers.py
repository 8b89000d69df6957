"""Run a synthesizer in several worker processes on one machine (``workers: N`` / ``--workers N``).

One Python process drives one event loop, and synthesis spends real CPU per sample: executing and validating
calls, building records, and (for the LLM synthesizer) the HTTP client's share of every request. Past about one
core's worth, more concurrency only queues. The pool multiplies that budget: each worker process builds the
configured synthesizer and makes the samples it is handed; the parent keeps everything that decides *what* is
written: which samples exist, their order, duplicate removal, resume and shards (:mod:`synthesizers.runner`).
So the output of a run is the same file whatever the number of workers.

A worker that dies (a segfault in a tool, the OOM killer) fails only the samples it held, each with the exit
code as its recorded cause, and is replaced; after ``max_restarts`` replacements the run stops with
:class:`~synthesizers.runner.RunAborted` (what was written stays; ``--resume`` continues).
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import traceback
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from synthesizers.config import SynthConfig
from synthesizers.outcome import SampleJob, SampleOutcome
from synthesizers.runner import RunAborted, run_sample
from toolkit import aio

__all__ = ["WorkerPool"]

_START_TIMEOUT = 300.0  # seconds a worker may take to import and open its tools


def _worker_main(conn: Connection, config: SynthConfig, sample_timeout: float, allow_model_requests: bool) -> None:
    import toolkit.backends

    toolkit.backends.ALLOW_MODEL_REQUESTS = allow_model_requests  # the kill switch holds in workers too
    aio.run(_serve, conn, config, sample_timeout)


async def _serve(conn: Connection, config: SynthConfig, sample_timeout: float) -> None:
    from synthesizers.factory import make_synthesizer

    try:
        synth = make_synthesizer(config)
        await synth.__aenter__()
    except BaseException:  # noqa: BLE001 — reported to the parent, which stops the run with it
        conn.send(("failed", traceback.format_exc(limit=8)))
        return
    jobs_in, jobs_out = anyio.create_memory_object_stream[SampleJob | None](max_buffer_size=1_000_000)
    token = anyio.lowlevel.current_token()

    def receive() -> None:  # a plain thread: a blocking recv() must not hold the event loop
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                job = None
            anyio.from_thread.run_sync(jobs_in.send_nowait, job, token=token)
            if job is None:
                return

    async def make(job: SampleJob) -> None:
        outcome = await run_sample(synth, job, sample_timeout)
        try:
            conn.send(("done", outcome))
        except Exception as exc:  # an outcome that cannot be pickled: report the sample as failed, not the run
            conn.send(("done", SampleOutcome.failure(job, "generated", f"could not return the sample: {exc!r}")))

    threading.Thread(target=receive, name="toolgym-worker-recv", daemon=True).start()
    conn.send(("ready", None))
    try:
        async with anyio.create_task_group() as tg:
            async for job in jobs_out:
                if job is None:
                    break
                tg.start_soon(make, job)
    finally:
        await synth.__aexit__(None, None, None)


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    pending: dict[int, tuple[SampleJob, anyio.Event, list[SampleOutcome]]] = field(default_factory=dict)
    alive: bool = True


class WorkerPool:
    """A :class:`~synthesizers.runner.Synthesizer` that hands each sample to one of ``config.workers`` processes.

    Each worker runs the synthesizer ``config`` describes with a ``1/workers`` share of ``config.concurrency``; the
    runner's own limit keeps the total in flight. ``sample_timeout`` is enforced inside the workers too, so a
    sample past its limit is abandoned where it runs.
    """

    def __init__(self, config: SynthConfig, *, sample_timeout: float | None = None, max_restarts: int | None = None):
        if config.workers < 2:
            raise ValueError("WorkerPool needs workers >= 2; use make_synthesizer for one process")
        share = -(-config.concurrency // config.workers)
        self._child_config = replace(config, workers=1, concurrency=share)
        self._count = config.workers
        self._sample_timeout = sample_timeout if sample_timeout is not None else config.sample_timeout
        self._max_restarts = max_restarts if max_restarts is not None else max(3, config.workers)
        self._restarts = 0
        self._ctx = mp.get_context("spawn")  # fork would copy a running event loop and its threads
        self._workers: list[_Worker] = []
        self._token: Any = None
        self._broken: str | None = None
        self._replacing = anyio.Lock()

    async def __aenter__(self) -> WorkerPool:
        self._token = anyio.lowlevel.current_token()
        try:
            for _ in range(self._count):
                self._workers.append(await self._start())
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        import toolkit.backends

        args = (child, self._child_config, self._sample_timeout, toolkit.backends.ALLOW_MODEL_REQUESTS)
        process = self._ctx.Process(target=_worker_main, args=args, daemon=True, name="toolgym-synth-worker")
        process.start()
        child.close()
        try:
            ready = await anyio.to_thread.run_sync(_first_message, parent, process, abandon_on_cancel=True)
        except BaseException:  # the run stopped while this worker started: it must not outlive the run
            with anyio.CancelScope(shield=True):
                process.kill()
                await anyio.to_thread.run_sync(process.join, 5)
            parent.close()
            raise
        if ready[0] != "ready":
            process.join(timeout=5)
            parent.close()
            raise RunAborted(f"a synthesis worker could not start:\n{ready[1]}")
        worker = _Worker(process=process, conn=parent)
        threading.Thread(target=self._read, args=(worker,), name="toolgym-pool-recv", daemon=True).start()
        return worker

    def _read(self, worker: _Worker) -> None:
        while True:
            try:
                kind, outcome = worker.conn.recv()
            except (EOFError, OSError):
                break
            if kind == "done":
                try:
                    anyio.from_thread.run_sync(self._deliver, worker, outcome, token=self._token)
                except RuntimeError:  # the run's event loop is gone: nothing is waiting any more
                    return
        try:
            anyio.from_thread.run_sync(self._lost, worker, token=self._token)
        except RuntimeError:
            return

    def _deliver(self, worker: _Worker, outcome: SampleOutcome) -> None:
        entry = worker.pending.pop(outcome.job.index, None)
        if entry is not None:
            entry[2].append(outcome)
            entry[1].set()

    def _lost(self, worker: _Worker) -> None:
        if not worker.alive:
            return
        worker.alive = False
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        for job, event, box in worker.pending.values():
            box.append(SampleOutcome.failure(job, "generated", f"its worker process died (exit code {code})"))
            event.set()
        worker.pending.clear()
        self._restarts += 1
        if self._restarts > self._max_restarts:
            self._broken = f"synthesis workers died {self._restarts} times (last exit code {code}); stopping the run"

    async def synthesize(self, job: SampleJob) -> SampleOutcome:
        worker = await self._pick()
        event, box = anyio.Event(), []
        worker.pending[job.index] = (job, event, box)
        try:
            worker.conn.send(job)
        except (OSError, ValueError):  # the pipe broke: the reader thread reports the death
            pass
        try:
            await event.wait()
        finally:
            worker.pending.pop(job.index, None)
        return box[0]

    async def _pick(self) -> _Worker:
        async with self._replacing:  # one task replaces a dead worker; the others wait for it
            if self._broken:
                raise RunAborted(self._broken)
            for i, worker in enumerate(self._workers):
                if not worker.alive:
                    worker.conn.close()
                    self._workers[i] = await self._start()
        return min(self._workers, key=lambda w: len(w.pending))

    async def __aexit__(self, *exc: object) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.alive = False  # an exit from here on is the shutdown, not a death
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        for worker in workers:
            await anyio.to_thread.run_sync(worker.process.join, 30, abandon_on_cancel=True)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()


def _first_message(conn: Connection, process: Any) -> tuple[str, Any]:
    try:
        if not conn.poll(_START_TIMEOUT):
            process.kill()
            return "failed", f"no answer within {_START_TIMEOUT:g} s"
        return conn.recv()
    except (EOFError, OSError):  # the worker died, or the start was abandoned and the pipe closed
        return "failed", f"the worker process exited (code {process.exitcode}) before it was ready"
