"""The classical benchmark instances in ``instances/`` with their best-known bounds.

Selectors, as used by ``evaluate.py --instances``:

* a name: ``ta01``, ``ft06``;
* a family: ``ta``, ``dmu``, ``la``, ``ft``, ``abz``, ``orb``, ``swv``, ``yn``;
* a family restricted to one size group: ``ta:15x15`` (jobs x machines);
* a range of names: ``ta01-ta10``;
* ``all``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from jssp.instance import Instance
from jssp.parsing import read_instance

FAMILIES = ("ft", "la", "abz", "orb", "swv", "yn", "ta", "dmu")


def instances_dir() -> Path:
    """Folder of the benchmark files: ``$JSSP_INSTANCES`` or the repository's ``instances/``."""
    override = os.environ.get("JSSP_INSTANCES")
    return Path(override) if override else Path(__file__).resolve().parents[1] / "instances"


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

    @property
    def shape(self) -> str:
        return f"{self.num_jobs}x{self.num_machines}"

    @property
    def optimal(self) -> bool:
        return self.best_known == self.lower_bound


@functools.cache
def catalogue() -> dict[str, BenchmarkInfo]:
    """Every known benchmark by name, in the order of ``bounds.json``."""
    path = instances_dir() / "bounds.json"
    data = json.loads(path.read_text())
    return {
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


def load(name: str) -> Instance:
    """Load one benchmark instance by name (``ta01``)."""
    if name not in catalogue():
        raise KeyError(f"unknown benchmark instance {name!r}")
    return read_instance(instances_dir() / f"{name}.txt", name=name)


def _sort_key(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"([a-z]+)(\d+)", name)
    return (match.group(1), int(match.group(2))) if match else (name, 0)


def select(selector: str) -> list[str]:
    """Names matching one selector (see the module docstring), in natural order."""
    names = list(catalogue())
    selector = selector.strip().lower()
    if selector == "all":
        return names
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
    match = re.fullmatch(r"([a-z]+\d+)-([a-z]+\d+)", selector)
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


def compute_fingerprints() -> dict[str, str]:
    """:meth:`Instance.fingerprint` -> name of every benchmark, read from the instance files (slow: all of them)."""
    return {load(name).fingerprint(): name for name in catalogue()}


def write_fingerprints(path: Path) -> int:
    """Write :func:`compute_fingerprints` to ``path``; returns how many instances it holds.

    The file is written beside its target and renamed over it, so a crash never leaves it cut short.
    """
    fingerprints = compute_fingerprints()
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
    """The committed index; computed from the files when the folder has none (a ``$JSSP_INSTANCES`` copy)."""
    path = instances_dir() / FINGERPRINTS_FILE
    if not path.exists():
        return compute_fingerprints()
    document = json.loads(path.read_text())
    if document.get("format") != FINGERPRINTS_FORMAT:
        raise ValueError(f"{path}: not a {FINGERPRINTS_FORMAT} file; regenerate it with --write-fingerprints")
    return dict(document["instances"])


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
        "--write-fingerprints", action="store_true", help=f"rewrite {FINGERPRINTS_FILE} from the instance files"
    )
    args = parser.parse_args(argv)
    if not args.write_fingerprints:
        parser.print_help()
        return 2
    path = instances_dir() / FINGERPRINTS_FILE
    print(f"wrote {write_fingerprints(path)} fingerprints to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
