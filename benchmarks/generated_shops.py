"""Write the generated shops of the blocking frontier (``docs/blocking.md``): classical and general-route shops
larger than, and different from, the la/ft/orb/abz grid, each drawn from its seed.

    python benchmarks/generated_shops.py --out results/isbjssp-frontier-generated/instances
    python benchmarks/generated_shops.py --held-back --out results/isbjssp-held-back/instances

The second set (``--held-back``: more shapes, other seeds) was drawn after ``gnn-replan``'s settings were chosen on
the first, so no setting of a learned method has seen it.
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
HELD_BACK_SHOPS = (
    ("h15x15", 15, 15, False),
    ("h20x15", 20, 15, False),
    ("h30x20", 30, 20, False),
    ("h20x10-routes", 20, 10, True),
    ("h30x20-routes", 30, 20, True),
    ("h50x10-routes", 50, 10, True),
)
HELD_BACK_SEEDS = (11, 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--held-back", action="store_true", help="write the held-back set instead")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shops, seeds = (HELD_BACK_SHOPS, HELD_BACK_SEEDS) if args.held_back else (SHOPS, SEEDS)
    for name, num_jobs, num_machines, general in shops:
        for seed in seeds:
            label = f"{name}-{seed}"
            if general:
                instance = random_general_instance(num_jobs, num_machines, seed, reentry=0.3, name=label)
            else:
                instance = random_instance(num_jobs, num_machines, seed, name=label)
            write_instance(instance, args.out / f"{label}.txt")
            print(label, instance.shape, instance.num_operations, "operations")


if __name__ == "__main__":
    main()
