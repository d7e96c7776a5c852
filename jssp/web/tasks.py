"""What the web server's solver processes run (module-level functions, pickled by reference).

Each turns the failures a client can act on into a :class:`~jssp.web.pool.TaskError` with an
HTTP status; anything else reaches the client as a 500.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from jssp.cpsat import CpSatError
from jssp.instance import Instance
from jssp.schedule import Schedule
from jssp.solvers import OptionError, SolveOptions, check_method_suits, get_solver, solve
from jssp.web.pool import TaskError

if TYPE_CHECKING:
    from jssp.blocking.schedule import BlockingSchedule


def solve_task(instance: Instance, method: str, options: SolveOptions) -> Any:
    """:func:`jssp.solvers.solve` on ``options.problem``, which also validates the schedule: a
    :class:`~jssp.schedule.Schedule`, or for ``isbjssp`` a :class:`~jssp.blocking.schedule.BlockingSchedule`."""
    try:
        get_solver(method, options.problem)
    except KeyError as error:  # its message names the available methods
        raise TaskError(422, error.args[0] if error.args else f"unknown method {method!r}") from None
    jammed: tuple[type[Exception], ...] = ()  # a blocking shop that the shutdowns leave no way to finish
    try:
        check_method_suits(method, options)
    except OptionError as error:
        raise TaskError(422, error.reason) from None
    if options.problem == "isbjssp":
        from jssp.blocking import JammedError

        jammed = (JammedError,)
    try:
        return solve(instance, method, options)
    except CpSatError as error:  # no solution within the time limit: the client may raise it
        raise TaskError(422, f"{method}: {error}") from None
    except FileNotFoundError as error:  # a learned method without its checkpoint
        raise TaskError(422, f"{method}: {error}") from None
    except jammed as error:
        raise TaskError(422, f"{method}: {error}") from None


def gantt_png_task(schedule: Schedule, best_known: int | None) -> bytes:
    """The Gantt chart of ``schedule`` as PNG bytes (the chart of ``jssp solve --gantt``)."""
    from jssp.gantt import plot_gantt  # matplotlib loads in the worker on the first chart only

    buffer = io.BytesIO()
    plot_gantt(schedule, buffer, best_known=best_known)
    return buffer.getvalue()


def blocking_gantt_png_task(schedule: BlockingSchedule, best_known: int | None) -> bytes:
    """The Gantt chart of a blocking schedule as PNG bytes (the chart of ``jssp solve --problem isbjssp --gantt``):
    processing segments, blocked time and down intervals drawn distinctly."""
    from jssp.blocking.gantt import plot_blocking_gantt  # matplotlib loads in the worker on the first chart only

    buffer = io.BytesIO()
    plot_blocking_gantt(schedule, buffer, best_known=best_known)
    return buffer.getvalue()
