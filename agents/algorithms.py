"""The training algorithms of ``train.py``: subcommand name -> (config dataclass, ``main``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents import imitation, lockstep_ppo, ppo, self_labelling
from agents.blocking import ppo as blocking_ppo
from agents.harness import RunContext
from agents.improvement import training as improvement_training

ALGORITHMS: dict[str, tuple[Callable[..., Any], Callable[[Any], RunContext]]] = {
    "ppo": (ppo.PPOConfig, ppo.main),
    "ppo-lockstep": (lockstep_ppo.LockstepPPOConfig, lockstep_ppo.main),
    "imitation": (imitation.ImitationConfig, imitation.main),
    "improvement": (improvement_training.ImprovementConfig, improvement_training.main),
    "self-labelling": (self_labelling.SelfLabellingConfig, self_labelling.main),
    "ppo-isbjssp": (blocking_ppo.BlockingPPOConfig, blocking_ppo.main),
}
