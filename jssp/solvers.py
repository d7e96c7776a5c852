"""The registry of named solving methods: every solver maps an instance to a schedule.

Methods are lowercase strings (``spt``, ``mwkr``, ``fdd-mwkr``, ``random``, ``cpsat``), registered
per problem (:mod:`jssp.problems`: one registered :class:`~jssp.problems.Problem` per variant).
``SolveOptions.problem`` says which problem :func:`solve` solves, and ``SolveOptions.problem_options``
holds that problem's own options; a problem registers its methods when it is first asked for
(:meth:`~jssp.problems.Problem.load`), and validates every schedule :func:`solve` returns for it.
Other packages add methods through the ``jssp.methods`` entry-point group (``agents`` registers
``gnn`` and ``gnn-sample`` that way), so this core never imports them; :func:`load_plugins`
runs those registrations, and ``evaluate.py`` and ``jssp solve`` then treat all methods alike.
A family of methods that differ by a number in their name (``ls-500``, ``ls-5000``) registers
once by prefix with :func:`register_family`. A method declares at registration what it needs of
the options (``requires``) and which checkpoints it reads by default (``checkpoints``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from jssp.dispatch import SCHEMES
from jssp.instance import Instance
from jssp.problems import DEFAULT_PROBLEM, Problem, find_problem, get_problem, problem_names
from jssp.rules import RULE_NAMES, dispatch
from jssp.schedule import Schedule

MAX_SEED = 2**31 - 1
"""Largest seed: CP-SAT's random seed is a 32-bit integer."""
MAX_CPSAT_WORKERS = 1024
"""Most CP-SAT search threads of one solve (OR-Tools refuses a model asking for tens of thousands)."""
MAX_SEARCH_WORKERS = 256
"""Most search processes of one tabu-pr solve."""
MAX_EVENT_BUDGET = 600.0
"""Most seconds of search per event of a re-planning method (``--event-budget``)."""
MAX_SAMPLES = 1024
"""Most sampled rollouts of one ``gnn-sample`` solve: they run in lockstep, so memory grows with their number."""
TEMPERATURE_RANGE = (0.01, 100.0)
"""Softmax temperatures of sampling methods: below, logits overflow to infinity; above, every choice is uniform."""
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
    """Seed of randomised methods (random, cpsat, tabu, gnn-sample) and of a problem's random draws."""
    cpsat_workers: int = 2
    """CP-SAT search threads of one solve (cpsat, hybrid)."""
    search_workers: int | None = None
    """Search processes of one tabu-pr solve, sharing their best solutions; default: the cores available (divided
    among evaluate.py's --workers)."""
    scheme: str = field(default="non-delay", metadata={"choices": SCHEMES})
    """Schedule-generation scheme of the dispatching rules (see jssp.dispatch)."""
    device: str = "auto"
    """Learned methods: torch device, auto (GPU if present), cpu, cuda, cuda:<index> or mps."""
    checkpoint: str | None = None
    """Learned methods: shipped checkpoint name or checkpoint folder; default: the one the method registered."""
    improvement_checkpoint: str | None = None
    """Learned improvement methods (ls-<steps>): move-policy checkpoint name or folder; default: the method's."""
    event_budget: float = 1.0
    """Re-planning methods (reschedule, right-shift, gnn-replan of problem isbjssp): seconds of search per plan, one
    plan at time 0 and, for reschedule and gnn-replan, one after every shutdown and repair while --time-limit
    lasts."""
    samples: int = 128
    """Sampling methods (gnn-sample): rollouts per instance."""
    temperature: float | None = None
    """Sampling methods: softmax temperature; default: the checkpoint's tuned sample_temperature (see
    agents.tune_sampling), or 1.0 when it has none (gnn-replan: 0.5)."""
    problem: str = DEFAULT_PROBLEM
    """Problem solved (a registered :class:`~jssp.problems.Problem`)."""
    problem_options: Any = None
    """The problem's own options, an instance of its ``Problem.options`` dataclass; None: their defaults."""

    def __post_init__(self) -> None:
        if self.problem_options is None:
            problem = find_problem(self.problem)
            if problem is not None:  # an unknown problem is check()'s to report
                object.__setattr__(self, "problem_options", problem.options())

    @classmethod
    def of(cls, problem: str = DEFAULT_PROBLEM, **values: Any) -> SolveOptions:
        """Options of ``problem`` from keyword values, each a method option or one of the problem's own
        (``SolveOptions.of("isbjssp", shutdown_rate=0.01, seed=3)``); TypeError for any other name."""
        method_names = {item.name for item in fields(cls)} - {"problem", "problem_options"}
        own = {name: value for name, value in values.items() if name not in method_names}
        methods = {name: value for name, value in values.items() if name in method_names}
        return cls(**methods, problem=problem, problem_options=get_problem(problem).options(**own))

    def check(self) -> None:
        """Raise :class:`OptionError` naming the first option out of range."""
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise OptionError("time_limit", f"must be a finite number of seconds above 0, got {self.time_limit:g}")
        if not (math.isfinite(self.event_budget) and 0 < self.event_budget <= MAX_EVENT_BUDGET):
            raise OptionError(
                "event_budget", f"must be a number of seconds above 0 and at most {MAX_EVENT_BUDGET:g}, "
                f"got {self.event_budget:g}"
            )  # fmt: skip
        if not 0 <= self.seed <= MAX_SEED:
            raise OptionError("seed", f"must be between 0 and {MAX_SEED}, got {self.seed}")
        if not 1 <= self.cpsat_workers <= MAX_CPSAT_WORKERS:
            raise OptionError("cpsat_workers", f"must be between 1 and {MAX_CPSAT_WORKERS}, got {self.cpsat_workers}")
        if self.search_workers is not None and not 1 <= self.search_workers <= MAX_SEARCH_WORKERS:
            raise OptionError(
                "search_workers", f"must be between 1 and {MAX_SEARCH_WORKERS}, got {self.search_workers}"
            )
        if self.scheme not in SCHEMES:
            raise OptionError("scheme", f"must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if not _DEVICE_PATTERN.fullmatch(self.device):
            raise OptionError("device", f"must be auto, cpu, cuda, cuda:<index> or mps, got {self.device!r}")
        for name in ("checkpoint", "improvement_checkpoint"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise OptionError(name, "must name a checkpoint or folder, got an empty string")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise OptionError("samples", f"must be between 1 and {MAX_SAMPLES}, got {self.samples}")
        low, high = TEMPERATURE_RANGE
        if self.temperature is not None and not low <= self.temperature <= high:  # NaN fails both comparisons
            raise OptionError("temperature", f"must be between {low:g} and {high:g}, got {self.temperature:g}")
        problem = find_problem(self.problem)
        if problem is None:
            raise OptionError("problem", f"must be one of {', '.join(problem_names())}, got {self.problem!r}")
        if not isinstance(self.problem_options, problem.options):
            kind = type(self.problem_options).__name__
            raise OptionError("problem", f"{self.problem} takes options of type {problem.options.__name__}, got {kind}")
        self.problem_options.check()


Solver = Callable[[Instance, SolveOptions], Any]
"""Maps an instance to a schedule of its problem (a :class:`~jssp.schedule.Schedule` for the classical job shop)."""
SolverFactory = Callable[[str], Solver]
"""Builds the solver of one method of a family from its full name (``"ls-500"``); ValueError if malformed."""
_REGISTRY: dict[tuple[str, str], Solver] = {}  # (problem, method) -> solver
_FAMILIES: dict[tuple[str, str], tuple[SolverFactory, str]] = {}  # (problem, prefix) -> (factory, placeholder)


def _loaded_problem(problem: str) -> Problem:
    """The registered problem, its methods loaded; KeyError for an unknown one."""
    found = get_problem(problem)
    found.load()
    return found


Requirement = Callable[[SolveOptions], str | None]
"""What a method declares it needs of the options: None when they suit it, else why not, as a phrase that
follows the method's name (``"solves only without shutdowns (shutdown rate 0)"``)."""
_REQUIREMENTS: dict[tuple[str, str], Requirement] = {}


def every(*requirements: Requirement) -> Requirement:
    """A requirement met when all of ``requirements`` are (the first refusal is given)."""

    def requirement(options: SolveOptions) -> str | None:
        return next((refusal for check in requirements if (refusal := check(options)) is not None), None)

    return requirement


# (problem, method or family prefix) -> requirement
_CHECKPOINTS: dict[tuple[str, str], dict[str, str]] = {}  # (problem, method or prefix) -> option -> default


def register(
    name: str,
    solver: Solver,
    problem: str = DEFAULT_PROBLEM,
    requires: Requirement | None = None,
    checkpoints: dict[str, str] | None = None,
) -> None:
    """Make ``solver`` available under the lowercase method ``name`` for ``problem``.

    Args:
        requires: what the method needs of the options, declared once: :func:`solve`, ``jssp solve``,
            ``evaluate.py`` and the web API all read it (:func:`method_refusal`).
        checkpoints: the checkpoint options the method reads (``checkpoint``, ``improvement_checkpoint``)
            with the checkpoint each defaults to for it; :func:`solve` fills an option left at None with it.
    """
    if name != name.lower() or not name:
        raise ValueError(f"method names are lowercase, got {name!r}")
    _REGISTRY[(problem, name)] = solver
    _declare((problem, name), requires, checkpoints)


def _declare(key: tuple[str, str], requires: Requirement | None, checkpoints: dict[str, str] | None) -> None:
    _REQUIREMENTS.pop(key, None)
    _CHECKPOINTS.pop(key, None)
    if requires is not None:
        _REQUIREMENTS[key] = requires
    if checkpoints is not None:
        _CHECKPOINTS[key] = dict(checkpoints)


def _declaration_key(name: str, problem: str) -> tuple[str, str]:
    """The key a method's declarations are stored under: its own name, or its family's prefix."""
    if (problem, name) in _REGISTRY:
        return (problem, name)
    prefixes = sorted((prefix for (owner, prefix) in _FAMILIES if owner == problem), key=len, reverse=True)
    return (problem, next((prefix for prefix in prefixes if name.startswith(prefix)), name))


def method_refusal(name: str, options: SolveOptions) -> str | None:
    """Why method ``name`` of ``options.problem`` cannot solve under ``options`` (its declared requirement),
    or None when it can."""
    requirement = _REQUIREMENTS.get(_declaration_key(name, options.problem))
    return None if requirement is None else requirement(options)


def check_method_suits(name: str, options: SolveOptions) -> None:
    """Raise :class:`OptionError` (``--method NAME <why>``) when ``options`` do not suit method ``name``."""
    refusal = method_refusal(name, options)
    if refusal is not None:
        raise OptionError("method", f"{name} {refusal}")


def method_checkpoints(name: str, options: SolveOptions) -> dict[str, str]:
    """The checkpoints method ``name`` reads under ``options``: option name -> the checkpoint the option names,
    or the method's registered default when the option is None. Empty for a method that reads none."""
    defaults = _CHECKPOINTS.get(_declaration_key(name, options.problem), {})
    return {option: getattr(options, option) or default for option, default in defaults.items()}


def register_family(
    prefix: str,
    factory: SolverFactory,
    placeholder: str,
    problem: str = DEFAULT_PROBLEM,
    requires: Requirement | None = None,
    checkpoints: dict[str, str] | None = None,
) -> None:
    """Make every method named ``prefix + suffix`` available (``ls-500``, ``ls-5000``) for ``problem``.

    Args:
        prefix: lowercase start of the names, e.g. ``"ls-"``.
        factory: builds the solver of one name; raises ValueError when the suffix is malformed.
        placeholder: what the suffix stands for, shown by :func:`method_names` (``"ls-<steps>"``).
        problem: the problem the methods solve.
        requires, checkpoints: as for :func:`register`, for every member of the family.
    """
    if prefix != prefix.lower() or not prefix:
        raise ValueError(f"method prefixes are lowercase, got {prefix!r}")
    _FAMILIES[(problem, prefix)] = (factory, placeholder)
    _declare((problem, prefix), requires, checkpoints)


def method_names(problem: str = DEFAULT_PROBLEM) -> list[str]:
    """Registered methods of ``problem``, then one ``prefix<placeholder>`` entry per family."""
    _loaded_problem(problem)
    return [
        *(name for (owner, name) in _REGISTRY if owner == problem),
        *(f"{prefix}<{placeholder}>" for (owner, prefix), (_, placeholder) in _FAMILIES.items() if owner == problem),
    ]


def has_method(name: str, problem: str = DEFAULT_PROBLEM) -> bool:
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


def needs_plugins(names: Iterable[str], problem: str = DEFAULT_PROBLEM) -> bool:
    """Whether solving ``names`` takes a plugin (a method not built in, or one a plugin registered): a worker
    process then has to load the plugins too (and, for the learned methods, torch)."""
    for name in names:
        if not has_method(name, problem) or (problem, name) in _PLUGIN_KEYS:
            return True
        if any(owner == problem and name.startswith(prefix) for owner, prefix in _PLUGIN_KEYS):
            return True
    return False


def ensure_methods(names: Iterable[str], problem: str = DEFAULT_PROBLEM) -> None:
    """Load plugins if any of ``names`` is not a built-in method of ``problem`` (importing torch only when needed)."""
    if not all(has_method(name, problem) for name in names):
        load_plugins()


def get_solver(name: str, problem: str = DEFAULT_PROBLEM) -> Solver:
    """The solver registered as ``name`` for ``problem``, or built by the family whose prefix starts it
    (longest prefix first); KeyError naming the available methods otherwise."""
    _loaded_problem(problem)
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
    raise KeyError(f"unknown method {name!r} for --problem {problem}; available: {', '.join(method_names(problem))}")


def solve(instance: Instance, method: str, options: SolveOptions | None = None) -> Any:
    """Run one method on ``options.problem``, stamp its name and wall time on the schedule, and validate it.

    The checkpoint options the method reads and ``options`` leave at None are filled with the
    checkpoints the method registered (:func:`method_checkpoints`) before it runs.

    Returns:
        A schedule of the problem (a :class:`~jssp.schedule.Schedule` for the classical job shop), passed
        by the problem's validator (:meth:`jssp.problems.Problem.validate`).

    Raises:
        OptionError: if an option is out of range, or does not suit the method (:func:`method_refusal`).
        KeyError: for a method unknown to the problem.
        Exception: one of the problem's ``solve_errors`` when it refuses the instance under the options
            (:meth:`~jssp.problems.Problem.check_instance`).
        ValueError: the problem's validator's error (e.g. jssp.validation.InfeasibleScheduleError) if the method
            returned an infeasible schedule.
    """
    options = options or SolveOptions()
    options.check()
    problem = _loaded_problem(options.problem)
    solver = get_solver(method, options.problem)
    check_method_suits(method, options)
    problem.check_instance(instance, options)
    filled = method_checkpoints(method, options)
    options = dataclasses.replace(
        options,
        checkpoint=filled.get("checkpoint", options.checkpoint),
        improvement_checkpoint=filled.get("improvement_checkpoint", options.improvement_checkpoint),
    )
    began = time.perf_counter()
    schedule = solver(instance, options)
    schedule.seconds = time.perf_counter() - began
    schedule.method = method
    problem.validate(instance, schedule, options)
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


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _tabu_pr_solver(instance: Instance, options: SolveOptions) -> Schedule:
    from jssp.local_search.elite import EliteSettings, elite_search, warm_up

    warm_up()
    began = time.perf_counter()
    initial = best_rule_start(instance, START_SHARE * options.time_limit)
    remaining = max(0.0, options.time_limit - (time.perf_counter() - began))
    settings = EliteSettings(workers=options.search_workers or available_cores())
    result = elite_search(
        instance,
        initial,
        time_limit=remaining,
        seed=options.seed,
        lower_bound=instance.trivial_lower_bound(),
        settings=settings,
        stop_on_interrupt=True,
    )
    result.schedule.seconds = time.perf_counter() - began
    return result.schedule


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
register("tabu-pr", _tabu_pr_solver)
