"""The registry of named solving methods: every solver maps an instance to a schedule.

Methods are lowercase strings (``spt``, ``mwkr``, ``fdd-mwkr``, ``random``, ``cpsat``). Other
packages add methods through the ``jssp.methods`` entry-point group (``agents`` registers
``gnn`` and ``gnn-sample`` that way), so this core never imports them; :func:`load_plugins`
runs those registrations, and ``evaluate.py`` and ``jssp solve`` then treat all methods alike.
A family of methods that differ by a number in their name (``ls-500``, ``ls-5000``) registers
once by prefix with :func:`register_family`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jssp.dispatch import SCHEMES
from jssp.instance import Instance
from jssp.rules import RULE_NAMES, dispatch
from jssp.schedule import Schedule

MAX_SEED = 2**31 - 1
"""Largest seed: CP-SAT's random seed is a 32-bit integer."""
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

    def check(self) -> None:
        """Raise :class:`OptionError` naming the first option out of range."""
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise OptionError("time_limit", f"must be a finite number of seconds above 0, got {self.time_limit:g}")
        if not 0 <= self.seed <= MAX_SEED:
            raise OptionError("seed", f"must be between 0 and {MAX_SEED}, got {self.seed}")
        if self.cpsat_workers < 1:
            raise OptionError("cpsat_workers", f"must be at least 1, got {self.cpsat_workers}")
        if self.scheme not in SCHEMES:
            raise OptionError("scheme", f"must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if not _DEVICE_PATTERN.fullmatch(self.device):
            raise OptionError("device", f"must be auto, cpu, cuda, cuda:<index> or mps, got {self.device!r}")
        for name in ("checkpoint", "improvement_checkpoint"):
            if not getattr(self, name).strip():
                raise OptionError(name, "must name a checkpoint or folder, got an empty string")
        if self.samples < 1:
            raise OptionError("samples", f"must be at least 1, got {self.samples}")
        if self.temperature is not None and not (math.isfinite(self.temperature) and self.temperature > 0):
            raise OptionError("temperature", f"must be a finite number above 0, got {self.temperature:g}")


Solver = Callable[[Instance, SolveOptions], Schedule]
SolverFactory = Callable[[str], Solver]
"""Builds the solver of one method of a family from its full name (``"ls-500"``); ValueError if malformed."""
_REGISTRY: dict[str, Solver] = {}
_FAMILIES: dict[str, tuple[SolverFactory, str]] = {}  # prefix -> (factory, placeholder of the suffix)


def register(name: str, solver: Solver) -> None:
    """Make ``solver`` available under the lowercase method ``name``."""
    if name != name.lower() or not name:
        raise ValueError(f"method names are lowercase, got {name!r}")
    _REGISTRY[name] = solver


def register_family(prefix: str, factory: SolverFactory, placeholder: str) -> None:
    """Make every method named ``prefix + suffix`` available (``ls-500``, ``ls-5000``).

    Args:
        prefix: lowercase start of the names, e.g. ``"ls-"``.
        factory: builds the solver of one name; raises ValueError when the suffix is malformed.
        placeholder: what the suffix stands for, shown by :func:`method_names` (``"ls-<steps>"``).
    """
    if prefix != prefix.lower() or not prefix:
        raise ValueError(f"method prefixes are lowercase, got {prefix!r}")
    _FAMILIES[prefix] = (factory, placeholder)


def method_names() -> list[str]:
    """Registered methods, then one ``prefix<placeholder>`` entry per family."""
    return [*_REGISTRY, *(f"{prefix}<{placeholder}>" for prefix, (_, placeholder) in _FAMILIES.items())]


def has_method(name: str) -> bool:
    """Whether ``name`` is a registered method or a well-formed member of a family."""
    try:
        get_solver(name)
    except KeyError:
        return False
    return True


def load_plugins() -> None:
    """Run every registration function of the ``jssp.methods`` entry-point group."""
    from importlib.metadata import entry_points  # scans installed packages: only when a plugin is needed

    for entry_point in entry_points(group="jssp.methods"):
        entry_point.load()()


def ensure_methods(names: Iterable[str]) -> None:
    """Load plugins if any of ``names`` is not a built-in method (importing torch only when needed)."""
    if not all(has_method(name) for name in names):
        load_plugins()


def get_solver(name: str) -> Solver:
    """The solver registered as ``name``, or built by the family whose prefix starts it (longest
    prefix first); KeyError naming the available methods otherwise."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    for prefix in sorted(_FAMILIES, key=len, reverse=True):
        if name.startswith(prefix):
            factory, placeholder = _FAMILIES[prefix]
            try:
                return factory(name)
            except ValueError as error:
                raise KeyError(f"method {name!r} is not of the form {prefix}<{placeholder}>: {error}") from None
    raise KeyError(f"unknown method {name!r}; available: {', '.join(method_names())}")


def solve(instance: Instance, method: str, options: SolveOptions | None = None) -> Schedule:
    """Run one method, stamp its name and wall time on the schedule, and validate it.

    Raises:
        OptionError: if an option is out of range.
        jssp.validation.InfeasibleScheduleError: if the method returned an infeasible schedule.
    """
    options = options or SolveOptions()
    options.check()
    solver = get_solver(method)
    began = time.perf_counter()
    schedule = solver(instance, options)
    schedule.seconds = time.perf_counter() - began
    schedule.method = method
    schedule.check()
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
    return tabu_search(instance, initial, time_limit=remaining, seed=options.seed, lower_bound=lower_bound).schedule


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
    if remaining > 0:
        improved = tabu_search(
            instance, start, time_limit=share * remaining, seed=options.seed, lower_bound=lower_bound
        ).schedule
    final = improved
    remaining = options.time_limit - (time.perf_counter() - began) - 0.2
    if share < 1.0 and remaining > 0.05 and improved.makespan > lower_bound:  # at the bound it is optimal
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
