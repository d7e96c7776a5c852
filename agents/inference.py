"""Solving with a trained policy outside SB3: greedy decoding and best-of-K sampling.

Both run the policy's own modules on observations of any size, so a policy trained on 10x10
schedules 100x20 instances. Every decoding step with a single legal job skips the network.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from agents.policy import JobShopPolicy
from jssp.env import JobShopEnv
from jssp.instance import Instance
from jssp.schedule import Schedule


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when a GPU is present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _to_tensors(observations: list[dict[str, np.ndarray]], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.stack([obs[key] for obs in observations])).to(device) for key in observations[0]}


def _single_env(instance: Instance, scheme: str) -> JobShopEnv:
    return JobShopEnv(instance, scheme=scheme, illegal_action="raise")


@torch.inference_mode()
def greedy_schedule(policy: JobShopPolicy, instance: Instance, scheme: str = "non-delay") -> Schedule:
    """Dispatch the highest-scoring legal job at every step."""
    began = time.perf_counter()
    device = policy.device
    env = _single_env(instance, scheme)
    observation, _ = env.reset(seed=0)
    done = False
    while not done:
        mask = observation["action_mask"]
        legal = np.flatnonzero(mask)
        if len(legal) == 1:
            action = int(legal[0])
        else:
            logits = policy.job_logits(_to_tensors([observation], device))
            action = int(torch.argmax(logits[0]).item())
        observation, _, done, _, _ = env.step(action)
    state = env.state
    assert state is not None
    return Schedule(instance, state.start_times.copy(), seconds=time.perf_counter() - began)


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

    One batched network call per step serves every rollout (each episode has exactly
    ``num_operations`` steps, so they stay in lockstep). With ``include_greedy`` the first
    rollout decodes greedily, so the result is never worse than ``gnn``.

    Args:
        temperature: logits are divided by it before sampling (lower = closer to greedy).
    """
    if num_samples < 1 or temperature <= 0:
        raise ValueError("num_samples must be >= 1 and temperature > 0")
    began = time.perf_counter()
    device = policy.device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    envs = [_single_env(instance, scheme) for _ in range(num_samples)]
    observations = [env.reset(seed=seed + index)[0] for index, env in enumerate(envs)]
    for _ in range(instance.num_operations):
        masks = np.stack([obs["action_mask"] for obs in observations])
        counts = masks.sum(axis=1)
        actions = masks.argmax(axis=1)
        choosing = np.flatnonzero(counts > 1)
        if len(choosing):
            logits = policy.job_logits(_to_tensors([observations[i] for i in choosing], device)).float().cpu()
            sampled = torch.multinomial(torch.softmax(logits / temperature, dim=1), 1, generator=generator).squeeze(1)
            if include_greedy and choosing[0] == 0:
                sampled[0] = torch.argmax(logits[0])
            actions[choosing] = sampled.numpy()
        observations = [env.step(int(action))[0] for env, action in zip(envs, actions, strict=True)]
    makespans = [env.state.makespan for env in envs if env.state is not None]
    best = envs[int(np.argmin(makespans))].state
    assert best is not None
    return Schedule(instance, best.start_times.copy(), seconds=time.perf_counter() - began)
