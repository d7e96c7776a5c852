"""Machine shutdown calendars: down intervals pre-sampled per machine, the same for every method.

Each machine alternates between up and down. While it is up, every unit of up time ends with a
shutdown with probability ``rate``, so an up period lasts a geometric number of units (at least
one, mean ``1 / rate``); a down period lasts ``downtime`` units (a fixed value, or uniform in a
range). The long-run availability is ``1 / (1 + rate * mean downtime)``. Every machine starts up
at time 0.

A calendar is drawn from (instance, rate, downtime, seed) alone, never from what a method does,
so every method faces the same shutdowns and comparisons between methods are paired (common
random numbers). Each machine has its own random stream, seeded from the seed, the instance
fingerprint and the machine index, and is drawn in fixed blocks of up/down periods: the
intervals known up to any time are the same however far, and in whatever steps, the calendar
has been extended. Up periods are drawn by inversion from uniforms, so one seed gives coupled
calendars across rates (a higher rate shortens every up period drawn from the same uniforms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jssp.instance import MAX_DURATION, Instance

INFINITE_TIME = 2**62
"""A time after every event: the horizon of a calendar that is known for ever (rate 0, fixed intervals)."""
MODES = ("resume", "restart")
"""What a shutdown does to the operation in process: it pauses and resumes, or it starts again from scratch."""
PERIODS_PER_BLOCK = 256
"""Up/down periods drawn at once per machine; fixed, so the drawn intervals never depend on how the calendar grew."""
MAX_SEED = 2**63 - 1
MAX_DOWNTIME = MAX_DURATION
"""Longest shutdown, the longest processing time an instance may have; keeps every time in 64 bits."""

Downtime = int | tuple[int, int]


def default_downtime(instance: Instance) -> int:
    """The default length of a down period: the instance's mean processing time, rounded half up, at least 1."""
    mean = float(instance.durations[instance.valid].mean())
    return max(1, math.floor(mean + 0.5))


def availability(rate: float, downtime: Downtime) -> float:
    """Long-run share of time a machine is up: ``1 / (1 + rate * mean downtime)``."""
    low, high = (downtime, downtime) if isinstance(downtime, int) else downtime
    return 1.0 / (1.0 + rate * (low + high) / 2.0)


@dataclass(frozen=True)
class Interruptions:
    """How machines break down: what a calendar is drawn from, and what a shutdown does to an operation."""

    rate: float = 0.0
    """Probability that a unit of up time ends with a shutdown, per machine (0 = machines never stop)."""
    downtime: Downtime | None = None
    """Length of a down period: a fixed number, a ``(low, high)`` uniform range, or None for the instance's
    mean processing time (:func:`default_downtime`)."""
    seed: int = 0
    """Seed of the calendar (with the instance fingerprint): the same seed gives every method the same shutdowns."""
    mode: str = "resume"
    """``resume``: an interrupted operation continues where it stopped; ``restart``: it starts again."""

    def check(self) -> None:
        """Raise ValueError with a one-line reason if a setting is out of range."""
        if not (math.isfinite(self.rate) and 0.0 <= self.rate < 1.0):
            raise ValueError(f"shutdown rate must be a probability in [0, 1), got {self.rate:g}")
        if self.downtime is not None:
            _downtime_range(self.downtime)
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}, got {self.seed}")
        if self.mode not in MODES:
            raise ValueError(f"interruption mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    def resolved_downtime(self, instance: Instance) -> Downtime:
        """The downtime setting, with None replaced by the instance's default."""
        return default_downtime(instance) if self.downtime is None else self.downtime

    def calendar(self, instance: Instance) -> Calendar:
        """The calendar of ``instance`` under these settings (drawn lazily as it is read)."""
        self.check()
        return Calendar(instance, self.rate, self.resolved_downtime(instance), self.seed)


def _downtime_range(downtime: Downtime) -> tuple[int, int]:
    if isinstance(downtime, (int, np.integer)) and not isinstance(downtime, bool):
        low = high = int(downtime)
    elif isinstance(downtime, (tuple, list)) and len(downtime) == 2:
        low, high = int(downtime[0]), int(downtime[1])
    else:
        raise ValueError(f"downtime must be an integer or a (low, high) pair, got {downtime!r}")
    if not 1 <= low <= high <= MAX_DOWNTIME:
        raise ValueError(
            f"downtime must be between 1 and {MAX_DOWNTIME:,} (and low <= high for a range), got {downtime!r}"
        )
    return low, high


class Calendar:
    """Down intervals ``[start, end)`` of every machine, drawn lazily as the simulated time grows.

    Attributes:
        num_machines: machines of the instance.
        rate, downtime, seed: the settings it was drawn from (None for a fixed calendar).
        horizon: every down interval that starts at or before this time is known
            (:data:`INFINITE_TIME` when nothing more will ever be drawn).

    Shapes:
        intervals(machine): ``(num_intervals, 2)`` rows ``(start, end)``, sorted, disjoint, not touching.
        arrays(): starts and ends ``(num_machines, width)`` padded with :data:`INFINITE_TIME`, counts
        ``(num_machines,)``.
    """

    def __init__(self, instance: Instance, rate: float, downtime: Downtime, seed: int = 0) -> None:
        Interruptions(rate=rate, downtime=downtime, seed=seed).check()
        self.num_machines = instance.num_machines
        self.rate: float | None = float(rate)
        self._log_up = math.log1p(-float(rate))  # log of the chance that a unit of up time ends without a shutdown
        self.downtime: Downtime | None = downtime
        self.seed: int | None = int(seed)
        self._low, self._high = _downtime_range(downtime)
        # 128 bits of the instance fingerprint, so that two instances never share a calendar by accident.
        words = [int(instance.fingerprint()[index : index + 8], 16) for index in range(0, 32, 8)]
        self._generators = [
            np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *words], spawn_key=(machine,))))
            for machine in range(self.num_machines)
        ]
        self._blocks: list[list[npt.NDArray[np.int64]]] = [[] for _ in range(self.num_machines)]
        # coverage: (num_machines,) end of each machine's last drawn interval; nothing unknown starts at or before it
        self._coverage = np.zeros(self.num_machines, dtype=np.int64)
        self._arrays: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
        self._fixed = rate == 0.0

    @classmethod
    def fixed(cls, intervals: Sequence[Sequence[tuple[int, int]]]) -> Calendar:
        """A calendar of given intervals per machine, known for ever (tests, recorded shutdowns).

        Raises:
            ValueError: if a machine's intervals are empty, negative, unsorted, overlapping or touching.
        """
        calendar = cls.__new__(cls)
        calendar.num_machines = len(intervals)
        calendar.rate = calendar.downtime = calendar.seed = None
        calendar._fixed = True
        calendar._arrays = None
        calendar._coverage = np.zeros(len(intervals), dtype=np.int64)
        calendar._blocks = []
        for machine, rows in enumerate(intervals):
            block = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
            if len(block) and (
                block[0, 0] < 0 or (block[:, 1] <= block[:, 0]).any() or (block[1:, 0] <= block[:-1, 1]).any()
            ):
                raise ValueError(
                    f"machine {machine}: down intervals must be sorted, non-empty and separated, got {rows}"
                )
            calendar._blocks.append([block])
        return calendar

    @property
    def horizon(self) -> int:
        return INFINITE_TIME if self._fixed else int(self._coverage.min())

    def extend(self, until: int) -> None:
        """Draw blocks of periods until every machine's calendar is known at least up to ``until``
        (at most up to :data:`INFINITE_TIME`, beyond which nothing happens)."""
        if self._fixed:
            return
        until = min(int(until), INFINITE_TIME)
        for machine in np.flatnonzero(self._coverage < until).tolist():
            while self._coverage[machine] < until:
                self._draw_block(machine)
        self._arrays = None

    def _draw_block(self, machine: int) -> None:
        generator = self._generators[machine]
        up_draws = generator.random(PERIODS_PER_BLOCK)
        down_draws = generator.random(PERIODS_PER_BLOCK)
        # Inversion of the geometric law on {1, 2, ...}: P(up > k) = (1 - rate)^k. At a tiny rate an up
        # period can pass any time there is; it is cut at INFINITE_TIME, which no simulation reaches.
        up = np.clip(np.ceil(np.log1p(-up_draws) / self._log_up), 1, INFINITE_TIME)
        span = self._high - self._low + 1
        down = self._low + np.minimum(np.floor(down_draws * span).astype(np.int64), span - 1)
        reached = self._coverage[machine] + np.cumsum(up + down)  # float64: cannot overflow
        kept = int(np.searchsorted(reached, INFINITE_TIME))  # periods that end before INFINITE_TIME
        ends = self._coverage[machine] + np.cumsum(up[:kept].astype(np.int64) + down[:kept])
        self._blocks[machine].append(np.column_stack([ends - down[:kept], ends]))
        self._coverage[machine] = ends[-1] if kept == PERIODS_PER_BLOCK else INFINITE_TIME

    def intervals(self, machine: int) -> npt.NDArray[np.int64]:
        """Every down interval of ``machine`` drawn so far, ``(num_intervals, 2)``."""
        blocks = self._blocks[machine]
        return np.concatenate(blocks) if blocks else np.zeros((0, 2), dtype=np.int64)

    def down_intervals(self, through: int) -> list[npt.NDArray[np.int64]]:
        """Per machine, the down intervals that start at or before ``through`` (drawing them if needed)."""
        self.extend(through)
        result = []
        for machine in range(self.num_machines):
            rows = self.intervals(machine)
            result.append(rows[rows[:, 0] <= through])
        return result

    def arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Every interval drawn so far as padded arrays for the compiled simulator: starts, ends, counts."""
        if self._arrays is None:
            rows = [self.intervals(machine) for machine in range(self.num_machines)]
            counts = np.array([len(machine_rows) for machine_rows in rows], dtype=np.int64)
            width = max(1, int(counts.max()) if len(counts) else 1)
            starts = np.full((self.num_machines, width), INFINITE_TIME, dtype=np.int64)
            ends = np.full((self.num_machines, width), INFINITE_TIME, dtype=np.int64)
            for machine, machine_rows in enumerate(rows):
                starts[machine, : len(machine_rows)] = machine_rows[:, 0]
                ends[machine, : len(machine_rows)] = machine_rows[:, 1]
            self._arrays = (starts, ends, counts)
        return self._arrays

    def is_down(self, machine: int, time: int) -> bool:
        """Whether ``machine`` is down at ``time`` (drawing the calendar up to ``time`` if needed)."""
        self.extend(time)
        rows = self.intervals(machine)
        index = int(np.searchsorted(rows[:, 1], time, side="right"))
        return index < len(rows) and rows[index, 0] <= time
