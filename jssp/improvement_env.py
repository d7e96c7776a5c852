"""Gymnasium improvement environment: apply one N5 move per step to a complete schedule.

The improvement mode of Zhang et al. (ICLR 2024, "Deep reinforcement learning guided
improvement heuristic for job shop scheduling", L2S): a state is a complete solution, i.e. the
disjunctive graph with every machine order fixed; an action swaps two adjacent operations of a
critical block (the N5 neighbourhood, Nowicki & Smutnicki 1996, :func:`jssp.local_search.n5_moves`);
the reward is the decrease of the best makespan found so far. Nodes are operations (node id
``job * width + op``), in the same padded layout as :class:`jssp.env.JobShopEnv` (route padding
is a node slot with machine -1 and no arcs), so the construction policy's graph encoder reads
these observations too. Routes may be general: a machine's order may hold a job several times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from jssp.env import (
    InstanceSource,
    check_padding,
    draw_instance,
    graph_spaces,
    op_machines,
    padding_size,
    precedence_edges,
)
from jssp.instance import Instance
from jssp.local_search import Move, Sequences, longest_paths, n5_moves, operation_index
from jssp.rules import dispatch
from jssp.schedule import Schedule

IMPROVEMENT_FEATURES = (
    "duration",  # processing time / time scale
    "start",  # start in the current semi-active schedule / time scale
    "end",  # end / time scale
    "tail",  # longest path from the operation's end to the end of the schedule / time scale
    "slack",  # makespan - (start + duration + tail), / time scale: 0 on every longest path
    "critical",  # 1 where the slack is 0
    "gap_to_best",  # (current makespan - best makespan so far) / time scale, the same on every node
)
NUM_IMPROVEMENT_FEATURES = len(IMPROVEMENT_FEATURES)
START_RULES = ("spt", "mwkr", "fdd-mwkr", "random")
"""Dispatching rules the default start schedule is drawn from (one uniformly per episode)."""


def improvement_spaces(max_jobs: int, max_machines: int, max_width: int) -> tuple[spaces.Dict, spaces.Discrete]:
    """Observation and action spaces of an :class:`ImprovementEnv` of this padding (a checkpoint's, say)."""
    max_nodes, max_moves = max_jobs * max_width, max_moves_for(max_jobs, max_machines, max_width)
    observation = spaces.Dict(
        {
            **graph_spaces(max_jobs, max_machines, NUM_IMPROVEMENT_FEATURES, max_width),
            "move_nodes": spaces.Box(-1, max_nodes - 1, (max_moves, 2), np.int64),
            "action_mask": spaces.Box(0, 1, (max_moves,), np.int8),
        }
    )
    return observation, spaces.Discrete(max_moves)


def max_moves_for(max_jobs: int, max_machines: int, max_width: int | None = None) -> int:
    """Padding of the move list: N5 never yields more than ``max_jobs * max_width - 1`` moves.

    Every N5 move swaps two adjacent positions of one machine and the moves are distinct, so
    there are fewer of them than operations: ``max_machines * (max_jobs - 1)`` on classical
    instances (``max_width`` = ``max_machines``, the default), ``max_jobs * max_width - 1`` when
    routes may be general; the bound is never truncating. In practice a critical path has a few
    blocks and N5 at most two moves per block.
    """
    if max_width is None or max_width == max_machines:
        return max(max_machines * (max_jobs - 1), 1)
    return max(max_jobs * max_width - 1, 1)


class ImprovementEnv(gym.Env[dict[str, np.ndarray], int]):
    """Improve a complete schedule one N5 move at a time, keeping the best schedule found.

    Observation:
        ``Dict`` of fixed-shape ``Box`` spaces, padded to ``max_jobs x max_width`` node slots
        (``max_nodes``), as :class:`jssp.env.JobShopEnv`:

        * ``node_features``: ``(max_nodes, NUM_IMPROVEMENT_FEATURES)`` float32, see
          :data:`IMPROVEMENT_FEATURES`; times are divided by the instance's trivial lower bound;
          zero on route padding;
        * ``precedence_edges``: ``(2, max_jobs * (max_width - 1))`` int64 job arcs, -1 padded;
        * ``machine_edges``: ``(2, max_nodes)`` int64 machine arcs of the current solution
          (consecutive operations on each machine), -1 padded;
        * ``move_nodes``: ``(max_moves, 2)`` int64 nodes of the two operations each N5 move
          swaps (first the one before the other on its machine), -1 padded;
        * ``action_mask``: ``(max_moves,)`` int8, 1 where the move is legal;
        * ``op_machine``: ``(max_nodes,)`` int64 machine of each operation, -1 on route padding and padded slots;
        * ``num_nodes``: ``(1,)`` int64, node slots of the current instance (``num_jobs * width``).

        ``max_moves`` is :func:`max_moves_for` the padding, an exact bound, so no move is dropped.

    Action:
        ``Discrete(max_moves)``: index into the current N5 move list. A move that swaps back a
        pair swapped in the last ``tabu_tenure`` steps is masked (a short tabu list against
        two-step cycles), unless every move is. When the critical path is a single block, N5
        is empty and the schedule optimal; the episode terminates, and if that is already so
        at reset, action 0 is the only legal action and ends it. An illegal action leaves the
        state unchanged and is penalised by ``-1`` (``illegal_action="penalize"``) or raises
        ``ValueError`` (``"raise"``).

    Reward:
        ``(best makespan before - best makespan after) / time scale`` (>= 0), so the return of an
        episode is the start's makespan minus the best found, over the trivial lower bound.
        Episodes are truncated after ``episode_steps`` steps.

    Args:
        instances: a fixed instance, a list (one drawn uniformly per episode) or a source with
            ``sample(rng)``; ``reset(options={"instance": ..., "schedule": ...})`` overrides the
            instance and the start schedule for one episode.
        max_jobs, max_machines: padding sizes; default to the largest given instance or size.
        max_width: padding of the routes, as in :class:`jssp.env.JobShopEnv`.
        episode_steps: truncation length.
        start_rules: rules the start schedule is drawn from (``jssp.rules``, non-delay scheme).
        tabu_tenure: steps during which swapping a pair back is masked (0 disables it).
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
        episode_steps: int = 64,
        start_rules: Sequence[str] = START_RULES,
        tabu_tenure: int = 8,
        illegal_action: str = "penalize",
        max_width: int | None = None,
    ) -> None:
        if illegal_action not in ("penalize", "raise"):
            raise ValueError("illegal_action must be 'penalize' or 'raise'")
        if episode_steps < 1 or tabu_tenure < 0 or not start_rules:
            raise ValueError("need episode_steps >= 1, tabu_tenure >= 0 and at least one start rule")
        if isinstance(instances, Instance):
            instances = [instances]
        self._source = instances
        self.episode_steps = episode_steps
        self.start_rules = tuple(start_rules)
        self.tabu_tenure = tabu_tenure
        self.illegal_action = illegal_action
        self.max_jobs, self.max_machines, self.max_width = padding_size(instances, max_jobs, max_machines, max_width)
        self.max_nodes = self.max_jobs * self.max_width
        self.max_moves = max_moves_for(self.max_jobs, self.max_machines, self.max_width)
        self.observation_space, self.action_space = improvement_spaces(self.max_jobs, self.max_machines, self.max_width)
        self.instance: Instance | None = None

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        instance: Instance = options.get("instance") or draw_instance(self._source, self.np_random)
        check_padding(instance, self.max_jobs, self.max_machines, self.max_width)
        start: Schedule | None = options.get("schedule")
        if start is None:
            rule = self.start_rules[int(self.np_random.integers(len(self.start_rules)))]
            start = dispatch(instance, rule, seed=int(self.np_random.integers(2**31)))
        elif start.instance is not instance:
            raise ValueError("options['schedule'] must be a schedule of options['instance']")
        self.instance = instance
        self._op_of = operation_index(instance) if instance.is_classical else None  # (num_jobs, num_machines)
        counts = np.bincount(instance.machines[instance.valid], minlength=instance.num_machines)
        self.offsets = np.zeros(instance.num_machines + 1, dtype=np.int64)  # machine m: order[offsets[m]:offsets[m+1]]
        np.cumsum(counts, out=self.offsets[1:])
        self._time_scale = float(max(instance.trivial_lower_bound(), 1))
        self._precedence_edges = precedence_edges(instance, self.max_jobs, self.max_width)
        self._op_machine = op_machines(instance, self.max_nodes)
        self._tabu: dict[tuple[int, int, int], int] = {}  # (machine, node before, node after) -> last tabu step
        self._steps = 0
        order = machine_order(instance, start.machine_sequences())
        makespan, starts, tails = longest_paths(instance, self._sequences_of(order), self._op_of)
        self.initial_makespan = makespan
        self.best_makespan = makespan
        self.best_order = order
        self.best_starts = starts
        self._set_solution(order, starts, tails, makespan)
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        instance = self._require_instance()
        self._steps += 1
        truncated = self._steps >= self.episode_steps
        index = int(action)
        if not self.moves:
            if index != 0:
                return self._illegal(index, truncated)
            return self._observation(), 0.0, True, truncated, self._info()
        if not 0 <= index < len(self.moves) or not self._legal[index]:
            return self._illegal(index, truncated)
        machine, first, _ = self.moves[index]
        position = int(self.offsets[machine]) + first
        before, after = int(self.order[position]), int(self.order[position + 1])
        self._tabu[(machine, after, before)] = self._steps + self.tabu_tenure
        order = self.order.copy()
        order[position], order[position + 1] = after, before
        makespan, starts, tails = longest_paths(instance, self._sequences_of(order), self._op_of)
        if makespan < 0:  # N5 moves keep the graph acyclic (van Laarhoven et al. 1992)
            raise RuntimeError(f"N5 move {self.moves[index]} created a cycle")
        best_before = self.best_makespan
        if makespan < self.best_makespan:
            self.best_makespan, self.best_order, self.best_starts = makespan, order, starts
        self._set_solution(order, starts, tails, makespan)
        reward = (best_before - self.best_makespan) / self._time_scale
        return self._observation(), float(reward), not self.moves, truncated, self._info()

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """Legal moves, padded to ``max_moves`` (True = legal); read by sb3-contrib's MaskablePPO."""
        self._require_instance()
        mask = np.zeros(self.max_moves, dtype=bool)
        if self.moves:
            mask[: len(self.moves)] = self._legal
        else:
            mask[0] = True
        return mask

    def best_schedule(self) -> Schedule:
        """The best schedule found in this episode (the start if nothing improved it)."""
        return Schedule(self._require_instance(), self.best_starts.copy())

    # ------------------------------------------------------------------ helpers

    def _require_instance(self) -> Instance:
        if self.instance is None:
            raise RuntimeError("call reset() before step()")
        return self.instance

    def _illegal(self, index: int, truncated: bool) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self.illegal_action == "raise":
            raise ValueError(f"move {index} is not a legal action")
        return self._observation(), -1.0, False, truncated, {**self._info(), "illegal_action": True}

    def _info(self) -> dict[str, Any]:
        return {"makespan": self.makespan, "best_makespan": self.best_makespan, "initial": self.initial_makespan}

    @property
    def sequences(self) -> Sequences:
        """The current machine orders as :mod:`jssp.local_search` takes them (jobs per machine)."""
        return self._sequences_of(self.order)

    def _sequences_of(self, order: npt.NDArray[np.int64]) -> Sequences:
        """Jobs in processing order per machine: a ``(num_machines, num_jobs)`` matrix on classical
        instances, else one array per machine (a job once per visit)."""
        instance = self._require_instance()
        jobs = order // instance.width
        if instance.is_classical:
            return jobs.reshape(instance.num_machines, instance.num_jobs)
        return np.split(jobs, self.offsets[1:-1])

    def _set_solution(
        self, order: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], tails: npt.NDArray[np.int64], makespan: int
    ) -> None:
        """Make ``order`` the current solution: its N5 moves and their tabu mask."""
        instance = self._require_instance()
        self.order = order  # (num_operations,) node ids, machine after machine
        self.starts = starts  # (num_jobs, width), -1 in padding
        self.tails = tails  # (num_jobs, width), -1 in padding
        self.makespan = makespan
        self.moves: list[Move] = n5_moves(instance, self._sequences_of(order), starts, self._op_of)
        tabu = np.array(
            [
                self._tabu.get(
                    (machine, int(order[self.offsets[machine] + first]), int(order[self.offsets[machine] + second])), -1
                )
                >= self._steps
                for machine, first, second in self.moves
            ],
            dtype=bool,
        )
        self._legal = ~tabu if not tabu.all() else np.ones(len(self.moves), dtype=bool)

    def _observation(self) -> dict[str, np.ndarray]:
        instance = self._require_instance()
        num_jobs, width = instance.num_jobs, instance.width
        num_slots = num_jobs * width
        scale = self._time_scale
        durations = instance.durations
        ends = self.starts + durations
        slack = self.makespan - ends - self.tails

        features = np.zeros((self.max_nodes, NUM_IMPROVEMENT_FEATURES), dtype=np.float32)
        view = features[:num_slots].reshape(num_jobs, width, NUM_IMPROVEMENT_FEATURES)
        view[..., 0] = durations / scale
        view[..., 1] = self.starts / scale
        view[..., 2] = ends / scale
        view[..., 3] = self.tails / scale
        view[..., 4] = slack / scale
        view[..., 5] = slack == 0
        view[..., 6] = (self.makespan - self.best_makespan) / scale
        if not instance.is_classical:
            view[~instance.valid] = 0.0  # route padding is no operation

        # Consecutive operations of each machine's order (none across two machines).
        order = self.order
        same_machine = np.ones(max(len(order) - 1, 0), dtype=bool)
        last_of_machine = self.offsets[1:-1] - 1
        same_machine[last_of_machine[(last_of_machine >= 0) & (last_of_machine < len(same_machine))]] = False
        machine_edges = np.full((2, self.max_nodes), -1, dtype=np.int64)
        num_arcs = int(same_machine.sum())
        machine_edges[0, :num_arcs] = order[:-1][same_machine]
        machine_edges[1, :num_arcs] = order[1:][same_machine]

        move_nodes = np.full((self.max_moves, 2), -1, dtype=np.int64)
        action_mask = np.zeros(self.max_moves, dtype=np.int8)
        if self.moves:
            moves = np.array(self.moves, dtype=np.int64)  # (num_moves, 3)
            positions = self.offsets[moves[:, [0]]] + moves[:, 1:]
            move_nodes[: len(moves)] = order[positions]
            action_mask[: len(moves)] = self._legal
        else:
            action_mask[0] = 1
        return {
            "node_features": features,
            "precedence_edges": self._precedence_edges.copy(),
            "machine_edges": machine_edges,
            "move_nodes": move_nodes,
            "action_mask": action_mask,
            "op_machine": self._op_machine.copy(),
            "num_nodes": np.array([num_slots], dtype=np.int64),
        }


def machine_order(instance: Instance, sequences: Sequences) -> npt.NDArray[np.int64]:
    """The node ids (``job * width + op``) of ``sequences``, machine after machine.

    ``sequences`` lists per machine the jobs in processing order, a job once per visit
    (:meth:`jssp.schedule.Schedule.machine_sequences`): the k-th occurrence of a job on a machine
    is its k-th operation there in route order.

    Shapes:
        returns ``(num_operations,)``; machine m's operations are ``[offsets[m]:offsets[m + 1]]`` with
        ``offsets`` the cumulative counts of operations per machine.
    """
    num_jobs, num_machines, width = instance.num_jobs, instance.num_machines, instance.width
    rows = [np.asarray(row, dtype=np.int64).reshape(-1) for row in sequences]
    jobs = np.concatenate(rows)
    counts = np.array([len(row) for row in rows], dtype=np.int64)
    keys = np.repeat(np.arange(num_machines), counts) * num_jobs + jobs
    # Operations grouped by (machine, job) in route order, and the entries grouped the same way:
    # the i-th entry of a group is the i-th operation of that group.
    nodes = np.flatnonzero(instance.valid.reshape(-1))
    node_keys = instance.machines.reshape(-1)[nodes] * num_jobs + nodes // width
    entry_groups, node_groups = np.argsort(keys, kind="stable"), np.argsort(node_keys, kind="stable")
    if len(counts) != num_machines or not np.array_equal(keys[entry_groups], node_keys[node_groups]):
        raise ValueError(f"sequences must list, per machine, the jobs of its operations ({instance.name})")
    order = np.empty(len(jobs), dtype=np.int64)
    order[entry_groups] = nodes[node_groups]
    return order
