"""The options of the blocking job shop with shutdowns, declared once: ``jssp solve``, ``evaluate.py`` and the web
form are generated from these dataclasses (their field docstrings are the help text)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jssp.blocking.calendar import MAX_DOWNTIME, MODES, Interruptions
from jssp.solvers import OptionError

if TYPE_CHECKING:
    from jssp.solvers import SolveOptions

PROBLEM = "isbjssp"
"""The problem's name, the value of ``--problem``."""
MAX_WIP_LIMIT = 10**9
"""Largest admission limit (any limit at or above the number of jobs is no limit)."""


@dataclass(frozen=True)
class ShutdownOptions:
    """The blocking problem's options: how machines shut down (the calendar is drawn from these and the solve's seed,
    the same for every method), and admission control."""

    shutdown_rate: float = 0.0
    """Chance that a unit of a machine's up time ends with a shutdown (0: machines never stop)."""
    downtime: int | None = None
    """Length of a shutdown; default: the instance's mean processing time."""
    interruption_mode: str = field(default="resume", metadata={"choices": MODES})
    """After a shutdown the interrupted operation resumes where it stopped, or restarts from scratch."""
    wip_limit: int | None = None
    """Admission control: at most this many jobs in the shop at once (a job not started waits outside while it is
    full); default: none, every free machine is filled as the published rules do."""

    def check(self) -> None:
        """Raise :class:`~jssp.solvers.OptionError` naming the first option out of range."""
        if not (math.isfinite(self.shutdown_rate) and 0.0 <= self.shutdown_rate < 1.0):
            raise OptionError("shutdown_rate", f"must be a probability in [0, 1), got {self.shutdown_rate:g}")
        if self.downtime is not None and not 1 <= self.downtime <= MAX_DOWNTIME:
            raise OptionError("downtime", f"must be between 1 and {MAX_DOWNTIME:,}, got {self.downtime:,}")
        if self.wip_limit is not None and not 1 <= self.wip_limit <= MAX_WIP_LIMIT:
            raise OptionError("wip_limit", f"must be between 1 and {MAX_WIP_LIMIT:,}, got {self.wip_limit:,}")
        if self.interruption_mode not in MODES:
            modes = ", ".join(MODES)
            raise OptionError("interruption_mode", f"must be one of {modes}, got {self.interruption_mode!r}")


@dataclass(frozen=True)
class ShutdownGrid:
    """What ``evaluate.py --problem isbjssp`` sweeps: every method runs on the same calendar per cell."""

    shutdown_rates: tuple[float, ...] = field(default=(0.0,), metadata={"sweeps": "shutdown_rate"})
    """Shutdown rates (chance per unit of up time that a machine stops); every one is evaluated."""
    seeds: int = 1
    """Shutdown calendars per (instance, rate), drawn with seeds --seed .. --seed + seeds - 1."""

    def check(self) -> None:
        """Raise :class:`~jssp.solvers.OptionError` naming the first setting out of range."""
        if not self.shutdown_rates:
            raise OptionError("shutdown_rates", "needs at least one rate")
        for rate in self.shutdown_rates:  # the checks of --shutdown-rate
            ShutdownOptions(shutdown_rate=rate).check()
        if self.seeds < 1:
            raise OptionError("seeds", f"must be at least 1, got {self.seeds}")


def interruptions_of(options: SolveOptions) -> Interruptions:
    """The shutdown settings of ``options``: its rate, downtime and mode, and ``seed`` as the calendar's seed."""
    shutdowns: ShutdownOptions = options.problem_options
    return Interruptions(
        rate=shutdowns.shutdown_rate, downtime=shutdowns.downtime, seed=options.seed, mode=shutdowns.interruption_mode
    )


def on_calendar(options: SolveOptions, rate: float, seed: int) -> SolveOptions:
    """``options`` for the blocking problem at shutdown ``rate`` with calendar ``seed`` (the other shutdown
    settings kept when ``options`` are of the blocking problem, else their defaults)."""
    shutdowns = options.problem_options if isinstance(options.problem_options, ShutdownOptions) else ShutdownOptions()
    shutdowns = dataclasses.replace(shutdowns, shutdown_rate=float(rate))
    return dataclasses.replace(options, problem=PROBLEM, problem_options=shutdowns, seed=int(seed))
