"""The registry of named solving methods: every solver maps an instance to a schedule.

Methods are lowercase strings (``spt``, ``mwkr``, ``fdd-mwkr``, ``random``, ``cpsat``), registered
per problem (:data:`PROBLEMS`): the classical job shop ``jssp``, and ``isbjssp``, the blocking job
shop with swaps and machine shutdowns of :mod:`jssp.blocking`. ``SolveOptions.problem`` says which
problem :func:`solve` solves; a problem's module registers its methods and its validator
(:func:`register_problem`) when it is first asked for, so the classical path never loads it.
Other packages add methods through the ``jssp.methods`` entry-point group (``agents`` registers
``gnn`` and ``gnn-sample`` that way), so this core never imports them; :func:`load_plugins`
runs those registrations, and ``evaluate.py`` and ``jssp solve`` then treat all methods alike.
A family of methods that differ by a number in their name (``ls-500``, ``ls-5000``) registers
once by prefix with :func:`register_family`.
"""

from __future__ import annotations

import importlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jssp.dispatch import SCHEMES
from jssp.instance import MAX_DURATION, Instance
from jssp.rules import RULE_NAMES, dispatch
from jssp.schedule import Schedule

MAX_SEED = 2**31 - 1
"""Largest seed: CP-SAT's random seed is a 32-bit integer."""
PROBLEMS = ("jssp", "isbjssp")
"""``jssp``: the classical job shop; ``isbjssp``: blocking (no buffers) with swaps and machine shutdowns."""
MAX_CPSAT_WORKERS = 1024
"""Most CP-SAT search threads of one solve (OR-Tools refuses a model asking for tens of thousands)."""
MAX_SAMPLES = 1024
"""Most sampled rollouts of one ``gnn-sample`` solve: they run in lockstep, so memory grows with their number."""
TEMPERATURE_RANGE = (0.01, 100.0)
"""Softmax temperatures of sampling methods: below, logits overflow to infinity; above, every choice is uniform."""
MAX_DOWNTIME = MAX_DURATION
"""Longest shutdown (``isbjssp``), the longest processing time an instance may have; keeps every time in 64 bits."""
INTERRUPTION_MODES = ("resume", "restart")
"""What a shutdown does to the operation in process (``isbjssp``; as :data:`jssp.blocking.calendar.MODES`)."""
_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class OptionError(ValueError):
    """An option value out of range; ``str()`` names the command-line flag (``--time-limit must be ...``).

    Attributes:
        name: the option's field name (``time_limit``); the web API reports errors under it.
        reason: what is wrong, starting with a verb (``must be positive, got -1``).
    """

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{self.flag} {reason}")

    @property
    def flag(self) -> str:
        """The command-line spelling of the option, ``--time-limit``."""
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class SolveOptions:
    """What every solver may read; each uses the fields that apply to it."""

    time_limit: float = 10.0
    """Wall-clock budget in seconds (CP-SAT and search methods; rules finish far sooner)."""
    seed: int = 0
    """Seed of randomised methods (``random``, CP-SAT, sampling policies)."""
    cpsat_workers: int = 2
    """CP-SAT search threads of one solve (``cpsat`` and the CP-SAT stage of ``hybrid``)."""
    scheme: str = "non-delay"
    """Schedule-generation scheme of the dispatching rules (see ``jssp.dispatch``)."""
    device: str = "auto"
    """Torch device of learned methods: ``auto`` (GPU if present), ``cpu`` or ``cuda``."""
    checkpoint: str = "gnn-default"
    """Learned methods: shipped checkpoint name or checkpoint folder."""
    improvement_checkpoint: str = "ls-default"
    """Learned improvement methods (``ls-<steps>``): checkpoint of the N5 move policy."""
    samples: int = 128
    """Sampling methods (``gnn-sample``): rollouts per instance."""
    temperature: float | None = None
    """Sampling methods: softmax temperature; ``None`` takes the checkpoint's tuned ``sample_temperature``
    (see ``agents.tune_sampling``), or 1.0 when it has none."""
    problem: str = "jssp"
    """Problem solved (:data:`PROBLEMS`); ``isbjssp`` draws its shutdown calendar from ``seed`` too."""
    shutdown_rate: float = 0.0
    """``isbjssp``: chance that a unit of a machine's up time ends with a shutdown (0: machines never stop)."""
    downtime: int | None = None
    """``isbjssp``: length of a shutdown; ``None``: the instance's mean processing time."""
    interruption_mode: str = "resume"
    """``isbjssp``: after a shutdown the interrupted operation resumes where it stopped, or restarts from scratch."""

    def check(self) -> None:
        """Raise :class:`OptionError` naming the first option out of range."""
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise OptionError("time_limit", f"must be a finite number of seconds above 0, got {self.time_limit:g}")
        if not 0 <= self.seed <= MAX_SEED:
            raise OptionError("seed", f"must be between 0 and {MAX_SEED}, got {self.seed}")
        if not 1 <= self.cpsat_workers <= MAX_CPSAT_WORKERS:
            raise OptionError("cpsat_workers", f"must be between 1 and {MAX_CPSAT_WORKERS}, got {self.cpsat_workers}")
        if self.scheme not in SCHEMES:
            raise OptionError("scheme", f"must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if not _DEVICE_PATTERN.fullmatch(self.device):
            raise OptionError("device", f"must be auto, cpu, cuda, cuda:<index> or mps, got {self.device!r}")
        for name in ("checkpoint", "improvement_checkpoint"):
            if not getattr(self, name).strip():
                raise OptionError(name, "must name a checkpoint or folder, got an empty string")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise OptionError("samples", f"must be between 1 and {MAX_SAMPLES}, got {self.samples}")
        low, high = TEMPERATURE_RANGE
        if self.temperature is not None and not low <= self.temperature <= high:  # NaN fails both comparisons
            raise OptionError("temperature", f"must be between {low:g} and {high:g}, got {self.temperature:g}")
        if self.problem not in PROBLEMS:
            raise OptionError("problem", f"must be one of {', '.join(PROBLEMS)}, got {self.problem!r}")
        if self.problem != "isbjssp":
            defaults = SolveOptions()
            for name in ("shutdown_rate", "downtime", "interruption_mode"):
                if getattr(self, name) != getattr(defaults, name):
                    raise OptionError(name, "applies to --problem isbjssp only")
        if not (math.isfinite(self.shutdown_rate) and 0.0 <= self.shutdown_rate < 1.0):
            raise OptionError("shutdown_rate", f"must be a probability in [0, 1), got {self.shutdown_rate:g}")
        if self.downtime is not None and not 1 <= self.downtime <= MAX_DOWNTIME:
            raise OptionError("downtime", f"must be between 1 and {MAX_DOWNTIME:,}, got {self.downtime:,}")
        if self.interruption_mode not in INTERRUPTION_MODES:
            modes = ", ".join(INTERRUPTION_MODES)
            raise OptionError("interruption_mode", f"must be one of {modes}, got {self.interruption_mode!r}")


Solver = Callable[[Instance, SolveOptions], Any]
"""Maps an instance to a schedule of its problem: a :class:`~jssp.schedule.Schedule` for ``jssp``, a
:class:`~jssp.blocking.schedule.BlockingSchedule` for ``isbjssp``."""
SolverFactory = Callable[[str], Solver]
"""Builds the solver of one method of a family from its full name (``"ls-500"``); ValueError if malformed."""
Validator = Callable[[Instance, Any, SolveOptions], None]
"""Raises if a schedule of the problem is infeasible for the instance under the options (its calendar, say)."""
_REGISTRY: dict[tuple[str, str], Solver] = {}  # (problem, method) -> solver
_FAMILIES: dict[tuple[str, str], tuple[SolverFactory, str]] = {}  # (problem, prefix) -> (factory, placeholder)
_VALIDATORS: dict[str, Validator] = {"jssp": lambda instance, schedule, options: schedule.check()}
_PROBLEM_MODULES = {"isbjssp": "jssp.blocking.methods"}
"""Modules that register a problem's methods and validator when imported; loaded on the problem's first use."""


def _check_problem(problem: str) -> None:
    """Load ``problem``'s module if its validator is not registered yet; ValueError for an unknown problem."""
    if problem in _VALIDATORS:
        return
    if problem not in _PROBLEM_MODULES:
        raise ValueError(f"unknown problem {problem!r}; choose one of {', '.join(PROBLEMS)}")
    importlib.import_module(_PROBLEM_MODULES[problem])


def register_problem(problem: str, validate: Validator) -> None:
    """Make ``problem`` solvable: :func:`solve` passes each of its schedules to ``validate``."""
    _VALIDATORS[problem] = validate


Requirement = Callable[[SolveOptions], str | None]
"""What a method declares it needs of the options: None when they suit it, else why not, as a phrase that
follows the method's name (``"solves problem isbjssp only at shutdown rate 0 (no shutdowns)"``)."""
_REQUIREMENTS: dict[tuple[str, str], Requirement] = {}  # (problem, method) -> requirement


def register(name: str, solver: Solver, problem: str = "jssp", requires: Requirement | None = None) -> None:
    """Make ``solver`` available under the lowercase method ``name`` for ``problem``.

    Args:
        requires: what the method needs of the options, declared once: :func:`solve`, ``jssp solve``,
            ``evaluate.py`` and the web API all read it (:func:`method_refusal`).
    """
    if name != name.lower() or not name:
        raise ValueError(f"method names are lowercase, got {name!r}")
    _REGISTRY[(problem, name)] = solver
    if requires is None:
        _REQUIREMENTS.pop((problem, name), None)
    else:
        _REQUIREMENTS[(problem, name)] = requires


def method_refusal(name: str, options: SolveOptions) -> str | None:
    """Why method ``name`` of ``options.problem`` cannot solve under ``options`` (its declared requirement),
    or None when it can."""
    requirement = _REQUIREMENTS.get((options.problem, name))
    return None if requirement is None else requirement(options)


def check_method_suits(name: str, options: SolveOptions) -> None:
    """Raise :class:`OptionError` (``--method NAME <why>``) when ``options`` do not suit method ``name``."""
    refusal = method_refusal(name, options)
    if refusal is not None:
        raise OptionError("method", f"{name} {refusal}")


def register_family(prefix: str, factory: SolverFactory, placeholder: str, problem: str = "jssp") -> None:
    """Make every method named ``prefix + suffix`` available (``ls-500``, ``ls-5000``) for ``problem``.

    Args:
        prefix: lowercase start of the names, e.g. ``"ls-"``.
        factory: builds the solver of one name; raises ValueError when the suffix is malformed.
        placeholder: what the suffix stands for, shown by :func:`method_names` (``"ls-<steps>"``).
        problem: the problem the methods solve.
    """
    if prefix != prefix.lower() or not prefix:
        raise ValueError(f"method prefixes are lowercase, got {prefix!r}")
    _FAMILIES[(problem, prefix)] = (factory, placeholder)


def method_names(problem: str = "jssp") -> list[str]:
    """Registered methods of ``problem``, then one ``prefix<placeholder>`` entry per family."""
    _check_problem(problem)
    return [
        *(name for (owner, name) in _REGISTRY if owner == problem),
        *(f"{prefix}<{placeholder}>" for (owner, prefix), (_, placeholder) in _FAMILIES.items() if owner == problem),
    ]


def has_method(name: str, problem: str = "jssp") -> bool:
    """Whether ``name`` is a registered method of ``problem`` or a well-formed member of one of its families."""
    try:
        get_solver(name, problem)
    except KeyError:
        return False
    return True


_PLUGIN_KEYS: set[tuple[str, str]] = set()
"""(problem, method or family prefix) of every registration a plugin made (see :func:`load_plugins`)."""


def load_plugins() -> None:
    """Run every registration function of the ``jssp.methods`` entry-point group."""
    from importlib.metadata import entry_points  # scans installed packages: only when a plugin is needed

    before = set(_REGISTRY) | set(_FAMILIES)
    for entry_point in entry_points(group="jssp.methods"):
        entry_point.load()()
    _PLUGIN_KEYS.update((set(_REGISTRY) | set(_FAMILIES)) - before)


def needs_plugins(names: Iterable[str], problem: str = "jssp") -> bool:
    """Whether solving ``names`` takes a plugin (a method not built in, or one a plugin registered): a worker
    process then has to load the plugins too (and, for the learned methods, torch)."""
    for name in names:
        if not has_method(name, problem) or (problem, name) in _PLUGIN_KEYS:
            return True
        if any(owner == problem and name.startswith(prefix) for owner, prefix in _PLUGIN_KEYS):
            return True
    return False


def ensure_methods(names: Iterable[str], problem: str = "jssp") -> None:
    """Load plugins if any of ``names`` is not a built-in method of ``problem`` (importing torch only when needed)."""
    if not all(has_method(name, problem) for name in names):
        load_plugins()


def get_solver(name: str, problem: str = "jssp") -> Solver:
    """The solver registered as ``name`` for ``problem``, or built by the family whose prefix starts it
    (longest prefix first); KeyError naming the available methods otherwise."""
    _check_problem(problem)
    if (problem, name) in _REGISTRY:
        return _REGISTRY[(problem, name)]
    prefixes = [prefix for (owner, prefix) in _FAMILIES if owner == problem]
    for prefix in sorted(prefixes, key=len, reverse=True):
        if name.startswith(prefix):
            factory, placeholder = _FAMILIES[(problem, prefix)]
            try:
                return factory(name)
            except ValueError as error:
                raise KeyError(f"method {name!r} is not of the form {prefix}<{placeholder}>: {error}") from None
    where = "" if problem == "jssp" else f" for --problem {problem}"
    raise KeyError(f"unknown method {name!r}{where}; available: {', '.join(method_names(problem))}")


def solve(instance: Instance, method: str, options: SolveOptions | None = None) -> Any:
    """Run one method on ``options.problem``, stamp its name and wall time on the schedule, and validate it.

    Returns:
        A :class:`~jssp.schedule.Schedule` for ``jssp``; for ``isbjssp`` a
        :class:`~jssp.blocking.schedule.BlockingSchedule`, validated against the shutdown calendar
        drawn from the options.

    Raises:
        OptionError: if an option is out of range, or does not suit the method (:func:`method_refusal`).
        KeyError: for a method unknown to the problem.
        jssp.validation.InfeasibleScheduleError, jssp.blocking.InfeasibleBlockingScheduleError: if the
            method returned an infeasible schedule.
    """
    options = options or SolveOptions()
    options.check()
    solver = get_solver(method, options.problem)
    check_method_suits(method, options)
    began = time.perf_counter()
    schedule = solver(instance, options)
    schedule.seconds = time.perf_counter() - began
    schedule.method = method
    _VALIDATORS[options.problem](instance, schedule, options)
    return schedule


def _rule_solver(rule: str) -> Solver:
    def solver(instance: Instance, options: SolveOptions) -> Schedule:
        return dispatch(instance, rule, scheme=options.scheme, seed=options.seed)

    return solver


START_RULES = (
    ("fdd-mwkr", "non-delay"),
    ("fdd-mwkr", "active"),
    ("mwkr", "non-delay"),
    ("mwkr", "active"),
    ("mopnr", "non-delay"),
    ("mor", "non-delay"),
    ("spt", "non-delay"),
)
"""(rule, scheme) pairs ``tabu`` starts from the best of, in the order they are tried."""
START_SHARE = 0.1
"""Share of the time limit ``tabu`` may spend building start schedules."""
_ACTIVE_OVER_NON_DELAY = 20
"""How much slower than the non-delay scheme the active one is assumed to be before it has run."""


def best_rule_start(instance: Instance, budget: float) -> Schedule:
    """The shortest schedule of the :data:`START_RULES` that fit in ``budget`` seconds.

    The first pair always runs. A later one runs when the time it should take (its scheme's last
    run, or for the first active run :data:`_ACTIVE_OVER_NON_DELAY` times the non-delay one) fits
    in what is left; ties go to the earlier pair. On large instances tabu search moves away from
    its start slowly, so the start matters, and which rule and scheme give the best one depends on
    the instance's shape.
    """
    began = time.perf_counter()
    best: Schedule | None = None
    seconds: dict[str, float] = {}
    for rule, scheme in START_RULES:
        left = budget - (time.perf_counter() - began)
        expected = seconds.get(scheme, _ACTIVE_OVER_NON_DELAY * seconds.get("non-delay", 0.0))
        if best is not None and expected > left:
            continue
        schedule = dispatch(instance, rule, scheme=scheme)
        seconds[scheme] = schedule.seconds
        if best is None or schedule.makespan < best.makespan:
            best = schedule
    assert best is not None
    return best


def _tabu_solver(instance: Instance, options: SolveOptions) -> Schedule:
    from jssp.local_search import tabu_search, warm_up  # its kernels load only for this method

    warm_up()  # before the clock starts, as tabu_search would
    began = time.perf_counter()
    initial = best_rule_start(instance, START_SHARE * options.time_limit)
    lower_bound = instance.trivial_lower_bound()
    remaining = max(0.0, options.time_limit - (time.perf_counter() - began))
    return tabu_search(
        instance, initial, time_limit=remaining, seed=options.seed, lower_bound=lower_bound, stop_on_interrupt=True
    ).schedule


HYBRID_TABU_SHARE = 0.3
"""Share of the time left after construction that ``hybrid`` gives tabu search; CP-SAT gets the rest."""
_CPSAT_SECONDS_PER_OPERATION = 5e-5
"""Assumed time to build the CP-SAT model, per operation: an upper estimate, to tell whether CP-SAT can run."""


def improve_hybrid(instance: Instance, start: Schedule, options: SolveOptions, began: float) -> Schedule:
    """The improvement stages of ``hybrid``: tabu search from ``start``, then CP-SAT warm-started from its best.

    Both stages share what is left of ``options.time_limit`` counted from ``began`` (a
    ``time.perf_counter()`` value taken before the start was built): tabu search gets
    :data:`HYBRID_TABU_SHARE` of it, CP-SAT the remainder minus a small margin. CP-SAT never
    returns worse than its hint. When the instance is so large that building the CP-SAT model
    would eat most of CP-SAT's share, tabu search gets the whole time instead. The stage
    makespans go to ``info["stages"]``.
    """
    from jssp.cpsat import solve_cpsat  # OR-Tools and the search kernels load only for this method
    from jssp.local_search import tabu_search, warm_up

    warm_up()
    remaining = options.time_limit - (time.perf_counter() - began)
    model_seconds = _CPSAT_SECONDS_PER_OPERATION * instance.num_operations
    share = HYBRID_TABU_SHARE if 2 * model_seconds < (1 - HYBRID_TABU_SHARE) * remaining else 1.0
    lower_bound = instance.trivial_lower_bound()
    improved = start
    interrupted = False
    if remaining > 0:
        result = tabu_search(
            instance, start, share * remaining, seed=options.seed, lower_bound=lower_bound, stop_on_interrupt=True
        )
        improved, interrupted = result.schedule, result.interrupted
    final = improved
    remaining = options.time_limit - (time.perf_counter() - began) - 0.2
    # at the bound it is optimal; after Ctrl-C the best so far is wanted now
    if share < 1.0 and remaining > 0.05 and improved.makespan > lower_bound and not interrupted:
        final = solve_cpsat(
            instance, time_limit=remaining, num_workers=options.cpsat_workers, seed=options.seed, hint=improved
        )
    final.info["stages"] = {start.method or "start": start.makespan, "tabu": improved.makespan, "cpsat": final.makespan}
    final.seconds = time.perf_counter() - began
    return final


def _cpsat_solver(instance: Instance, options: SolveOptions) -> Schedule:
    from jssp.cpsat import solve_cpsat  # OR-Tools (and the pandas it imports) load only for this method

    return solve_cpsat(instance, time_limit=options.time_limit, num_workers=options.cpsat_workers, seed=options.seed)


for _rule in RULE_NAMES:
    register(_rule, _rule_solver(_rule))
register("cpsat", _cpsat_solver)
register("tabu", _tabu_solver)
