"""Rerun a sample of the committed result folders and check that every makespan is the same.

    .venv/bin/python benchmarks/reproduce_sample.py --out results/reproduce-sample

Each sample reruns part of a committed evaluation with its settings (``evaluate.py`` in-process, or
``benchmarks/ls_vs_tabu.py``) into ``OUT/<name>`` and matches its rows with the committed
``results.csv`` by (instance, method), or (instance, rate, seed, method) for the blocking problem.
Only makespans are compared: the seconds depend on the machine. Writes ``OUT/summary.md``; exits 1
if any makespan differs or a rerun solve has no committed row. Deterministic methods only (the
rules, greedy learned dispatchers, the lookahead, tabu search with a fixed iteration count): a
time-limited search finds what its time allows.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tyro

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
TA01_TA10 = ("ta01-ta10",)
LA01_LA05 = ("la01-la05",)
RULES = "spt,lpt,mwkr,lwkr,mor,lor,mopnr,fifo,fdd-mwkr,random"


@dataclass(frozen=True)
class Sample:
    """One rerun: the committed folder it reproduces and the evaluate.py settings of the part rerun."""

    name: str
    folder: str
    settings: dict[str, Any] = field(default_factory=dict)


SAMPLES = (
    Sample("rules-ta01-ta10", "ta-dmu-rules-cpsat10", {"instances": TA01_TA10, "methods": RULES}),
    Sample("gnn-ta01-ta05", "ta-dmu-gnn-imitation", {"instances": ("ta01-ta05",), "methods": "gnn"}),
    Sample(
        "isbjssp-rules-la01-la05",
        "isbjssp-rules",
        {"problem": "isbjssp", "instances": LA01_LA05, "methods": RULES, "shutdown_rates": (0.0, 0.01), "seeds": 30},
    ),
    Sample(
        "isbjssp-gnn-la01-la05",
        "isbjssp-gnn",
        {"problem": "isbjssp", "instances": LA01_LA05, "methods": "gnn", "shutdown_rates": (0.0, 0.01), "seeds": 5},
    ),
    Sample(
        "isbjssp-lookahead-la01-la05",
        "isbjssp-lookahead",
        {
            "problem": "isbjssp",
            "instances": LA01_LA05,
            "methods": "lookahead-lor",
            "shutdown_rates": (0.0, 0.01),
            "seeds": 5,
        },
    ),
)


@dataclass(frozen=True)
class ReproduceConfig:
    """Where the reruns go."""

    out: Path = Path("results/reproduce-sample")
    """Output folder: one sub-folder per sample, and summary.md."""
    tabu: bool = True
    """Also rerun benchmarks/ls_vs_tabu.py on ta01-ta10 (gnn-ppo start, 500 learned moves, 500 tabu iterations)."""


def _key(row: dict[str, str], column: str) -> tuple[str, ...]:
    rate = row.get("rate")
    return (row["instance"], "" if rate is None else f"{float(rate):g}", row.get("seed", ""), column)


def _makespans(path: Path, columns: dict[str, str]) -> dict[tuple[str, ...], int]:
    """(instance, rate, seed, method) -> makespan; ``columns`` maps a makespan column to its method (``makespan``
    to the row's own method)."""
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    found = {}
    for row in rows:
        for column, method in columns.items():
            if row.get(column) not in (None, ""):
                found[_key(row, method or row["method"])] = int(float(row[column]))
    return found


def _compare(
    name: str, rerun: dict[tuple[str, ...], int], committed: dict[tuple[str, ...], int]
) -> tuple[list[str], bool]:
    """The summary line (and the first differences) of one sample, and whether every makespan matched."""
    missing = [key for key in rerun if key not in committed]
    different = [key for key in rerun if key in committed and committed[key] != rerun[key]]
    same = len(rerun) - len(missing) - len(different)
    line = f"| {name} | {len(rerun)} | {same} | {len(different)} | {len(missing)} |"
    details = [f"  {key}: committed {committed[key]}, rerun {rerun[key]}" for key in different[:10]]
    return [line, *details], bool(rerun) and not (missing or different)


def main(cfg: ReproduceConfig) -> int:
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # evaluate.py and ls_vs_tabu.py are scripts
    import evaluate

    cfg.out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Committed results rerun",
        "",
        "`.venv/bin/python benchmarks/reproduce_sample.py` (makespans only; rows matched by instance, rate, seed, "
        "method).",
        "",
        "| sample (committed folder) | solves | same makespan | different | no committed row |",
        "|---|---:|---:|---:|---:|",
    ]
    failed = False
    for sample in SAMPLES:
        out = cfg.out / sample.name
        settings = {"progress": False, "save_schedules": False, **sample.settings}
        status = evaluate.main(evaluate.EvaluateConfig(**settings, out=out))
        rerun = _makespans(out / "results.csv", {"makespan": ""})
        committed = _makespans(RESULTS / sample.folder / "results.csv", {"makespan": ""})
        compared, same = _compare(f"{sample.name} ({sample.folder})", rerun, committed)
        failed |= status != 0 or not same
        lines += compared
    if cfg.tabu:
        import ls_vs_tabu

        out = cfg.out / "ls-vs-tabu-ta01-ta10"
        ls_vs_tabu.main(ls_vs_tabu.LsVsTabuConfig(instances=TA01_TA10, steps=500, checkpoint="gnn-ppo", out=out))
        columns = {"gnn_makespan": "gnn", "ls_makespan": "ls-500", "tabu_makespan": "tabu-500-iterations"}
        rerun = _makespans(out / "results.csv", columns)
        committed = _makespans(RESULTS / "ls-vs-tabu-ta15" / "results.csv", columns)
        compared, same = _compare("gnn, ls-500, tabu 500 iterations on ta01-ta10 (ls-vs-tabu-ta15)", rerun, committed)
        failed |= not same
        lines += compared
    text = "\n".join(lines) + "\n"
    (cfg.out / "summary.md").write_text(text)
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(ReproduceConfig)))
