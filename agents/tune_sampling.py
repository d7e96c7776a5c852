"""Choose a checkpoint's sampling temperature on generated instances (never on the benchmarks).

    .venv/bin/python -m agents.tune_sampling gnn-default --temperatures 0.2 0.3 0.5 1.0 --write

For every temperature, ``gnn-sample`` (best of ``--samples`` rollouts, the greedy one included)
runs on the same generated instances; the table of mean gaps to the greedy makespan is printed
(and written to ``--out``), and ``--write`` stores the best temperature as ``sample_temperature``
in the inference section of the checkpoint's ``checkpoint.json``, where ``gnn-sample`` reads it when no
``--temperature`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

from agents.checkpoints import load_policy, update_inference
from agents.inference import greedy_schedule, sampled_schedule, single_thread
from jssp.files import append_csv_row
from jssp.generators import parse_size, random_instance


@dataclass(frozen=True)
class TuneConfig:
    checkpoint: tyro.conf.Positional[str]
    """Checkpoint name or folder."""
    temperatures: tuple[float, ...] = (0.2, 0.3, 0.5, 0.75, 1.0)
    """Temperatures to compare."""
    samples: int = 128
    """Rollouts per instance."""
    sizes: tuple[str, ...] = ("15x15", "20x20", "30x20")
    """Sizes of the generated instances (cycled)."""
    instances: int = 12
    """Generated instances (seeds 20000, 20001, ...: disjoint from training and validation streams)."""
    out: Path | None = None
    """CSV of the comparison (one row per temperature)."""
    write: bool = False
    """Store the best temperature in the checkpoint's checkpoint.json."""


def main(cfg: TuneConfig) -> float:
    single_thread()
    policy = load_policy(cfg.checkpoint)
    scheme = str(policy.metadata["inference"]["scheme"])
    sizes = [parse_size(size) for size in cfg.sizes]
    instances = [random_instance(*sizes[index % len(sizes)], seed=20_000 + index) for index in range(cfg.instances)]
    greedy = np.array([greedy_schedule(policy, instance, scheme).makespan for instance in instances])
    results: dict[float, float] = {}
    for temperature in cfg.temperatures:
        best = np.array(
            [
                sampled_schedule(policy, instance, cfg.samples, temperature, seed=0, scheme=scheme).makespan
                for instance in instances
            ]
        )
        results[temperature] = float(np.mean(100 * (best - greedy) / greedy))
        print(
            f"temperature {temperature}: best of {cfg.samples} is {-results[temperature]:.2f} % below greedy",
            flush=True,
        )
        if cfg.out is not None:
            row = {"checkpoint": cfg.checkpoint, "temperature": temperature, "samples": cfg.samples}
            append_csv_row(
                cfg.out, {**row, "instances": cfg.instances, "gap_to_greedy_pct": round(results[temperature], 3)}
            )
    chosen = min(results, key=lambda temperature: results[temperature])
    print(f"best temperature: {chosen}")
    if cfg.write:
        path = update_inference(cfg.checkpoint, sample_temperature=chosen)
        print(f"wrote sample_temperature = {chosen} to {path}")
    return chosen


if __name__ == "__main__":
    main(tyro.cli(TuneConfig))
