"""Shared fixtures: the 242 benchmark instances, read once per test session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jssp import benchmarks
from jssp.instance import Instance


@pytest.fixture(scope="session")
def benchmark_instances() -> dict[str, Instance]:
    """Every classical instance (``instances/bounds.json``) by name, in catalogue order."""
    instances = {name: benchmarks.load(name) for name in benchmarks.select("all")}
    assert len(instances) == 242
    return instances


def tiny_run(run_dir: Path, **changes: Any) -> Any:
    """Run settings of the tiny training runs of the tests (CPU, no wandb, no bar, two validation instances)."""
    from agents.harness import RunSettings  # torch loads only for the tests that train

    defaults: dict[str, Any] = {"device": "cpu", "validation_instances": 2, "wandb": "disabled", "progress": False}
    return RunSettings(run_dir=run_dir, **{**defaults, **changes})


@pytest.fixture(scope="session")
def run_settings() -> Any:
    """:func:`tiny_run`, for tests that build training configs."""
    return tiny_run
