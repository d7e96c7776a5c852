"""Wall time of the learned dispatcher: greedy construction (target: TA 100x20 in <= 1 s on CPU,
GNN included) and best-of-K sampling against greedy (batched, so K=128 should cost far less than 128x).

    .venv/bin/python benchmarks/bench_gnn.py [--checkpoint gnn-default] [--out results/bench_gnn.json]

One torch thread and one BLAS thread, CPU; each figure is the median of ``repeats`` runs after one warm-up run.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tyro

from agents.checkpoints import load_policy
from agents.inference import greedy_schedule, sampled_schedule, single_thread
from jssp import benchmarks


@dataclass(frozen=True)
class BenchGnnConfig:
    """What to time."""

    checkpoint: str = "gnn-default"
    """Checkpoint name or folder."""
    greedy_instances: tuple[str, ...] = ("ta01", "ta41", "ta71")
    """Instances timed with greedy decoding."""
    sample_instance: str = "ta01"
    """Instance timed with best-of-K sampling."""
    samples: tuple[int, ...] = (1, 16, 128)
    """K values timed."""
    repeats: int = 3
    """Timed runs per figure (median reported)."""
    out: Path = Path("results/bench_gnn.json")
    """JSON output; the markdown table goes beside it (.md)."""


def _median_seconds(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    makespan = run()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), makespan


def main(cfg: BenchGnnConfig) -> dict[str, object]:
    single_thread()
    policy = load_policy(cfg.checkpoint, device="cpu")
    scheme = policy.metadata["inference"]["scheme"]
    rows: list[dict[str, object]] = []
    for name in cfg.greedy_instances:
        instance = benchmarks.load(name)
        seconds, makespan = _median_seconds(
            lambda instance=instance: greedy_schedule(policy, instance, scheme).makespan, cfg.repeats
        )
        rows.append({"what": f"greedy {name} ({instance.shape})", "seconds": seconds, "makespan": makespan})
        print(rows[-1], flush=True)
    instance = benchmarks.load(cfg.sample_instance)
    greedy_seconds = next(row["seconds"] for row in rows if str(row["what"]).startswith(f"greedy {instance.name}"))
    for samples in cfg.samples:
        seconds, makespan = _median_seconds(
            lambda k=samples: sampled_schedule(policy, instance, k, seed=0, scheme=scheme).makespan, cfg.repeats
        )
        rows.append(
            {
                "what": f"best of {samples} samples {instance.name} ({instance.shape})",
                "seconds": seconds,
                "makespan": makespan,
                "x_greedy_time": seconds / float(greedy_seconds),  # type: ignore[arg-type]
            }
        )
        print(rows[-1], flush=True)
    result = {"checkpoint": cfg.checkpoint, "machine": platform.machine(), "torch_threads": 1, "rows": rows}
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"Learned dispatcher wall time, checkpoint `{cfg.checkpoint}`, CPU, one torch thread, median of {cfg.repeats}.",
        "",
        "| what | seconds | makespan | x greedy time |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row['x_greedy_time']:.1f}" if "x_greedy_time" in row else ""
        lines.append(f"| {row['what']} | {row['seconds']:.3f} | {row['makespan']} | {ratio} |")
    cfg.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main(tyro.cli(BenchGnnConfig))
