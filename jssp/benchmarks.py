"""The benchmark instances in ``instances/`` with their best-known bounds.

Two collections:

* the 242 classical instances (``instances/*.txt``, bounds in ``instances/bounds.json``);
* Da Col & Teppan's 90 very large instances, family ``tai`` (``instances/large/tai_J_M_K.txt.gz``,
  10x10 to 1000x1000, bounds and published engine results in ``instances/large/bounds.csv``). The
  ten 1000x1000 files (31 MB) are not shipped: they are read from ``$JSSP_LARGE_INSTANCES`` (a
  folder holding ``tai_1000_1000_K.txt`` or ``.txt.gz``) when set.

Selectors, as used by ``evaluate.py --instances``:

* a name: ``ta01``, ``ft06``, ``tai_100_100_1``;
* a family: ``ta``, ``dmu``, ``la``, ``ft``, ``abz``, ``orb``, ``swv``, ``yn``, ``tai``;
* a family restricted to one size group: ``ta:15x15``, ``tai:100x100`` (jobs x machines);
* a range of names: ``ta01-ta10``, ``tai_100_100_1-tai_100_100_5``;
* ``all``: the 242 classical instances (``tai`` is only selected by name).
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from jssp.instance import Instance
from jssp.parsing import read_instance

CLASSICAL_FAMILIES = ("ft", "la", "abz", "orb", "swv", "yn", "ta", "dmu")
LARGE_FAMILY = "tai"
FAMILIES = (*CLASSICAL_FAMILIES, LARGE_FAMILY)
LARGE_DIR_VARIABLE = "JSSP_LARGE_INSTANCES"


class InstanceNotAvailableError(FileNotFoundError):
    """A catalogued instance whose file is not shipped and not found where the user pointed."""


def instances_dir() -> Path:
    """Folder of the benchmark files: ``$JSSP_INSTANCES`` or the repository's ``instances/``."""
    override = os.environ.get("JSSP_INSTANCES")
    return Path(override) if override else Path(__file__).resolve().parents[1] / "instances"


def large_dirs() -> list[Path]:
    """Where ``tai`` files are looked for: ``$JSSP_LARGE_INSTANCES`` first, then ``instances/large``."""
    folders = [instances_dir() / "large"]
    override = os.environ.get(LARGE_DIR_VARIABLE)
    return [Path(override), *folders] if override else folders


@dataclass(frozen=True)
class BenchmarkInfo:
    """Bounds of one benchmark instance (from ``instances/bounds.json``).

    Attributes:
        best_known: best known makespan (upper bound); gaps are measured against it.
        lower_bound: best proven lower bound; equals ``best_known`` when the optimum is known.
    """

    name: str
    family: str
    num_jobs: int
    num_machines: int
    best_known: int
    lower_bound: int
    published: dict[str, int] = field(default_factory=dict, compare=False)
    """Makespans published engines reached (``tai`` only), by column: ``optalcp_2026.2_60s`` etc."""

    @property
    def shape(self) -> str:
        return f"{self.num_jobs}x{self.num_machines}"

    @property
    def optimal(self) -> bool:
        return self.best_known == self.lower_bound


_LARGE_BOUND_COLUMNS = ("instance", "jobs", "machines", "lower_bound", "best_known", "status")


@functools.cache
def catalogue() -> dict[str, BenchmarkInfo]:
    """Every known benchmark by name: ``bounds.json``'s order, then the ``tai`` family."""
    path = instances_dir() / "bounds.json"
    data = json.loads(path.read_text())
    infos = {
        entry["name"]: BenchmarkInfo(
            name=entry["name"],
            family=entry["family"],
            num_jobs=entry["n_jobs"],
            num_machines=entry["n_machines"],
            best_known=entry["upper_bound"],
            lower_bound=entry["lower_bound"],
        )
        for entry in data["instances"]
    }
    large = instances_dir() / "large" / "bounds.csv"
    if large.exists():
        with large.open(newline="") as stream:
            for row in csv.DictReader(stream):
                infos[row["instance"]] = BenchmarkInfo(
                    name=row["instance"],
                    family=LARGE_FAMILY,
                    num_jobs=int(row["jobs"]),
                    num_machines=int(row["machines"]),
                    best_known=int(row["best_known"]),
                    lower_bound=int(row["lower_bound"]),
                    published={
                        column: int(value)
                        for column, value in row.items()
                        if column not in _LARGE_BOUND_COLUMNS and value
                    },
                )
    return infos


def instance_path(name: str) -> Path:
    """The file of one benchmark instance.

    Raises:
        KeyError: the name is not in the catalogue.
        InstanceNotAvailableError: a ``tai`` file that is neither shipped nor in ``$JSSP_LARGE_INSTANCES``.
    """
    info = catalogue().get(name)
    if info is None:
        raise KeyError(f"unknown benchmark instance {name!r}")
    if info.family != LARGE_FAMILY:
        return instances_dir() / f"{name}.txt"
    for folder in large_dirs():
        for suffix in (".txt.gz", ".txt"):
            if (folder / f"{name}{suffix}").exists():
                return folder / f"{name}{suffix}"
    raise InstanceNotAvailableError(
        f"{name} is not shipped with the package (the 1000x1000 files are 31 MB); put tai_1000_1000_K.txt.gz "
        f"(JSPLib, jobshop/instances/text/DacolTeppan2022/standard) in a folder and set {LARGE_DIR_VARIABLE}=FOLDER"
    )


def load(name: str) -> Instance:
    """Load one benchmark instance by name (``ta01``, ``tai_100_100_1``)."""
    return read_instance(instance_path(name), name=name)


def _sort_key(name: str) -> tuple[str, tuple[int, ...]]:
    """Natural order: ``ta2 < ta10``, ``tai_100_10_2 < tai_100_10_10``."""
    match = re.fullmatch(r"([a-z]+)_?([\d_]+)", name)
    if match is None:
        return (name, ())
    return (match.group(1), tuple(int(part) for part in match.group(2).split("_")))


def select(selector: str) -> list[str]:
    """Names matching one selector (see the module docstring), in natural order."""
    names = list(catalogue())
    selector = selector.strip().lower()
    if selector == "all":
        return [name for name in names if catalogue()[name].family != LARGE_FAMILY]
    if selector in catalogue():
        return [selector]
    if selector in FAMILIES:
        return sorted((name for name in names if catalogue()[name].family == selector), key=_sort_key)
    match = re.fullmatch(r"([a-z]+):(\d+)x(\d+)", selector)
    if match and match.group(1) in FAMILIES:
        family, jobs, machines = match.group(1), int(match.group(2)), int(match.group(3))
        chosen = [
            name
            for name, info in catalogue().items()
            if info.family == family and info.num_jobs == jobs and info.num_machines == machines
        ]
        if not chosen:
            raise KeyError(f"family {family!r} has no {jobs}x{machines} instances")
        return sorted(chosen, key=_sort_key)
    match = re.fullmatch(r"([a-z]+[\d_]+)-([a-z]+[\d_]+)", selector)
    if match and match.group(1) in catalogue() and match.group(2) in catalogue():
        low, high = _sort_key(match.group(1)), _sort_key(match.group(2))
        if low[0] == high[0]:
            return sorted((name for name in names if low <= _sort_key(name) <= high), key=_sort_key)
    raise KeyError(
        f"unknown instance selector {selector!r}: use a name (ta01), a family ({', '.join(FAMILIES)}), "
        "a size group (ta:15x15), a range (ta01-ta10) or 'all'"
    )


def select_many(selectors: list[str]) -> list[str]:
    """Union of several selectors, first occurrence order, no repeats."""
    chosen: dict[str, None] = {}
    for selector in selectors:
        for name in select(selector):
            chosen[name] = None
    return list(chosen)


FINGERPRINTS_FILE = "fingerprints.json"
"""Index beside ``bounds.json``: content fingerprint -> benchmark name, so recognising an instance reads one file."""
FINGERPRINTS_FORMAT = "jssp-fingerprints/1"


def compute_fingerprints(family: str = "classical") -> dict[str, str]:
    """:meth:`Instance.fingerprint` -> name, read from the instance files (slow: all of them).

    Args:
        family: ``"classical"`` (the 242 files of ``instances/``) or ``"tai"`` (every large file found,
            shipped or in ``$JSSP_LARGE_INSTANCES``; unavailable ones are left out).
    """
    fingerprints = {}
    for name, info in catalogue().items():
        if (info.family == LARGE_FAMILY) != (family == LARGE_FAMILY):
            continue
        try:
            fingerprints[load(name).fingerprint()] = name
        except InstanceNotAvailableError:
            continue
    return fingerprints


def _fingerprints_path(family: str) -> Path:
    folder = instances_dir() / "large" if family == LARGE_FAMILY else instances_dir()
    return folder / FINGERPRINTS_FILE


def write_fingerprints(path: Path, family: str = "classical") -> int:
    """Write :func:`compute_fingerprints` to ``path``; returns how many instances it holds.

    The file is written beside its target and renamed over it, so a crash never leaves it cut short.
    """
    fingerprints = compute_fingerprints(family)
    document = {
        "format": FINGERPRINTS_FORMAT,
        "description": "SHA-256 of each benchmark's shape, machines and durations (jssp.instance.Instance.fingerprint) "
        "-> its name; regenerate with: python -m jssp.benchmarks --write-fingerprints",
        "instances": fingerprints,
    }
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(temporary, path)
    return len(fingerprints)


@functools.cache
def _by_fingerprint() -> dict[str, str]:
    """The committed indexes (classical and ``tai``); computed from the files where a folder has none."""
    index: dict[str, str] = {}
    for family in ("classical", LARGE_FAMILY):
        path = _fingerprints_path(family)
        if not path.exists():
            index.update(compute_fingerprints(family))
            continue
        document = json.loads(path.read_text())
        if document.get("format") != FINGERPRINTS_FORMAT:
            raise ValueError(f"{path}: not a {FINGERPRINTS_FORMAT} file; regenerate it with --write-fingerprints")
        index.update(document["instances"])
    return index


def identify(instance: Instance) -> BenchmarkInfo | None:
    """The benchmark whose content equals ``instance`` (whatever its name or file layout), if any."""
    name = _by_fingerprint().get(instance.fingerprint())
    return catalogue()[name] if name else None


def known_bounds(instance: Instance) -> tuple[int | None, int]:
    """(best known makespan or None, best lower bound known) for any instance.

    The lower bound is the benchmark's proven bound when the content is a known benchmark,
    else the trivial bound max(longest job, most loaded machine).
    """
    info = identify(instance)
    trivial = instance.trivial_lower_bound()
    if info is None:
        return None, trivial
    return info.best_known, max(info.lower_bound, trivial)


def gap_percent(makespan: int, best_known: int | None) -> float | None:
    """(makespan - best known) / best known x 100, or None when no best known value exists."""
    if best_known is None or best_known <= 0:
        return None
    return 100.0 * (makespan - best_known) / best_known


def main(argv: list[str] | None = None) -> int:
    """``python -m jssp.benchmarks --write-fingerprints``: regenerate the fingerprint index from the files."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m jssp.benchmarks", description="Maintain the benchmark folder.")
    parser.add_argument(
        "--write-fingerprints",
        action="store_true",
        help=f"rewrite {FINGERPRINTS_FILE} of instances/ and instances/large/ from the instance files "
        f"(for the 1000x1000 ones, set {LARGE_DIR_VARIABLE})",
    )
    args = parser.parse_args(argv)
    if not args.write_fingerprints:
        parser.print_help()
        return 2
    for family in ("classical", LARGE_FAMILY):
        path = _fingerprints_path(family)
        print(f"wrote {write_fingerprints(path, family)} fingerprints to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
