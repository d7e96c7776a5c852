"""Warm solver processes for the web server: each task runs in one, and one past its deadline is killed.

Why processes rather than a thread pool: a thread cannot be stopped, so a method that overruns
its time limit (a rule on a huge instance, a learned policy, which has no time limit, or a
native solver that misbehaves) would keep a core busy after its request has been answered 504.
Here the server kills that process and starts a fresh one, so no solve outlives its deadline,
and a crash in native code (OR-Tools, numba) costs one process, not the server. The standard
:class:`concurrent.futures.ProcessPoolExecutor` cannot kill one task without breaking every
other task of the pool, hence this small pool of long-lived workers, one pipe each. Workers are
started with ``spawn`` (safe beside the server's threads), load the compiled kernels once and
keep learned policies cached between requests. A solve costs one pickled instance and one
pickled schedule over a pipe, well under a millisecond for the largest benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

logger = logging.getLogger(__name__)

# Seconds a stopped worker gets to exit on its own at shutdown, and a killed one to be reaped.
_EXIT_WAIT_S = 5.0


class TaskError(Exception):
    """A task that failed in a way the client should hear about, with the HTTP status to use."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class PoolBusyError(Exception):
    """No worker became free within the queue timeout."""


class TaskTimeoutError(Exception):
    """A task ran past its deadline; its worker was killed."""


def _worker_main(connection: Connection, learned: bool, setup: Callable[[], None] | None) -> None:
    """Body of a worker process: load the methods, say which exist, then run tasks until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle; it stops us
    from jssp.problems import get_problem, problem_names
    from jssp.solvers import load_plugins, method_names

    if learned:
        load_plugins()
    if setup is not None:
        setup()
    for name in problem_names():  # every problem's kernels, before the first timed solve
        get_problem(name).warm_up()
    connection.send(("ready", {name: method_names(name) for name in problem_names()}))
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the server went away
            return
        if message is None:
            return
        function, args = message
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except TaskError as error:
            reply = ("error", error)
        except Exception as error:
            logger.exception("task %s failed", getattr(function, "__name__", function))
            reply = ("error", TaskError(500, f"internal error: {type(error).__name__}: {error}"))
        connection.send(reply)


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    connection: Connection


class SolverPool:
    """A fixed number of worker processes, each running one task at a time.

    Args:
        size: number of worker processes (concurrent solves).
        learned: load the ``jssp.methods`` plugins (``gnn``, ``gnn-sample``) in every worker;
            each then imports torch.
        setup: called once in every worker after the methods load, e.g. to register more
            methods; must be picklable (a module-level function).
        start_timeout: seconds a new worker may take to import and warm up.
    """

    def __init__(
        self,
        size: int,
        learned: bool = False,
        setup: Callable[[], None] | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one worker, got {size}")
        self.size = size
        self._learned = learned
        self._setup = setup
        self._start_timeout = start_timeout
        self._context = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._methods: dict[str, list[str]] = {}  # per problem
        self._closed = False
        # Blocking pipe and process calls run here, not in the event loop's default executor: each
        # worker slot blocks at most one thread at a time (a pending reply, or a restart), so the
        # default executor stays free for parsing however long the solves take.
        self._threads = ThreadPoolExecutor(max_workers=size + 2, thread_name_prefix="jssp-pool")

    @property
    def methods(self) -> list[str]:
        """Method names the workers offer for the classical problem (known once :meth:`start` has returned)."""
        from jssp.problems import DEFAULT_PROBLEM

        return self.methods_for(DEFAULT_PROBLEM)

    def methods_for(self, problem: str) -> list[str]:
        """Method names the workers offer for ``problem`` (a registered :class:`jssp.problems.Problem`)."""
        return list(self._methods.get(problem, []))

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return sorted(worker.process.pid for worker in self._workers if worker.process.pid is not None)

    async def start(self) -> None:
        """Start every worker and wait until all are ready; raises RuntimeError if one fails."""
        results = await asyncio.gather(*(self._start_worker() for _ in range(self.size)), return_exceptions=True)
        for result in results:
            if isinstance(result, _Worker):
                self._idle.put_nowait(result)
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            await self.close()
            raise errors[0]

    async def run(
        self, function: Callable[..., Any], args: tuple[Any, ...], timeout: float, queue_timeout: float
    ) -> Any:
        """Run ``function(*args)`` in a free worker and return its result.

        Args:
            function: a module-level function (pickled by reference).
            timeout: seconds the task may run once a worker has it; past that the worker is killed.
            queue_timeout: seconds to wait for a free worker.

        Raises:
            PoolBusyError: no worker became free within ``queue_timeout``.
            TaskTimeoutError: the task ran past ``timeout`` (its worker was killed and replaced).
            TaskError: the task failed (also when its worker died).
        """
        if self._closed:
            raise PoolBusyError("the server is shutting down")
        try:
            worker = await asyncio.wait_for(self._idle.get(), queue_timeout)
        except TimeoutError:
            raise PoolBusyError(f"all {self.size} solver processes stayed busy for {queue_timeout:g} s") from None
        # The receiving thread is shielded so that, after a timeout or a cancellation, the worker
        # is killed first and the thread is then awaited (it ends with EOF) before the pipe closes.
        receiving = self._in_thread(worker.connection.recv)
        try:
            worker.connection.send((function, args))
            status, payload = await asyncio.wait_for(asyncio.shield(receiving), timeout)
        except TimeoutError:
            self._replace(worker, receiving)
            raise TaskTimeoutError(f"stopped after {timeout:g} s") from None
        except (EOFError, OSError) as error:
            self._replace(worker, receiving)
            code = worker.process.exitcode
            raise TaskError(500, f"solver process died (exit code {code})") from error
        except BaseException:  # cancelled (client gone) or anything unexpected: the worker's state is unknown
            self._replace(worker, receiving)
            raise
        self._idle.put_nowait(worker)
        if status == "error":
            raise payload
        return payload

    async def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones are killed."""
        self._closed = True
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        idle = set()
        while not self._idle.empty():
            idle.add(self._idle.get_nowait())
        for worker in list(self._workers):
            if worker in idle:
                with contextlib.suppress(OSError):
                    worker.connection.send(None)
            else:
                worker.process.kill()
        for worker in list(self._workers):
            await self._in_thread(worker.process.join, _EXIT_WAIT_S)
            if worker.process.is_alive():
                worker.process.kill()
                await self._in_thread(worker.process.join, _EXIT_WAIT_S)
            if worker in idle:  # a busy worker's pipe is closed by the run() that owns it
                worker.connection.close()
            self._workers.discard(worker)

    # ---------------------------------------------------------------- internals

    def _in_thread(self, function: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    async def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        # Not a daemon, so that a solve may fork search processes (tabu-pr); a worker ends itself when the
        # server's end of its pipe closes, and close() stops the others.
        process = self._context.Process(
            target=_worker_main, args=(child, self._learned, self._setup), name="jssp-solver", daemon=False
        )
        await self._in_thread(process.start)
        child.close()
        worker = _Worker(process, parent)
        self._workers.add(worker)
        ready = await self._in_thread(parent.poll, self._start_timeout)
        try:
            if not ready:
                raise RuntimeError(f"solver process did not start within {self._start_timeout:g} s")
            _, methods = await self._in_thread(parent.recv)
        except (EOFError, OSError, RuntimeError) as error:
            await self._retire(worker, None)
            raise RuntimeError(f"solver process failed to start (exit code {process.exitcode}): {error}") from None
        self._methods = methods
        return worker

    def _replace(self, worker: _Worker, receiving: asyncio.Future[Any] | None) -> None:
        """Kill ``worker`` and start another in its place, in the background."""
        task = asyncio.get_running_loop().create_task(self._retire_and_restart(worker, receiving))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _retire_and_restart(self, worker: _Worker, receiving: asyncio.Future[Any] | None) -> None:
        await self._retire(worker, receiving)
        if self._closed:
            return
        try:
            self._idle.put_nowait(await self._start_worker())
        except RuntimeError:
            logger.exception("could not replace a solver process; %d left", len(self._workers))

    async def _retire(self, worker: _Worker, receiving: asyncio.Future[Any] | None) -> None:
        worker.process.kill()
        await self._in_thread(worker.process.join, _EXIT_WAIT_S)
        if receiving is not None:
            with contextlib.suppress(Exception):
                await receiving
        worker.connection.close()
        self._workers.discard(worker)
