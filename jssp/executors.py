"""Where independent solves run: this process, a local process pool, or a Ray cluster.

Evaluations (``evaluate.py``, classical and blocking) and the imitation teacher (``train.py
imitation``) hand their tasks to one :class:`Executor` and receive each result as soon as it
finishes, so the caller can append it to its results file at once (a killed run keeps every
finished solve and continues with ``--resume``).

* ``local`` (:class:`LocalExecutor`): ``workers`` spawned processes, or this process for one.
* ``ray`` (:class:`RayExecutor`): every item is a Ray task that asks for the CPUs it will use
  (``cpus``: the threads of a CP-SAT solve, one for a rule or tabu search). An item's instance
  (a dataclass field ``instance``) is put in Ray's object store once and shared by every task
  that solves it, rather than pickled with each task. A task whose worker process dies is
  retried (``max_retries``); an error raised by the solve itself is not, and reaches the caller
  as with the local backend.

Ray is an optional extra (``pip install '.[ray]'``) and is imported only by :class:`RayExecutor`.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

BACKENDS = ("local", "ray")
"""Names of the executors (``--backend``)."""
RAY_INSTALL_HINT = "--backend ray needs Ray: pip install '.[ray]' (or pip install 'ray[default]')"


class BackendError(ValueError):
    """A backend that cannot be used here: Ray not installed, or its cluster out of reach."""


class Executor(Protocol):
    """Runs ``function(item, *args)`` for every item and yields ``(index, result)`` as each one finishes."""

    def run(
        self, function: Callable[..., Any], items: Sequence[Any], args: tuple[Any, ...], cpus: Sequence[int]
    ) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """This process (``workers`` = 1) or a pool of ``workers`` spawned processes, each set up by ``initializer``."""

    def __init__(self, workers: int = 1, initializer: Callable[[], None] | None = None) -> None:
        self.workers, self.initializer = workers, initializer

    def run(
        self, function: Callable[..., Any], items: Sequence[Any], args: tuple[Any, ...], cpus: Sequence[int]
    ) -> Iterator[tuple[int, Any]]:
        del cpus  # one solve per process; CP-SAT's threads are the solve's own
        if self.workers <= 1 or len(items) <= 1:
            if self.initializer is not None and items:  # this process is the worker: set it up as one, once
                _initialize_once(self.initializer)
            for index, item in enumerate(items):
                yield index, function(item, *args)
            return
        context = multiprocessing.get_context("spawn")
        setup = (os.getpid(), self.initializer)
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker, initargs=setup) as pool:
            futures = {pool.submit(function, item, *args): index for index, item in enumerate(items)}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def close(self) -> None:
        pass


PARENT_POLL_SECONDS = 0.5
"""How often a spawned worker looks whether the process that started it is still there."""


def _start_worker(parent: int, initializer: Callable[[], None] | None) -> None:
    """Set up a spawned worker: it exits when its parent is gone (an evaluation killed with SIGKILL leaves
    no orphan solving on), then runs the caller's ``initializer``."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()
    if initializer is not None:
        initializer()


def _exit_with_parent(parent: int) -> None:
    """Exit this process once ``parent`` is no longer its parent. The thread runs whenever the solve lets go of
    the GIL: at once in CP-SAT and between rules, at the next clock reading inside the tabu kernel."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


_INITIALIZED: set[str] = set()
"""Initializers already run in this (Ray worker) process, by qualified name."""


def _initialize_once(initializer: Callable[[], None]) -> None:
    """Run ``initializer`` unless this process already ran it (known by its qualified name, or a callable object by
    its ``repr``)."""
    qualname = getattr(initializer, "__qualname__", None)  # a callable object: known by its fields
    name = f"{initializer.__module__}.{qualname}" if qualname else repr(initializer)
    if name not in _INITIALIZED:
        initializer()
        _INITIALIZED.add(name)


def _run_initialized(
    function: Callable[..., Any], initializer: Callable[[], None] | None, item: Any, instance: Any, *args: Any
) -> Any:
    """The body of a Ray task: set the worker up once, put the shared instance back into the item, solve."""
    if initializer is not None:
        _initialize_once(initializer)
    if instance is not None:
        item = dataclasses.replace(item, instance=instance)
    return function(item, *args)


class RayExecutor:
    """Ray tasks on the cluster at ``address`` (``"auto"``: the one this machine belongs to, ``HOST:PORT``: a
    head node), or on a Ray started for this process on this machine (``address`` empty; ``num_cpus`` then
    caps it).

    Raises:
        BackendError: Ray is not installed (the message says how to install it), or the cluster at
            ``address`` cannot be joined.
    """

    def __init__(
        self,
        address: str = "",
        initializer: Callable[[], None] | None = None,
        max_retries: int = 3,
        num_cpus: int | None = None,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise BackendError(RAY_INSTALL_HINT) from None
        self._ray = ray
        self.initializer, self.max_retries = initializer, max_retries
        self._started = not ray.is_initialized()
        if self._started:
            settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                settings["address"] = address
            elif num_cpus is not None:
                settings["num_cpus"] = num_cpus
            try:
                ray.init(**settings)
            except (ConnectionError, RuntimeError) as error:
                raise BackendError(f"cannot join the Ray cluster at {address or 'this machine'}: {error}") from None
        self._task = ray.remote(max_retries=max_retries)(_run_initialized)

    def cluster_cpus(self) -> int:
        """CPUs of the whole cluster."""
        return int(self._ray.cluster_resources().get("CPU", 0))

    def run(
        self, function: Callable[..., Any], items: Sequence[Any], args: tuple[Any, ...], cpus: Sequence[int]
    ) -> Iterator[tuple[int, Any]]:
        ray = self._ray
        largest = max(self.cluster_cpus(), 1)
        shared: dict[int, Any] = {}  # id(instance) -> its object reference, so each instance travels once
        common = [ray.put(arg) for arg in args]
        pending = {}
        for index, item in enumerate(items):
            instance = getattr(item, "instance", None) if dataclasses.is_dataclass(item) else None
            if instance is not None:
                if id(instance) not in shared:
                    shared[id(instance)] = ray.put(instance)
                item, instance = dataclasses.replace(item, instance=None), shared[id(instance)]
            # A task asks for the CPUs it uses, but never for more than the cluster has (it would wait for ever).
            task = self._task.options(num_cpus=min(max(int(cpus[index]), 1), largest))
            pending[task.remote(function, self.initializer, item, instance, *common)] = index
        remaining = list(pending)
        while remaining:
            # Block for one result, then take every other one already done: one pass over the
            # outstanding references per batch of results, not per result.
            ready, remaining = ray.wait(remaining, num_returns=1)
            if remaining:
                done, remaining = ray.wait(remaining, num_returns=len(remaining), timeout=0)
                ready += done
            for reference in ready:
                yield pending.pop(reference), ray.get(reference)

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def make_executor(
    backend: str, workers: int = 1, initializer: Callable[[], None] | None = None, ray_address: str = ""
) -> Executor:
    """The executor of ``--backend``: ``local`` with ``workers`` processes, or ``ray`` at ``ray_address``.

    Raises:
        ValueError: an unknown backend.
        BackendError: ``ray`` without Ray installed, or with a cluster out of reach.
    """
    if backend == "local":
        return LocalExecutor(workers, initializer)
    if backend == "ray":
        return RayExecutor(ray_address, initializer)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
