"""The interrupting swap-allowed blocking job shop (ISBJSSP; Wong et al. 2023): a problem variant.

No buffers between machines (a job holds its machine until its next one is free), cycles of
blocked jobs swap at once, and machines shut down at random from a calendar drawn independently
of the method. Its simulator, validator, rules, CP-SAT model, schedules and Gantt charts live in
this package; instances, parsing and benchmarks are shared with the classical job shop. See
``docs/blocking.md``.

* :mod:`~jssp.blocking.calendar`: shutdown settings (:class:`Interruptions`) and calendars;
* :mod:`~jssp.blocking.simulator`: :class:`BlockingState`, the compiled event-driven simulator;
* :mod:`~jssp.blocking.reference`: its plain-Python twin, for tests;
* :mod:`~jssp.blocking.schedule` and :mod:`~jssp.blocking.validation`: schedules, JSON, the validator;
* :mod:`~jssp.blocking.problem`: the registered ``isbjssp`` :class:`~jssp.problems.Problem` (what ``jssp solve``,
  ``evaluate.py`` and the web server call), with its options declared in :mod:`~jssp.blocking.options`;
* :mod:`~jssp.blocking.rules`, :mod:`~jssp.blocking.cpsat`, :mod:`~jssp.blocking.methods`: solving (the
  methods register into the problem in :mod:`jssp.solvers`);
* :mod:`~jssp.blocking.clairvoyant`: CP-SAT that knows the calendar, a reference no online method can reach;
* :mod:`~jssp.blocking.evaluation`, :mod:`~jssp.blocking.report`: ``evaluate.py --problem isbjssp`` and its tables;
* :mod:`~jssp.blocking.gantt`: charts (imports matplotlib).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "jssp.blocking.calendar": ("Calendar", "Interruptions", "availability", "default_downtime"),
    "jssp.blocking.errors": ("DeadlockError", "JammedError", "StallError"),
    "jssp.blocking.methods": (
        "BLOCKING_METHODS",
        "blocking_bounds",
        "known_blocking_bound",
        "solve",
        "without_shutdowns",
    ),
    "jssp.blocking.options": ("ShutdownGrid", "ShutdownOptions", "interruptions_of"),
    "jssp.blocking.schedule": ("BlockingSchedule",),
    "jssp.blocking.simulator": ("BlockingState", "simulate", "warm_up"),
    "jssp.blocking.validation": ("InfeasibleBlockingScheduleError",),
}
"""Where each name of the package lives: it is imported on first use, so that registering the problem (which
``jssp solve`` does for every command) loads neither the simulator nor the methods."""
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
    from jssp.blocking.calendar import Calendar, Interruptions, availability, default_downtime
    from jssp.blocking.errors import DeadlockError, JammedError, StallError
    from jssp.blocking.methods import BLOCKING_METHODS, blocking_bounds, known_blocking_bound, solve, without_shutdowns
    from jssp.blocking.options import ShutdownGrid, ShutdownOptions, interruptions_of
    from jssp.blocking.schedule import BlockingSchedule
    from jssp.blocking.simulator import BlockingState, simulate, warm_up
    from jssp.blocking.validation import InfeasibleBlockingScheduleError


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'jssp.blocking' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


__all__ = [
    "BLOCKING_METHODS",
    "BlockingSchedule",
    "BlockingState",
    "Calendar",
    "DeadlockError",
    "InfeasibleBlockingScheduleError",
    "JammedError",
    "ShutdownGrid",
    "ShutdownOptions",
    "Interruptions",
    "StallError",
    "availability",
    "blocking_bounds",
    "default_downtime",
    "interruptions_of",
    "known_blocking_bound",
    "simulate",
    "solve",
    "warm_up",
    "without_shutdowns",
]
