"""Gymnasium environment of the blocking job shop with shutdowns: one question of the simulator per step.

The observation is the *dynamic* disjunctive graph of Wong et al. (2023): operations that have left
their machine are removed, and what the shop is doing now is in the features of the ones that
remain (the operation a job holds its machine with, processing or blocked; the operations not yet
entered) and in a typed arc from the operation holding a machine to every job's next operation that
waits for that machine. Down machines and the current time are features. Everything comes from the
:class:`~jssp.blocking.simulator.BlockingState`'s public arrays, never from its calendar, so a policy
trained here sees no future.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from jssp.blocking.calendar import MODES, Interruptions
from jssp.blocking.lookahead import expected_downtime, lookahead_makespans
from jssp.blocking.simulator import (
    DOWN,
    HELD_MACHINE,
    HOLDER,
    NEXT_OP,
    READY,
    REMAINING,
    WORK_LEFT,
    BlockingState,
    JammedError,
)
from jssp.env import InstanceSource, check_padding, draw_instance, graph_spaces, padding_size, precedence_edges
from jssp.instance import Instance

BLOCKING_NODE_FEATURES = (
    "gone",  # 1 once the operation has left its machine (and on route padding): the node is dropped
    "duration",  # processing time / time scale
    "on_machine",  # 1 for the operation a job now holds its machine with
    "remaining",  # processing left (the whole duration before entering) / time scale
    "blocked",  # 1 when the operation has finished processing and waits for its next machine
    "legal",  # 1 for a candidate: the job's next operation may enter its machine now
    "next",  # 1 for the job's first operation not yet entered
    "machine_down",  # 1 while the operation's machine is down
    "machine_occupied",  # 1 while some job holds the operation's machine
    "machine_holder_blocked",  # 1 while the job holding the operation's machine is blocked on it
    "machine_queue",  # jobs whose next operation is on this machine / num_jobs
    "machine_remaining_work",  # work not yet entered on the operation's machine / time scale
    "job_remaining_ops",  # operations of the job not yet left / width
    "job_remaining_work",  # processing left of the job / time scale
    "waiting",  # time blocked so far (now - end of processing) / time scale, on the blocked operation
    "now",  # current time / time scale
    "down_share",  # share of the machines down now
    "lookahead",  # candidates: makespan of the lookahead rule's continuation after it, minus now, / time scale
    "lookahead_regret",  # candidates: that makespan minus the best candidate's, / time scale
    "lookahead_best",  # 1 for the candidates whose continuation ends first
)
NUM_BLOCKING_FEATURES = len(BLOCKING_NODE_FEATURES)
_F = {name: index for index, name in enumerate(BLOCKING_NODE_FEATURES)}


@dataclass(frozen=True)
class EpisodeConstants:
    """What :func:`observe` needs of an instance that no step changes: computed once per episode.

    Shapes:
        precedence_edges: ``(2, max_jobs * (max_width - 1))``.
    """

    precedence_edges: npt.NDArray[np.int64]
    scale: float
    """Time scale of the features and rewards: the instance's trivial lower bound (at least 1)."""

    @classmethod
    def of(cls, instance: Instance, max_jobs: int, max_width: int) -> EpisodeConstants:
        return cls(precedence_edges(instance, max_jobs, max_width), float(max(instance.trivial_lower_bound(), 1)))


def observe(
    state: BlockingState,
    max_jobs: int,
    max_machines: int,
    max_width: int,
    constants: EpisodeConstants | None = None,
    lookahead: str | None = None,
    downtime: int = 1,
    hold: bool = False,
) -> dict[str, np.ndarray]:
    """The padded observation of ``state`` at its current question (see :class:`BlockingEnv`).

    Args:
        constants: the instance's :class:`EpisodeConstants` from an earlier call, reused instead of rebuilt.
        lookahead: a compiled rule whose continuation after each candidate, on the calendar known
            now (:mod:`jssp.blocking.lookahead`), fills the lookahead features; None leaves them 0.
        downtime: the expected length of a shutdown, for the lookahead's repairs in progress.
        hold: add the hold action after the ``max_jobs`` job slots (``candidates`` -1 there, ``action_mask``
            :attr:`BlockingState.can_hold`).
    """
    instance = state.instance
    num_jobs, width = instance.num_jobs, instance.width
    machines, durations, lengths = instance.machines, instance.durations, instance.lengths
    job_state, machine_state = state.job_state, state.machine_state
    if constants is None:
        constants = EpisodeConstants.of(instance, max_jobs, max_width)
    scale = constants.scale
    now = state.now
    next_op = job_state[NEXT_OP]  # (num_jobs,)
    held = job_state[HELD_MACHINE] >= 0
    first = next_op - held  # first operation not yet left, per job
    op_index = np.arange(width)[None, :]  # (1, width)
    real = instance.valid  # (num_jobs, width)
    remaining_op = real & (op_index >= first[:, None])  # (num_jobs, width): the nodes
    on_machine = held[:, None] & (op_index == (next_op - 1)[:, None])
    unentered = real & (op_index >= next_op[:, None])
    is_next = unentered & (op_index == next_op[:, None])
    blocked = on_machine & (job_state[REMAINING] == 0)[:, None]
    safe_machines = np.where(real, machines, 0)
    holder = machine_state[HOLDER]  # (num_machines,)
    occupied = holder >= 0
    holder_blocked = occupied & (job_state[REMAINING, np.maximum(holder, 0)] == 0)
    down = machine_state[DOWN] == 1
    waiting_jobs = next_op < lengths
    queue = np.bincount(machines[np.flatnonzero(waiting_jobs), next_op[waiting_jobs]], minlength=instance.num_machines)
    machine_work = np.bincount(safe_machines[unentered], durations[unentered], minlength=instance.num_machines)
    remaining = np.where(unentered, durations, 0) + np.where(on_machine, job_state[REMAINING][:, None], 0)
    job_work = job_state[WORK_LEFT] + np.where(held, job_state[REMAINING], 0)

    features = np.zeros((num_jobs, width, NUM_BLOCKING_FEATURES), dtype=np.float32)
    features[..., _F["duration"]] = durations / scale
    features[..., _F["on_machine"]] = on_machine
    features[..., _F["remaining"]] = remaining / scale
    features[..., _F["blocked"]] = blocked
    features[..., _F["legal"]] = is_next & state.mask[:, None]
    features[..., _F["next"]] = is_next
    features[..., _F["machine_down"]] = down[safe_machines]
    features[..., _F["machine_occupied"]] = occupied[safe_machines]
    features[..., _F["machine_holder_blocked"]] = holder_blocked[safe_machines]
    features[..., _F["machine_queue"]] = queue[safe_machines] / num_jobs
    features[..., _F["machine_remaining_work"]] = machine_work[safe_machines] / scale
    features[..., _F["job_remaining_ops"]] = ((lengths - first) / width)[:, None]
    features[..., _F["job_remaining_work"]] = (job_work / scale)[:, None]
    features[..., _F["waiting"]] = np.where(blocked, (now - job_state[READY])[:, None] / scale, 0.0)
    features[..., _F["now"]] = now / scale
    features[..., _F["down_share"]] = down.mean()
    if lookahead is not None and len(np.flatnonzero(state.mask)):
        makespans = lookahead_makespans(state, lookahead, downtime)
        jobs = np.flatnonzero(state.mask)
        best = makespans[jobs].min()
        ops = next_op[jobs]
        features[jobs, ops, _F["lookahead"]] = (makespans[jobs] - now) / scale
        features[jobs, ops, _F["lookahead_regret"]] = (makespans[jobs] - best) / scale
        features[jobs, ops, _F["lookahead_best"]] = makespans[jobs] == best
    features[~remaining_op] = 0.0
    features[..., _F["gone"]] = ~remaining_op

    max_nodes = max_jobs * max_width
    node_features = np.zeros((max_nodes, NUM_BLOCKING_FEATURES), dtype=np.float32)
    node_features[: num_jobs * width] = features.reshape(num_jobs * width, -1)
    node_features[num_jobs * width :, _F["gone"]] = 1.0
    op_machine = np.full(max_nodes, -1, dtype=np.int64)
    op_machine[: num_jobs * width] = np.where(real, machines, -1).reshape(-1)

    # Arc from the operation holding a machine to each job's next operation that waits for that machine.
    machine_edges = np.full((2, max_nodes), -1, dtype=np.int64)
    jobs = np.flatnonzero(waiting_jobs)
    wanted = machines[jobs, next_op[jobs]]
    holders = holder[wanted]
    has_holder = (holders >= 0) & (holders != jobs)
    jobs, holders = jobs[has_holder], holders[has_holder]
    machine_edges[0, : len(jobs)] = holders * width + next_op[holders] - 1
    machine_edges[1, : len(jobs)] = jobs * width + next_op[jobs]

    candidates = np.full(max_jobs + hold, -1, dtype=np.int64)
    legal = np.flatnonzero(state.mask)
    candidates[legal] = legal * width + next_op[legal]
    action_mask = np.zeros(max_jobs + hold, dtype=np.int8)
    action_mask[legal] = 1
    if hold:
        action_mask[max_jobs] = state.can_hold
    return {
        "node_features": node_features,
        "precedence_edges": constants.precedence_edges,
        "machine_edges": machine_edges,
        "op_machine": op_machine,
        "num_nodes": np.array([num_jobs * width], dtype=np.int64),
        "candidates": candidates,
        "action_mask": action_mask,
    }


def observation_spaces(max_jobs: int, max_machines: int, max_width: int, hold: bool = False) -> spaces.Dict:
    """The observation space of :class:`BlockingEnv` for a padding size (``hold``: one more action slot)."""
    max_nodes = max_jobs * max_width
    return spaces.Dict(
        {
            **graph_spaces(max_jobs, max_machines, NUM_BLOCKING_FEATURES, max_width),
            "candidates": spaces.Box(-1, max_nodes - 1, (max_jobs + hold,), np.int64),
            "action_mask": spaces.Box(0, 1, (max_jobs + hold,), np.int8),
        }
    )


class BlockingEnv(gym.Env[dict[str, np.ndarray], int]):
    """Answer the questions of the blocking-shop simulator, one per step, until every job has left.

    Each episode draws an instance and a shutdown rate, and a calendar seed from ``np_random``; the
    simulator runs to its first question (an episode with none is redrawn). Machines with a single
    candidate are filled by the simulator itself, so every step is a real choice.

    Observation:
        ``Dict`` of fixed-shape ``Box`` spaces padded to ``max_jobs x max_width`` node slots (node
        ``job * width + op``, ``width`` the instance's longest route), as :class:`jssp.env.JobShopEnv`:

        * ``node_features``: ``(max_nodes, NUM_BLOCKING_FEATURES)`` float32, :data:`BLOCKING_NODE_FEATURES`;
          times are divided by the instance's trivial lower bound; operations that left their machine
          and route padding have only ``gone`` = 1;
        * ``precedence_edges``: ``(2, max_jobs * (max_width - 1))`` int64 job arcs, -1 padded;
        * ``machine_edges``: ``(2, max_nodes)`` int64, from the operation holding a machine to each
          waiting next operation on that machine, -1 padded;
        * ``op_machine``: ``(max_nodes,)`` int64, -1 on padding; ``num_nodes``: ``(1,)`` int64;
        * ``candidates``: ``(max_jobs,)`` int64 node of each candidate job's next operation, -1 otherwise;
        * ``action_mask``: ``(max_jobs,)`` int8.

        With ``hold`` both have one more entry, the hold action's (``candidates`` -1).

    Action:
        ``Discrete(max_jobs)``: the candidate job that enters its next machine now (from
        :meth:`action_masks`); any other raises ``ValueError``. With ``hold``, ``Discrete(max_jobs + 1)``:
        action ``max_jobs`` holds (:meth:`BlockingState.hold`: no job enters a machine until the next
        completion, shutdown or repair), legal while something is processing or a machine is down.

    Reward:
        Minus the time from this question to the next one (or to the end), divided by the
        instance's trivial lower bound: the return is minus the makespan, scaled, up to the time
        of the first question, which no action changes. An episode whose shop jams
        (:class:`~jssp.blocking.simulator.JammedError`) is truncated, its last reward minus the (long) time
        that passed until the jam was found.

    Args:
        instances: a fixed instance, a list (one drawn per episode) or a source with ``sample(rng)``.
        rates: shutdown rates, one drawn uniformly per episode; ``rate_range`` (low, high), when given,
            draws it uniformly from that interval instead, except with probability ``zero_rate_share``
            where it is 0.
        downtime: length of a shutdown (None: the instance's mean processing time).
        mode: ``resume`` or ``restart``.
        max_jobs, max_machines, max_width: padding; default to the largest instance or size.
        lookahead: rule of the lookahead features (None: they stay 0), see :func:`observe`.
        hold: offer the hold action.
    """

    metadata: dict[str, Any] = {"render_modes": []}
    observation_space: spaces.Dict  # type: ignore[assignment]
    action_space: spaces.Discrete  # type: ignore[assignment]

    MAX_REDRAWS = 100
    """Episodes drawn in a row without a question before reset gives up."""

    def __init__(
        self,
        instances: Instance | Sequence[Instance] | InstanceSource,
        rates: Sequence[float] = (0.0,),
        rate_range: tuple[float, float] | None = None,
        zero_rate_share: float = 0.0,
        downtime: int | tuple[int, int] | None = None,
        mode: str = "resume",
        max_jobs: int | None = None,
        max_machines: int | None = None,
        max_width: int | None = None,
        lookahead: str | None = None,
        hold: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"interruption mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not rates and rate_range is None:
            raise ValueError("give at least one shutdown rate")
        for rate in (*rates, *(rate_range or ())):
            Interruptions(rate=rate).check()
        if not 0.0 <= zero_rate_share <= 1.0:
            raise ValueError(f"zero_rate_share is a probability, got {zero_rate_share}")
        if isinstance(instances, Instance):
            instances = [instances]
        self._source = instances
        self.rates, self.rate_range, self.zero_rate_share = tuple(rates), rate_range, zero_rate_share
        self.downtime, self.mode, self.lookahead = downtime, mode, lookahead
        self._expected_downtime = 1
        self.max_jobs, self.max_machines, self.max_width = padding_size(instances, max_jobs, max_machines, max_width)
        self.hold = hold
        self.observation_space = observation_spaces(self.max_jobs, self.max_machines, self.max_width, hold)
        self.action_space = spaces.Discrete(self.max_jobs + hold)
        self.state: BlockingState | None = None
        self.rate = 0.0
        self._constants: EpisodeConstants | None = None
        self._last_observation: dict[str, np.ndarray] = {}

    def _draw_rate(self) -> float:
        if self.rate_range is None:
            return float(self.rates[int(self.np_random.integers(len(self.rates)))])
        if self.np_random.random() < self.zero_rate_share:
            return 0.0
        return float(self.np_random.uniform(*self.rate_range))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode (``options``: ``instance``, ``rate``, ``calendar_seed`` override the draws)."""
        super().reset(seed=seed)
        options = options or {}
        for _ in range(self.MAX_REDRAWS):
            instance = options.get("instance") or draw_instance(self._source, self.np_random)
            check_padding(instance, self.max_jobs, self.max_machines, self.max_width)
            self.rate = float(options["rate"]) if "rate" in options else self._draw_rate()
            calendar_seed = int(options.get("calendar_seed", self.np_random.integers(2**31)))
            interruptions = Interruptions(rate=self.rate, downtime=self.downtime, seed=calendar_seed, mode=self.mode)
            try:
                self.state = BlockingState(instance, interruptions.calendar(instance), mode=self.mode)
            except JammedError:
                if "instance" in options:
                    raise
                continue
            if not self.state.done:
                break
            if "instance" in options:
                raise ValueError(f"instance {instance.name} needs no decision under these settings")
        else:
            raise RuntimeError(f"{self.MAX_REDRAWS} episodes in a row needed no decision")
        self._constants = EpisodeConstants.of(instance, self.max_jobs, self.max_width)
        self._expected_downtime = expected_downtime(interruptions.resolved_downtime(instance))
        return self._observe(), {"rate": self.rate}

    def _observe(self) -> dict[str, np.ndarray]:
        assert self.state is not None
        self._last_observation = observe(
            self.state,
            self.max_jobs,
            self.max_machines,
            self.max_width,
            self._constants,
            self.lookahead,
            self._expected_downtime,
            self.hold,
        )
        return self._last_observation

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        before = self.state.now
        info: dict[str, Any] = {"rate": self.rate}
        jammed = False
        try:
            if self.hold and action == self.max_jobs:
                self.state.hold()
            else:
                self.state.step(int(action))
        except JammedError:
            jammed = True
        assert self._constants is not None
        reward = -(self.state.now - before) / self._constants.scale
        if jammed:
            # The shop cannot practically finish (see JammedError): the episode is cut off, the last observation
            # stands, and the reward is minus the time that passed until the jam was found (thousands of events),
            # so that a policy cannot end its episodes early by jamming the shop (with a hold action it could).
            info["jammed"] = True
            return self._last_observation, float(reward), False, True, info
        if self.state.done:
            info["makespan"] = self.state.now
        return self._observe(), float(reward), self.state.done, False, info

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """Legal actions (True = the job is a candidate), padded to ``max_jobs`` (then the hold action's)."""
        mask = np.zeros(self.max_jobs + self.hold, dtype=np.bool_)
        if self.state is not None:
            mask[: self.state.instance.num_jobs] = self.state.mask
            if self.hold:
                mask[self.max_jobs] = self.state.can_hold
        return mask
