"""Random job-shop instances: uniform Taillard-style instances and Taillard's own seeded generator.

* :func:`random_instance` draws from numpy's ``default_rng``: durations uniform in ``[low, high]``,
  each job's route a uniform random permutation of the machines (the distribution of Taillard 1993).
* :func:`random_general_instance` draws instances with general routes: jobs of varying length
  that skip machines and come back to machines they visited (re-entrant flows).
* :class:`InstanceSampler` draws such instances of varying sizes, for training environments.
* :func:`taillard_instance` is Taillard's generator itself, bit for bit, so that
  :func:`taillard_benchmark` rebuilds ta01-ta80 from their published seeds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jssp.instance import MAX_DURATION, Instance

# ---------------------------------------------------------------------------------------------
# Uniform random instances
# ---------------------------------------------------------------------------------------------


def _check_size(num_jobs: int, num_machines: int) -> None:
    for label, value in (("num_jobs", num_jobs), ("num_machines", num_machines)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{label} must be an integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{label} must be at least 1, got {value}")


def _check_duration_range(low: int, high: int) -> None:
    for label, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{label} must be an integer, got {value!r}")
    if not 0 <= low <= high:
        raise ValueError(f"durations need 0 <= low <= high, got low={low}, high={high}")
    if high > MAX_DURATION:
        raise ValueError(f"high={high} is larger than the largest supported duration {MAX_DURATION}")


def random_instance(
    num_jobs: int,
    num_machines: int,
    seed: int | np.random.Generator,
    low: int = 1,
    high: int = 99,
    name: str | None = None,
) -> Instance:
    """A uniform random instance in the style of Taillard (1993).

    Durations are independent uniform integers in ``[low, high]`` (both inclusive) and every job's
    route is an independent uniform permutation of the machines.

    Args:
        num_jobs, num_machines: instance size.
        seed: an integer seed for ``numpy.random.default_rng`` (same seed, same instance), or a
            generator to draw from (it is advanced, as a training environment's ``np_random`` is).
        low, high: inclusive range of the durations, ``0 <= low <= high``.
        name: instance name; defaults to ``random_{num_jobs}x{num_machines}``, with ``_s{seed}``
            appended when the seed is an integer.

    Raises:
        ValueError: on a size below 1 or an empty or negative duration range.
    """
    _check_size(num_jobs, num_machines)
    _check_duration_range(low, high)
    if isinstance(seed, np.random.Generator):
        rng = seed
        default_name = f"random_{num_jobs}x{num_machines}"
    else:
        rng = np.random.default_rng(seed)
        default_name = f"random_{num_jobs}x{num_machines}_s{seed}"
    # durations, machines: (num_jobs, num_machines)
    durations = rng.integers(low, high, size=(num_jobs, num_machines), endpoint=True, dtype=np.int64)
    identity_routes = np.broadcast_to(np.arange(num_machines, dtype=np.int64), (num_jobs, num_machines))
    machines = rng.permuted(identity_routes, axis=1)
    return Instance(machines, durations, name=name or default_name)


def random_general_instance(
    num_jobs: int,
    num_machines: int,
    seed: int | np.random.Generator,
    route_lengths: tuple[int, int] | None = None,
    reentry: float = 0.2,
    low: int = 1,
    high: int = 99,
    name: str | None = None,
) -> Instance:
    """A random instance with general routes (partial and re-entrant).

    Each job's number of operations is uniform in ``route_lengths`` (default ``(1, 2 *
    num_machines)``). Each operation revisits, with probability ``reentry``, a machine the job
    has already used (uniformly among them), and otherwise goes to a machine it has not used yet
    (uniformly; a job that has used every machine revisits one). Durations are uniform in
    ``[low, high]``. ``num_machines`` is kept even if some machine ends up unused.

    Raises:
        ValueError: on a size below 1, a bad length range or a probability outside [0, 1].
    """
    _check_size(num_jobs, num_machines)
    _check_duration_range(low, high)
    shortest, longest = route_lengths if route_lengths is not None else (1, 2 * num_machines)
    if not 1 <= shortest <= longest:
        raise ValueError(f"route_lengths needs 1 <= shortest <= longest, got {route_lengths}")
    if not 0.0 <= reentry <= 1.0:
        raise ValueError(f"reentry is a probability, got {reentry}")
    if isinstance(seed, np.random.Generator):
        rng = seed
        default_name = f"general_{num_jobs}x{num_machines}"
    else:
        rng = np.random.default_rng(seed)
        default_name = f"general_{num_jobs}x{num_machines}_s{seed}"
    routes = []
    for _ in range(num_jobs):
        length = int(rng.integers(shortest, longest, endpoint=True))
        unused = list(rng.permutation(num_machines))
        used: list[int] = []
        route = []
        for _ in range(length):
            if unused and (not used or rng.random() >= reentry):
                machine = int(unused.pop())
                used.append(machine)
            else:
                machine = used[int(rng.integers(len(used)))]
            route.append((machine, int(rng.integers(low, high, endpoint=True))))
        routes.append(route)
    return Instance.from_routes(routes, name=name or default_name, num_machines=num_machines)


def parse_size(text: str) -> tuple[int, int]:
    """``"15x15"`` -> ``(15, 15)``: a size written as jobs x machines, as in the benchmark tables."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None:
        raise ValueError(f"size {text!r} is not of the form JOBSxMACHINES, for example '15x15'")
    num_jobs, num_machines = int(match.group(1)), int(match.group(2))
    if num_jobs < 1 or num_machines < 1:
        raise ValueError(f"size {text!r} needs at least one job and one machine")
    return num_jobs, num_machines


@dataclass(frozen=True)
class InstanceSampler:
    """Draws uniform random instances whose size is chosen uniformly from a fixed list.

    Training environments hold one and call :meth:`sample` with their ``np_random`` on every
    reset, so the whole stream of instances follows from the environment's seed.

    Attributes:
        sizes: candidate ``(num_jobs, num_machines)`` sizes; a list is accepted and stored as a tuple.
        low, high: inclusive range of the durations.
        general: fraction of instances drawn with general routes (:func:`random_general_instance`
            with route lengths 1..2*num_machines and ``reentry``), the rest classical.
        reentry: re-entry probability of the general instances.
    """

    sizes: Sequence[tuple[int, int]]
    low: int = 1
    high: int = 99
    general: float = 0.0
    reentry: float = 0.2

    def __post_init__(self) -> None:
        try:
            sizes = tuple(tuple(size) for size in self.sizes)
        except TypeError:
            raise ValueError(f"sizes must be a list of (num_jobs, num_machines) pairs, got {self.sizes!r}") from None
        if not sizes:
            raise ValueError("InstanceSampler needs at least one size")
        for size in sizes:
            if len(size) != 2:
                raise ValueError(f"a size is a (num_jobs, num_machines) pair, got {size!r}")
            _check_size(*size)
        _check_duration_range(self.low, self.high)
        for label, value in (("general", self.general), ("reentry", self.reentry)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{label} is a probability, got {value}")
        object.__setattr__(self, "sizes", sizes)

    def sample(self, rng: np.random.Generator) -> Instance:
        """One instance: a size drawn uniformly from :attr:`sizes`, then :func:`random_instance`
        (or, with probability :attr:`general`, :func:`random_general_instance`)."""
        num_jobs, num_machines = self.sizes[int(rng.integers(len(self.sizes)))]
        if self.general > 0 and rng.random() < self.general:
            return random_general_instance(
                num_jobs, num_machines, rng, reentry=self.reentry, low=self.low, high=self.high
            )
        return random_instance(num_jobs, num_machines, rng, low=self.low, high=self.high)


# ---------------------------------------------------------------------------------------------
# Taillard's generator (E. Taillard, "Benchmarks for basic scheduling problems",
# European Journal of Operational Research 64(2):278-285, 1993)
# ---------------------------------------------------------------------------------------------

# Lehmer / Park-Miller minimal standard generator in Schrage's overflow-free form, with the
# constants printed in Taillard's paper: seed <- a * seed mod m, computed as a*(seed mod b) - c*(seed div b).
_LCG_A = 16807
_LCG_B = 127773
_LCG_C = 2836
_LCG_M = 2**31 - 1

TAILLARD_MIN_DURATION = 1
TAILLARD_MAX_DURATION = 99

# Seeds (time_seed, machine_seed) of Taillard's job-shop instances, in order ta01 .. ta80.
# Published in Taillard (1993), table of job-shop instances, and repeated in the header of every
# instance in Taillard's own files (tai015_15.txt ... tai100_20.txt: "Nb of jobs, Nb of Machines,
# Time seed, Machine seed, Upper bound, Lower bound"). Transcribed from public copies of those
# lists; every pair is confirmed by regenerating its instance equal to the file in instances/
# (tests/test_generators.py), which a wrong seed could not do.
_TAILLARD_SEED_LIST: tuple[tuple[int, int], ...] = (
    # ta01-ta10: 15 jobs x 15 machines
    (840612802, 398197754),
    (1314640371, 386720536),
    (1227221349, 316176388),
    (342269428, 1806358582),
    (1603221416, 1501949241),
    (1357584978, 1734077082),
    (44531661, 1374316395),
    (302545136, 2092186050),
    (1153780144, 1393392374),
    (73896786, 1544979948),
    # ta11-ta20: 20 x 15
    (533484900, 317419073),
    (1894307698, 1474268163),
    (874340513, 509669280),
    (1124986343, 1209573668),
    (1463788335, 529048107),
    (1056908795, 25321885),
    (195672285, 1717580117),
    (961965583, 1353003786),
    (1610169733, 1734469503),
    (532794656, 998486810),
    # ta21-ta30: 20 x 20
    (1035939303, 773961798),
    (5997802, 1872541150),
    (1357503601, 722225039),
    (806159563, 1166962073),
    (1902815253, 1879990068),
    (1503184031, 1850351876),
    (1032645967, 99711329),
    (229894219, 1158117804),
    (823349822, 108033225),
    (1297900341, 489486403),
    # ta31-ta40: 30 x 15
    (98640593, 1981283465),
    (1839268120, 248890888),
    (573875290, 2081512253),
    (1670898570, 788294565),
    (1118914567, 1074349202),
    (178750207, 294279708),
    (1549372605, 596993084),
    (798174738, 151685779),
    (553410952, 1329272528),
    (1661531649, 1173386294),
    # ta41-ta50: 30 x 20
    (1841414609, 1357882888),
    (2116959593, 1546338557),
    (796392706, 1230864158),
    (532496463, 254174057),
    (2020525633, 978943053),
    (524444252, 185526083),
    (1569394691, 487269855),
    (1460267840, 1631446539),
    (198324822, 1937476577),
    (38071822, 1541985579),
    # ta51-ta60: 50 x 15
    (17271, 718939),
    (660481279, 449650254),
    (352229765, 949737911),
    (1197518780, 166840558),
    (1376020303, 483922052),
    (2106639239, 955932362),
    (1765352082, 1209982549),
    (1105092880, 1349003108),
    (907248070, 919544535),
    (2011630757, 1845447001),
    # ta61-ta70: 50 x 20
    (8493988, 2738939),
    (1991925010, 709517751),
    (342093237, 786960785),
    (1634043183, 973178279),
    (341706507, 286513148),
    (320167954, 1411193018),
    (1089696753, 298068750),
    (433032965, 1589656152),
    (615974477, 331205412),
    (236150141, 592292984),
    # ta71-ta80: 100 x 20
    (302034063, 1203569070),
    (1437643198, 1692025209),
    (1792475497, 1039908559),
    (1647273132, 1012841433),
    (696480901, 1689682358),
    (1785569423, 1092647459),
    (117806902, 739059626),
    (1639154709, 1319962509),
    (2007423389, 749368241),
    (682761130, 262763021),
)

# Size (num_jobs, num_machines) of each group of ten, ta01-ta10 first.
_TAILLARD_GROUP_SIZES = ((15, 15), (20, 15), (20, 20), (30, 15), (30, 20), (50, 15), (50, 20), (100, 20))

TAILLARD_SEEDS: dict[str, tuple[int, int]] = {
    f"ta{index + 1:02d}": seeds for index, seeds in enumerate(_TAILLARD_SEED_LIST)
}
"""(time_seed, machine_seed) of ta01 .. ta80, as published by Taillard (1993)."""


def taillard_unif(seed: int, low: int, high: int) -> tuple[int, int]:
    """One draw of Taillard's ``unif(seed, low, high)``: returns ``(next_seed, value)``.

    The seed advances by the minimal standard generator (a = 16807, m = 2^31 - 1, Schrage's
    b = 127773, c = 2836) and the value is ``low + floor(seed / m * (high - low + 1))``, an
    integer in ``[low, high]``. The seed must lie in ``1 .. 2^31 - 2``.
    """
    k = seed // _LCG_B
    seed = _LCG_A * (seed % _LCG_B) - k * _LCG_C
    if seed < 0:
        seed += _LCG_M
    value_0_1 = seed / _LCG_M
    return seed, low + int(value_0_1 * (high - low + 1))


def _check_taillard_seed(label: str, seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 1 <= seed < _LCG_M:
        raise ValueError(f"{label} must be an integer in 1..{_LCG_M - 1}, got {seed!r}")


def taillard_instance(
    num_jobs: int, num_machines: int, time_seed: int, machine_seed: int, name: str | None = None
) -> Instance:
    """Taillard's (1993) job-shop generator, reproducing his published instances exactly.

    The procedure of the paper, with 0-based machines:

    1. durations: for every job, then every operation in order, ``d[j, k] = unif(time_seed, 1, 99)``;
    2. routes: for every job, start from the identity ``M[j] = (0, 1, ..., m-1)`` and for
       ``k = 0 .. m-1`` swap ``M[j, k]`` with ``M[j, unif(machine_seed, k, m-1)]``
       (the paper's 1-based ``unif(machine_seed, k, m)``, shifted by one).

    Both streams run on through all jobs; the time stream is consumed completely before the
    machine stream is used, but they are independent so only the order within each matters.

    Raises:
        ValueError: on a size below 1 or a seed outside ``1 .. 2^31 - 2``.
    """
    _check_size(num_jobs, num_machines)
    _check_taillard_seed("time_seed", time_seed)
    _check_taillard_seed("machine_seed", machine_seed)
    default_name = f"taillard_{num_jobs}x{num_machines}_{time_seed}_{machine_seed}"
    time_seed, machine_seed = int(time_seed), int(machine_seed)

    # durations, machines: (num_jobs, num_machines)
    durations: npt.NDArray[np.int64] = np.empty((num_jobs, num_machines), dtype=np.int64)
    for job_id in range(num_jobs):
        for op_index in range(num_machines):
            time_seed, durations[job_id, op_index] = taillard_unif(
                time_seed, TAILLARD_MIN_DURATION, TAILLARD_MAX_DURATION
            )

    machines: npt.NDArray[np.int64] = np.empty((num_jobs, num_machines), dtype=np.int64)
    for job_id in range(num_jobs):
        route = list(range(num_machines))
        for op_index in range(num_machines):
            machine_seed, other = taillard_unif(machine_seed, op_index, num_machines - 1)
            route[op_index], route[other] = route[other], route[op_index]
        machines[job_id] = route

    return Instance(machines, durations, name=name or default_name)


def taillard_benchmark(name: str) -> Instance:
    """Regenerate a Taillard benchmark (``"ta01"`` .. ``"ta80"``) from its published seeds."""
    if name not in TAILLARD_SEEDS:
        raise KeyError(f"unknown Taillard job-shop instance {name!r}: expected ta01 .. ta80")
    index = int(name[2:]) - 1
    num_jobs, num_machines = _TAILLARD_GROUP_SIZES[index // 10]
    time_seed, machine_seed = TAILLARD_SEEDS[name]
    return taillard_instance(num_jobs, num_machines, time_seed, machine_seed, name=name)
