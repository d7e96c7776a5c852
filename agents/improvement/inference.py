"""Improving a complete schedule with a trained move policy outside SB3 (Zhang et al., ICLR 2024, L2S).

One network call per step scores the current N5 moves (on the CPU through the compiled
:class:`agents.lockstep.CompleteGraphDecoder`); the chosen move is applied and the new
schedule evaluated with the compiled longest-path kernel inside
:class:`jssp.improvement_env.ImprovementEnv`, which also keeps the best schedule found.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from agents.improvement.policy import ImprovementPolicy
from agents.inference import _to_tensors
from agents.lockstep import CompleteGraphDecoder
from jssp.improvement_env import ImprovementEnv
from jssp.instance import Instance
from jssp.schedule import Schedule

DEFAULT_TABU_TENURE = 8
"""Tabu tenure of checkpoints whose config does not name one."""


@torch.inference_mode()
def improve(
    policy: ImprovementPolicy,
    instance: Instance,
    start: Schedule,
    steps: int,
    temperature: float = 0.0,
    seed: int = 0,
) -> Schedule:
    """Apply ``steps`` moves chosen by the policy to ``start``; return the best schedule seen.

    Args:
        policy: a trained :class:`ImprovementPolicy`; its checkpoint's inference ``tabu_tenure`` masks
            recently reversed swaps, as in training.
        start: a complete schedule of ``instance``.
        steps: moves to apply (fewer if the schedule becomes provably optimal).
        temperature: 0 picks the highest-scoring move; above 0 samples from the softmax of the
            logits divided by it.
        seed: seed of the sampling.

    Returns:
        the best schedule found (never worse than ``start``), with ``info["start"]`` and
        ``info["steps"]`` (moves applied).
    """
    if steps < 0 or temperature < 0:
        raise ValueError("steps and temperature must be non-negative")
    began = time.perf_counter()
    device = policy.device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    tenure = int(policy.metadata.get("inference", {}).get("tabu_tenure", DEFAULT_TABU_TENURE))
    env = ImprovementEnv(instance, episode_steps=max(steps, 1), tabu_tenure=tenure, illegal_action="raise")
    compiled = CompleteGraphDecoder(policy, instance) if device.type == "cpu" else None
    observation, _ = env.reset(seed=seed, options={"instance": instance, "schedule": start})
    applied = 0
    with threadpool_limits(1, user_api="blas"):  # see agents.inference.single_thread
        while applied < steps and env.moves:
            legal = np.flatnonzero(observation["action_mask"])
            if len(legal) == 1:
                action = int(legal[0])
            else:
                if compiled is not None:
                    logits = torch.from_numpy(compiled.logits(observation))
                else:
                    logits = policy.move_logits(_to_tensors([observation], device))[0].float().cpu()
                if temperature > 0:
                    action = int(torch.multinomial(torch.softmax(logits / temperature, dim=0), 1, generator=generator))
                else:
                    action = int(torch.argmax(logits))
            observation, _, _, _, _ = env.step(action)
            applied += 1
    schedule = env.best_schedule()
    schedule.seconds = time.perf_counter() - began
    schedule.info.update(start=start.makespan, steps=applied)
    return schedule
