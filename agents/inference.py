"""Solving with a trained policy outside SB3: greedy decoding and best-of-K sampling.

Both drive :class:`jssp.dispatch.DispatchState` directly and score jobs with
:class:`agents.lockstep.LockstepDecoder`, so a policy trained on 10x10 schedules 100x20
instances, and K sampled rollouts share one network call per step. Every step at which no
rollout has a choice skips the network. Greedy decoding of very large instances (from
:data:`LARGE_INSTANCE_OPERATIONS` on) updates the embeddings step by step instead
(:class:`agents.incremental.IncrementalDecoder`).
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import torch
from threadpoolctl import threadpool_limits

from agents.incremental import IncrementalDecoder, supports
from agents.lockstep import LockstepDecoder
from agents.policy import JobShopPolicy
from jssp.dispatch import DispatchState
from jssp.instance import Instance
from jssp.schedule import Schedule


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when a GPU is present, else the CPU.

    Raises:
        ValueError: naming ``--device`` when the device is malformed or not on this machine (``cuda``
            without a GPU or with a CPU build of torch, ``cuda:3`` with two GPUs, ``mps`` off Apple silicon).
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"--device must be auto, cpu, cuda, cuda:<index> or mps, got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        why = "this torch is a CPU build" if torch.version.cuda is None else "no GPU is visible"
        raise ValueError(f"--device {device}: CUDA is not available here ({why}); use --device cpu or auto")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ValueError(f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s)")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {device}: MPS is not available here; use --device cpu or auto")
    return resolved


def single_thread() -> None:
    """One torch intra-op thread and one BLAS thread (numpy's, used by the compiled decoder) in this process.

    Decoding graphs are small, and on a 2-core machine a second thread fights with parallel
    workers: a forward pass under load was 140x slower with two torch threads, and a greedy
    100x20 decoding 3.5x slower with two BLAS threads. ``greedy_schedule`` and ``sample_rollouts``
    hold BLAS to one thread themselves; torch's setting is left to the caller.
    """
    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")


def _to_tensors(observations: list[dict[str, np.ndarray]], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.stack([obs[key] for obs in observations])).to(device) for key in observations[0]}


LARGE_INSTANCE_OPERATIONS = 5_000
"""From this many operations on, :func:`greedy_schedule` keeps embeddings up to date step by step and
holds the graph embedding between exact passes (:mod:`agents.incremental`); below, every step is exact.
Every classical benchmark (at most 2,000 operations) is decoded exactly."""
GRAPH_REFRESH = 0.01
"""Share of the operations left that the incremental decoder dispatches between two exact passes."""


@torch.inference_mode()
def greedy_schedule(
    policy: JobShopPolicy, instance: Instance, scheme: str = "non-delay", refresh: float | None = None
) -> Schedule:
    """Dispatch the highest-scoring legal job at every step.

    Args:
        refresh: how the logits are computed. ``None``: exactly at every step below
            :data:`LARGE_INSTANCE_OPERATIONS` operations, from there on by the incremental decoder
            with :data:`GRAPH_REFRESH` (for two-layer policies; others stay exact). A number forces
            the incremental decoder with that share (0: an exact graph embedding at every step).
            Steps with a single legal job never call the network.
    """
    began = time.perf_counter()
    if refresh is None and instance.num_operations >= LARGE_INSTANCE_OPERATIONS and supports(policy):
        refresh = GRAPH_REFRESH
    state = DispatchState(instance, scheme)
    with threadpool_limits(1, user_api="blas"):  # see single_thread
        if refresh is None:
            decoder = LockstepDecoder(policy, instance)
            while not state.done:
                if state.num_legal == 1:
                    job = int(np.flatnonzero(state.mask)[0])
                else:
                    job = int(torch.argmax(decoder.logits([state])[0]).item())
                state.step(job)
        else:
            incremental = IncrementalDecoder(policy, instance, refresh)
            while not state.done:
                job = int(np.argmax(state.mask) if state.num_legal == 1 else np.argmax(incremental.logits(state)))
                state.step(job)
    schedule = Schedule(instance, state.start_times.copy(), seconds=time.perf_counter() - began)
    if refresh is not None:
        schedule.info["graph_refresh"] = refresh
    return schedule


@torch.inference_mode()
def sampled_schedule(
    policy: JobShopPolicy,
    instance: Instance,
    num_samples: int = 128,
    temperature: float = 1.0,
    seed: int = 0,
    scheme: str = "non-delay",
    include_greedy: bool = True,
) -> Schedule:
    """Best of ``num_samples`` rollouts sampled from the policy, all advanced together.

    One batched network call per step serves every rollout that has a choice (each episode
    has exactly ``num_operations`` steps, so they stay in lockstep). With ``include_greedy``
    the first rollout decodes greedily, so the result is never worse than ``gnn``.

    Args:
        temperature: logits are divided by it before sampling (lower = closer to greedy).
    """
    began = time.perf_counter()
    states, _ = sample_rollouts(policy, instance, num_samples, temperature, seed, scheme, include_greedy)
    best = states[int(np.argmin([state.makespan for state in states]))]
    return Schedule(instance, best.start_times.copy(), seconds=time.perf_counter() - began)


@torch.inference_mode()
def sample_rollouts(
    policy: JobShopPolicy,
    instance: Instance,
    num_samples: int,
    temperature: float = 1.0,
    seed: int = 0,
    scheme: str = "non-delay",
    include_greedy: bool = True,
) -> tuple[list[DispatchState], npt.NDArray[np.int64]]:
    """The finished states of ``num_samples`` rollouts and the job dispatched at every step of each.

    Shapes:
        actions: ``(num_samples, num_operations)``.
    """
    if num_samples < 1 or temperature <= 0:
        raise ValueError("num_samples must be >= 1 and temperature > 0")
    decoder = LockstepDecoder(policy, instance)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    states = [DispatchState(instance, scheme) for _ in range(num_samples)]
    actions = np.empty((num_samples, instance.num_operations), dtype=np.int64)
    with threadpool_limits(1, user_api="blas"):  # see single_thread
        for step in range(instance.num_operations):
            masks = np.stack([state.mask for state in states])
            actions[:, step] = masks.argmax(axis=1)
            choosing = np.flatnonzero(masks.sum(axis=1) > 1)
            if len(choosing):
                logits = decoder.logits([states[i] for i in choosing]).float().cpu()
                probabilities = torch.softmax(logits / temperature, dim=1)
                sampled = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
                if include_greedy and choosing[0] == 0:
                    sampled[0] = torch.argmax(logits[0])
                actions[choosing, step] = sampled.numpy()
            for state, action in zip(states, actions[:, step], strict=True):
                state.step(int(action))
    return states, actions
