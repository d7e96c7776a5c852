"""What the web server's solver processes run (module-level functions, pickled by reference).

Each turns the failures a client can act on into a :class:`~jssp.web.pool.TaskError` with an
HTTP status; anything else reaches the client as a 500.
"""

from __future__ import annotations

import io
from typing import Any

from jssp.cpsat import CpSatError
from jssp.instance import Instance
from jssp.problems import get_problem
from jssp.solvers import OptionError, SolveOptions, check_method_suits, get_solver, solve
from jssp.web.pool import TaskError


def solve_task(instance: Instance, method: str, options: SolveOptions) -> Any:
    """:func:`jssp.solvers.solve` on ``options.problem``, which also validates the schedule (of that problem's
    type)."""
    try:
        get_solver(method, options.problem)
    except KeyError as error:  # its message names the available methods
        raise TaskError(422, error.args[0] if error.args else f"unknown method {method!r}") from None
    try:
        check_method_suits(method, options)
    except OptionError as error:
        raise TaskError(422, error.reason) from None
    no_schedule = get_problem(options.problem).solve_errors  # e.g. a blocking shop the shutdowns jam
    try:
        return solve(instance, method, options)
    except CpSatError as error:  # no solution within the time limit: the client may raise it
        raise TaskError(422, f"{method}: {error}") from None
    except FileNotFoundError as error:  # a learned method without its checkpoint
        raise TaskError(422, f"{method}: {error}") from None
    except no_schedule as error:
        raise TaskError(422, f"{method}: {error}") from None


def gantt_png_task(problem: str, schedule: Any, best_known: int | None) -> bytes:
    """The Gantt chart of ``schedule`` as PNG bytes (the chart ``jssp solve --problem PROBLEM --gantt`` draws)."""
    buffer = io.BytesIO()
    get_problem(problem).plot_gantt(schedule, buffer, best_known)  # matplotlib loads in the worker, once
    return buffer.getvalue()
