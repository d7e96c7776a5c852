"""Write the generated shops of the blocking frontier (``docs/blocking.md``): classical and general-route shops
larger than, and different from, the la/ft/orb/abz grid, each drawn from its seed.

    python benchmarks/generated_shops.py --out results/isbjssp-frontier-generated/instances
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jssp.generators import random_general_instance, random_instance
from jssp.parsing import write_instance

SHOPS = (
    ("g15x15", 15, 15, False),
    ("g20x10-routes", 20, 10, True),
    ("g30x20-routes", 30, 20, True),
    ("g50x10-routes", 50, 10, True),
)
"""(name, jobs, machines, general routes): general routes are partial and re-entrant (30 % revisits)."""
SEEDS = (1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, num_jobs, num_machines, general in SHOPS:
        for seed in SEEDS:
            label = f"{name}-{seed}"
            if general:
                instance = random_general_instance(num_jobs, num_machines, seed, reentry=0.3, name=label)
            else:
                instance = random_instance(num_jobs, num_machines, seed, name=label)
            write_instance(instance, args.out / f"{label}.txt")
            print(label, instance.shape, instance.num_operations, "operations")


if __name__ == "__main__":
    main()
