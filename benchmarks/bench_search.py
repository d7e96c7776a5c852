"""Search variants against each other at equal wall time, two at once (one core each), from the same start.

    .venv/bin/python benchmarks/bench_search.py --instances generated --time-limit 10 \
        --out results/search-ablation-gen10
    .venv/bin/python benchmarks/bench_search.py --instances ta21-ta30 --time-limit 60 --out results/X

Each variant is a name: ``tabu`` (plain tabu search, ``jssp.local_search.tabu_search``) or
``pr-<chooser>`` (``jssp.local_search.elite.elite_search`` with one worker and that chooser: ``bandit``, the
learned part, or ``fixed``, TS/PR without it). Every variant starts from the best rule schedule
(``jssp.solvers.best_rule_start``, built once per instance) with the same seed, and gets the same
seconds; the two variants of an instance run at the same time in two processes, so that each has a
core of the two-core machine. ``generated`` is 42 random instances from 15x15 to 50x20 (six of each of
seven shapes, seeds 9000 on), drawn here and never used to choose a setting. Writes ``OUT/results.csv``
(a row per solve, as it finishes; ``--resume`` skips the solves already there), ``OUT/summary.md`` (mean
gap per group to the best known, or for generated instances to the best makespan of any variant, and
the paired wins of the first variant) and ``OUT/config.json``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import multiprocessing
import platform
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

from jssp import benchmarks
from jssp.generators import random_instance
from jssp.instance import Instance
from jssp.local_search import tabu_search
from jssp.local_search.elite import EliteSettings, elite_search
from jssp.local_search.elite import warm_up as warm_up_search
from jssp.solvers import START_SHARE, best_rule_start

GENERATED_SHAPES = ((15, 15), (20, 15), (20, 20), (30, 15), (30, 20), (50, 15), (50, 20))
GENERATED_PER_SHAPE = 6
GENERATED_SEED = 9000
COLUMNS = ("instance", "group", "variant", "makespan", "best_known", "iterations", "info")


@dataclass(frozen=True)
class SearchBenchConfig:
    """What to compare."""

    instances: tuple[str, ...] = ("generated",)
    """Benchmark selectors (see jssp.benchmarks.select), or ``generated``."""
    variants: tuple[str, str] = ("pr-bandit", "pr-fixed")
    """The two variants (tabu, pr-bandit, pr-fixed); wins are counted for the first."""
    time_limit: float = 10.0
    """Seconds per solve, the start schedule included."""
    seed: int = 0
    """Seed of every search."""
    out: Path = Path("runs/bench-search")
    """Output folder."""
    resume: bool = False
    """Skip the solves already in OUT/results.csv."""


def generated_instances() -> list[Instance]:
    instances = []
    for num_jobs, num_machines in GENERATED_SHAPES:
        for _ in range(GENERATED_PER_SHAPE):
            seed = GENERATED_SEED + len(instances)
            name = f"gen{num_jobs}x{num_machines}-{seed}"
            instances.append(random_instance(num_jobs, num_machines, seed, name=name))
    return instances


def solve_variant(instance: Instance, group: str, variant: str, cfg: SearchBenchConfig) -> dict[str, object]:
    warm_up_search()
    began_budget = START_SHARE * cfg.time_limit
    start = best_rule_start(instance, began_budget)
    remaining = cfg.time_limit - start.seconds
    lower_bound = instance.trivial_lower_bound()
    if variant == "tabu":
        result = tabu_search(instance, start, remaining, seed=cfg.seed, lower_bound=lower_bound)
    else:
        settings = EliteSettings(chooser=variant.removeprefix("pr-"))
        result = elite_search(instance, start, remaining, seed=cfg.seed, lower_bound=lower_bound, settings=settings)
    result.schedule.check()
    info = {key: value for key, value in result.schedule.info.items() if key in ("rounds", "improving_rounds")}
    return {
        "instance": instance.name,
        "group": group,
        "variant": variant,
        "makespan": result.schedule.makespan,
        "best_known": "",
        "iterations": result.iterations,
        "info": json.dumps(info),
    }


def main(cfg: SearchBenchConfig) -> None:
    # ------------------------------------------------------------------ instances and what is done
    cases: list[tuple[Instance, str, int | None]] = []
    for selector in cfg.instances:
        if selector == "generated":
            cases += [
                (instance, f"{instance.num_jobs}x{instance.num_machines}", None) for instance in generated_instances()
            ]
            continue
        catalogue = benchmarks.catalogue()
        for name in benchmarks.select(selector):
            instance = benchmarks.load(name)
            group = f"{name.rstrip('0123456789')} {instance.num_jobs}x{instance.num_machines}"
            cases.append((instance, group, catalogue[name].best_known))
    cfg.out.mkdir(parents=True, exist_ok=True)
    results_path = cfg.out / "results.csv"
    rows = list(csv.DictReader(results_path.open())) if cfg.resume and results_path.exists() else []
    done = {(row["instance"], row["variant"]) for row in rows}
    config = {**dataclasses.asdict(cfg), "out": str(cfg.out), "machine": platform.processor() or platform.machine()}
    (cfg.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    # ------------------------------------------------------------------ solve, two at a time
    with results_path.open("a" if rows else "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        if not rows:
            writer.writeheader()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(2, mp_context=context) as pool:
            for instance, group, best_known in cases:
                futures = [
                    pool.submit(solve_variant, instance, group, variant, cfg)
                    for variant in cfg.variants
                    if (instance.name, variant) not in done
                ]
                for future in futures:
                    row = future.result()
                    row["best_known"] = "" if best_known is None else best_known
                    writer.writerow(row)
                    file.flush()
                    rows.append({key: str(value) for key, value in row.items()})
                print(instance.name, *(f"{row['variant']}={row['makespan']}" for row in rows[-len(futures) :]))

    # ------------------------------------------------------------------ summary
    (cfg.out / "summary.md").write_text(summary(rows, cfg))
    print((cfg.out / "summary.md").read_text())


def summary(rows: list[dict[str, str]], cfg: SearchBenchConfig) -> str:
    first, second = cfg.variants
    by_instance: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        by_instance.setdefault(row["instance"], {})[row["variant"]] = row
    groups: dict[str, list[tuple[float, float]]] = {}
    for pair in by_instance.values():
        if first not in pair or second not in pair:
            continue
        makespans = (int(pair[first]["makespan"]), int(pair[second]["makespan"]))
        known = pair[first]["best_known"]
        reference = int(known) if known else min(makespans)
        gaps = tuple(100 * (makespan - reference) / reference for makespan in makespans)
        groups.setdefault(pair[first]["group"], []).append(gaps)  # type: ignore[arg-type]
    reference_name = "best known" if any(row["best_known"] for row in rows) else "better of the two"
    lines = [
        f"Mean gap % to the {reference_name}, {cfg.time_limit:g} s per solve, one core each, seed {cfg.seed}.",
        "",
        f"| group | instances | {first} | {second} | {first} wins | ties | {second} wins |",
        "|---|---|---|---|---|---|---|",
    ]
    everything: list[tuple[float, float]] = []
    for group, gaps in sorted(groups.items()):
        everything += gaps
        lines.append(_line(group, gaps))
    lines.append(_line("all", everything))
    return "\n".join(lines) + "\n"


def _line(group: str, gaps: list[tuple[float, float]]) -> str:
    values = np.array(gaps)
    wins = int((values[:, 0] < values[:, 1]).sum())
    losses = int((values[:, 0] > values[:, 1]).sum())
    ties = len(values) - wins - losses
    means = f"{values[:, 0].mean():.2f} | {values[:, 1].mean():.2f}"
    return f"| {group} | {len(values)} | {means} | {wins} | {ties} | {losses} |"


if __name__ == "__main__":
    main(tyro.cli(SearchBenchConfig))
