"""Gymnasium construction environment over the disjunctive graph.

Nodes are operations (node id ``job * width + op``, ``width`` the longest route); arcs are the
job-precedence arcs (static) and the machine arcs of the partial schedule (consecutive operations
on a machine, added as operations are dispatched). Routes may be general (:class:`jssp.instance.Instance`):
the padding cells after a job's last operation are slots of the node array but not nodes (machine
-1, no arcs, never candidates, marked as scheduled so an encoder that drops dispatched operations
drops them too). The state itself is a :class:`jssp.dispatch.DispatchState`;
this module only samples instances, turns the state into padded arrays and computes rewards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from jssp.dispatch import SCHEMES, DispatchState
from jssp.instance import Instance

NODE_FEATURES = (
    "scheduled",  # 1 once the operation is dispatched
    "duration",  # processing time / time scale
    "start",  # actual start, or earliest start given the job's progress, / time scale
    "end",  # actual end, or earliest end, / time scale
    "legal",  # 1 for the next operation of a legal job
    "job_remaining_ops",  # unscheduled operations of the job / width (num_machines on classical instances)
    "job_remaining_work",  # unscheduled work of the job / time scale
    "machine_remaining_work",  # unscheduled work of the operation's machine / time scale
    "machine_ready",  # when the operation's machine is next free / time scale
)
NUM_NODE_FEATURES = len(NODE_FEATURES)


class InstanceSource(Protocol):
    """Anything that draws instances from a generator (e.g. ``jssp.generators.InstanceSampler``)."""

    def sample(self, rng: np.random.Generator) -> Instance: ...


class JobShopEnv(gym.Env[dict[str, np.ndarray], int]):
    """Dispatch one operation per step until the schedule is complete.

    Observation:
        ``Dict`` of fixed-shape ``Box`` spaces, padded to ``max_jobs x max_width`` node slots
        (``max_nodes``):

        * ``node_features``: ``(max_nodes, NUM_NODE_FEATURES)`` float32, see :data:`NODE_FEATURES`;
          time features are divided by the instance's initial lower bound, so they stay near
          [0, 1] whatever the instance size; route padding has only ``scheduled`` = 1;
        * ``precedence_edges``: ``(2, max_jobs * (max_width - 1))`` int64 job arcs, -1 padded;
        * ``machine_edges``: ``(2, max_nodes)`` int64 machine arcs of the partial schedule, -1 padded;
        * ``candidates``: ``(max_jobs,)`` int64 node of each job's next operation, -1 if none;
        * ``action_mask``: ``(max_jobs,)`` int8, 1 where the job is legal;
        * ``op_machine``: ``(max_nodes,)`` int64 machine of each operation, -1 on route padding and padded slots;
        * ``num_nodes``: ``(1,)`` int64, node slots of the current instance (``num_jobs * width``;
          the operations on classical instances).

    Action:
        ``Discrete(max_jobs)``: the job whose next operation is dispatched. Legal jobs come
        from :meth:`action_masks` (True = legal) and depend on ``scheme``
        (:mod:`jssp.dispatch`). An illegal action leaves the state unchanged and is penalised
        by ``-1`` (``illegal_action="penalize"``, so random-action checkers can run) or raises
        ``ValueError`` (``illegal_action="raise"``).

    Reward:
        Decrease of the lower bound on the makespan (:meth:`DispatchState.lower_bound`),
        divided by the initial lower bound. The episode return is therefore
        ``(LB_0 - makespan) / LB_0``: maximising it minimises the makespan.

    Args:
        instances: a fixed instance, a list (one drawn uniformly per episode) or a source with
            ``sample(rng)``; ``reset(options={"instance": ...})`` overrides it for one episode.
        max_jobs, max_machines: padding sizes; default to the largest given instance or size.
        max_width: padding of the routes (operations per job); defaults to the longest given route,
            ``2 * max_machines`` for a sampler that draws general routes, else ``max_machines``.
        scheme: schedule-generation scheme, one of :data:`jssp.dispatch.SCHEMES`.
        illegal_action: ``"penalize"`` or ``"raise"``.
    """

    metadata: dict[str, Any] = {"render_modes": []}
    observation_space: spaces.Dict  # type: ignore[assignment]
    action_space: spaces.Discrete  # type: ignore[assignment]

    def __init__(
        self,
        instances: Instance | Sequence[Instance] | InstanceSource,
        max_jobs: int | None = None,
        max_machines: int | None = None,
        scheme: str = "active",
        illegal_action: str = "penalize",
        max_width: int | None = None,
    ) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
        if illegal_action not in ("penalize", "raise"):
            raise ValueError("illegal_action must be 'penalize' or 'raise'")
        if isinstance(instances, Instance):
            instances = [instances]
        self._source = instances
        self.scheme = scheme
        self.illegal_action = illegal_action
        self.max_jobs, self.max_machines, self.max_width = padding_size(instances, max_jobs, max_machines, max_width)
        self.max_nodes = self.max_jobs * self.max_width
        self.observation_space, self.action_space = dispatcher_spaces(self.max_jobs, self.max_machines, self.max_width)
        self.state: DispatchState | None = None

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        instance = (options or {}).get("instance") or draw_instance(self._source, self.np_random)
        check_padding(instance, self.max_jobs, self.max_machines, self.max_width)
        self.state = DispatchState(instance, self.scheme)
        self._time_scale = float(max(self.state.lower_bound(), 1))
        self._bound = self.state.lower_bound()
        self._precedence_edges = precedence_edges(instance, self.max_jobs, self.max_width)
        self._op_machine = op_machines(instance, self.max_nodes)
        return self._observation(), {"instance": instance.name, "lower_bound": self._bound}

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        state = self._require_state()
        job = int(action)
        if not 0 <= job < state.instance.num_jobs or not state.mask[job]:
            if self.illegal_action == "raise":
                raise ValueError(f"job {job} is not a legal action")
            return self._observation(), -1.0, False, False, {"illegal_action": True}
        state.step(job)
        bound = state.lower_bound()
        reward = (self._bound - bound) / self._time_scale
        self._bound = bound
        info: dict[str, Any] = {}
        if state.done:
            info["makespan"] = state.makespan
        return self._observation(), float(reward), state.done, False, info

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """Legal jobs, padded to ``max_jobs`` (True = legal); read by sb3-contrib's MaskablePPO."""
        state = self._require_state()
        mask = np.zeros(self.max_jobs, dtype=bool)
        mask[: state.instance.num_jobs] = state.mask
        return mask

    # ------------------------------------------------------------------ helpers

    def _require_state(self) -> DispatchState:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        return self.state

    def _observation(self) -> dict[str, np.ndarray]:
        state = self._require_state()
        instance = state.instance
        num_jobs, width = instance.num_jobs, instance.width
        num_slots = num_jobs * width
        scale = self._time_scale
        durations = instance.durations
        valid = instance.valid
        # scheduled: (num_jobs, width); estimated ends chain unscheduled operations after job_ready.
        scheduled = np.arange(width)[None, :] < state.job_next_op[:, None]
        estimated_ends = state.job_ready[:, None] + np.cumsum(np.where(scheduled, 0, durations), axis=1)
        ends = np.where(scheduled, state.start_times + durations, estimated_ends)
        legal = np.zeros((num_jobs, width), dtype=bool)
        legal_jobs = np.flatnonzero(state.mask)
        legal[legal_jobs, state.job_next_op[legal_jobs]] = True

        features = np.zeros((self.max_nodes, NUM_NODE_FEATURES), dtype=np.float32)
        view = features[:num_slots].reshape(num_jobs, width, NUM_NODE_FEATURES)
        view[..., 0] = scheduled
        view[..., 1] = durations / scale
        view[..., 2] = (ends - durations) / scale
        view[..., 3] = ends / scale
        view[..., 4] = legal
        view[..., 5] = ((instance.lengths - state.job_next_op) / width)[:, None]
        view[..., 6] = (state.job_remaining_work / scale)[:, None]
        view[..., 7] = state.machine_remaining_work[instance.machines] / scale
        view[..., 8] = state.machine_ready[instance.machines] / scale
        if not instance.is_classical:
            view[~valid] = 0.0  # route padding (machine -1 read the last machine above) is no operation
            view[~valid, 0] = 1.0

        machine_edges = np.full((2, self.max_nodes), -1, dtype=np.int64)
        arcs = state.machine_arcs
        machine_edges[:, : arcs.shape[1]] = arcs
        candidates = np.full(self.max_jobs, -1, dtype=np.int64)
        unfinished = state.job_next_op < instance.lengths
        candidates[:num_jobs][unfinished] = (np.arange(num_jobs) * width + state.job_next_op)[unfinished]
        action_mask = np.zeros(self.max_jobs, dtype=np.int8)
        action_mask[:num_jobs] = state.mask
        return {
            "node_features": features,
            "precedence_edges": self._precedence_edges.copy(),
            "machine_edges": machine_edges,
            "candidates": candidates,
            "action_mask": action_mask,
            "op_machine": self._op_machine.copy(),
            "num_nodes": np.array([num_slots], dtype=np.int64),
        }


def padding_size(
    instances: Sequence[Instance] | InstanceSource,
    max_jobs: int | None,
    max_machines: int | None,
    max_width: int | None = None,
) -> tuple[int, int, int]:
    """Padding of an environment (jobs, machines, route width): the given sizes, else the largest
    instance or sampler size."""
    largest = _largest_size(instances)
    max_jobs, max_machines = max_jobs or largest[0], max_machines or largest[1]
    if not max_jobs or not max_machines:
        raise ValueError("max_jobs and max_machines are needed when instances come from a source without sizes")
    if not max_width:
        route_width = largest[2]
        if not isinstance(instances, Sequence) and getattr(instances, "general", 0.0) > 0:
            route_width = 2 * max_machines  # InstanceSampler's general routes have up to 2 * num_machines operations
        max_width = max(route_width, max_machines)
    return max_jobs, max_machines, max_width


def check_padding(instance: Instance, max_jobs: int, max_machines: int, max_width: int) -> None:
    """ValueError if ``instance`` does not fit an environment's padding."""
    if instance.num_jobs > max_jobs or instance.num_machines > max_machines or instance.width > max_width:
        raise ValueError(
            f"instance {instance.name} ({instance.shape}) exceeds the padding {max_jobs}x{max_machines} "
            f"(routes of up to {max_width} operations; its longest has {instance.width})"
        )


def dispatcher_spaces(max_jobs: int, max_machines: int, max_width: int) -> tuple[spaces.Dict, spaces.Discrete]:
    """Observation and action spaces of a :class:`JobShopEnv` of this padding (a checkpoint's, say)."""
    max_nodes = max_jobs * max_width
    observation = spaces.Dict(
        {
            **graph_spaces(max_jobs, max_machines, NUM_NODE_FEATURES, max_width),
            "candidates": spaces.Box(-1, max_nodes - 1, (max_jobs,), np.int64),
            "action_mask": spaces.Box(0, 1, (max_jobs,), np.int8),
        }
    )
    return observation, spaces.Discrete(max_jobs)


def graph_spaces(
    max_jobs: int, max_machines: int, num_features: int, max_width: int | None = None
) -> dict[str, spaces.Box]:
    """The observation entries every graph environment shares (node features, arcs, machines, size).

    ``max_width`` (routes' padding, default ``max_machines``) sets the node slots ``max_jobs * max_width``.
    """
    max_width = max_width or max_machines
    max_nodes = max_jobs * max_width
    max_precedence = max_jobs * max(max_width - 1, 1)
    return {
        "node_features": spaces.Box(0.0, np.inf, (max_nodes, num_features), np.float32),
        "precedence_edges": spaces.Box(-1, max_nodes - 1, (2, max_precedence), np.int64),
        "machine_edges": spaces.Box(-1, max_nodes - 1, (2, max_nodes), np.int64),
        "op_machine": spaces.Box(-1, max_machines - 1, (max_nodes,), np.int64),
        "num_nodes": spaces.Box(0, max_nodes, (1,), np.int64),
    }


def draw_instance(source: Sequence[Instance] | InstanceSource, rng: np.random.Generator) -> Instance:
    """One instance from a list (uniformly) or from a source with ``sample(rng)``."""
    if isinstance(source, Sequence):
        return source[int(rng.integers(len(source)))]
    return source.sample(rng)


def precedence_edges(instance: Instance, max_jobs: int, max_width: int) -> npt.NDArray[np.int64]:
    """Job arcs (node ``job * width + op`` -> ``op + 1`` within each route) padded with -1 to
    ``max_jobs * (max_width - 1)``.

    Shapes:
        returns ``(2, max_jobs * max(max_width - 1, 1))``.
    """
    edges = np.full((2, max_jobs * max(max_width - 1, 1)), -1, dtype=np.int64)
    width = instance.width
    nodes = np.arange(instance.num_jobs * width).reshape(instance.num_jobs, width)
    has_successor = instance.valid[:, 1:]  # (num_jobs, width - 1): op + 1 is an operation too
    sources, targets = nodes[:, :-1][has_successor], nodes[:, 1:][has_successor]
    edges[0, : len(sources)] = sources
    edges[1, : len(targets)] = targets
    return edges


def op_machines(instance: Instance, max_nodes: int) -> npt.NDArray[np.int64]:
    """Machine of every node slot (``job * width + op``), -1 on route padding and past the instance.

    Shapes:
        returns ``(max_nodes,)``.
    """
    op_machine = np.full(max_nodes, -1, dtype=np.int64)
    op_machine[: instance.machines.size] = instance.machines.ravel()
    return op_machine


def _largest_size(instances: Sequence[Instance] | InstanceSource) -> tuple[int, int, int]:
    """(jobs, machines, route width) of the largest instance; width 0 for a sampler (known from its sizes)."""
    if isinstance(instances, Sequence):
        if not instances:
            raise ValueError("no instances given")
        return (
            max(i.num_jobs for i in instances),
            max(i.num_machines for i in instances),
            max(i.width for i in instances),
        )
    sizes = getattr(instances, "sizes", None)
    if sizes:
        return max(size[0] for size in sizes), max(size[1] for size in sizes), 0
    return 0, 0, 0
