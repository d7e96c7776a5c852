"""Train a learned method: one entry point, six algorithms, one harness.

    python train.py ppo --sizes 10x10 15x15 --total-timesteps 2000000 --seed 0 --device auto --run-dir runs/ppo
    python train.py ppo --init gnn-default --sizes 15x15 20x20 --total-timesteps 300000 --run-dir runs/ppo-ft
    python train.py ppo-lockstep --sizes 10x10 --max-minutes 30 --total-timesteps 100000000 --run-dir runs/ppo-ls
    python train.py imitation --sizes 10x10 15x15 20x15 20x20 --instances 6000 --epochs 3 --run-dir runs/im
    python train.py improvement --sizes 10x10 --total-timesteps 500000 --run-dir runs/ls
    python train.py self-labelling --init gnn-default --instances 2000 --samples 64 --run-dir runs/sl
    python train.py ppo-isbjssp --total-timesteps 600000 --run-dir runs/ppo-isbjssp   # blocking job shop

Every algorithm shares the run options of :class:`agents.harness.RunSettings` (``--seed``,
``--device``, ``--run-dir``, ``--resume``, ``--sizes``, ``--validation-instances``,
``--eval-every``, ...) and writes ``RUN_DIR/{config.json, validation.csv, best/, last/}``;
``--resume`` continues from the last complete checkpoint and appends to the logs. Each
algorithm's ``main(cfg)`` is importable (``agents.ppo``, ``agents.lockstep_ppo``, ``agents.imitation``,
``agents.improvement.training``, ``agents.self_labelling``, ``agents.blocking.ppo``); ``python -m agents.ship
RUN_DIR NAME`` ships a run's best checkpoint with its model card.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import tyro

from agents.algorithms import ALGORITHMS
from agents.harness import RunError


def parse(argv: Sequence[str] | None = None) -> Any:
    """The config of the subcommand in ``argv`` (tyro; ``--help`` lists subcommands and options)."""
    configs = {name: config for name, (config, _) in ALGORITHMS.items()}
    return tyro.extras.subcommand_cli_from_dict(configs, args=argv)


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    run = next(train for config, train in ALGORITHMS.values() if type(cfg) is config)
    try:
        context = run(cfg)
    except (RunError, ValueError, FileNotFoundError) as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    print(f"run folder: {context.settings.run_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
