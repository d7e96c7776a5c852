"""Shared fixtures: the 242 benchmark instances, read once per test session."""

from __future__ import annotations

import pytest

from jssp import benchmarks
from jssp.instance import Instance


@pytest.fixture(scope="session")
def benchmark_instances() -> dict[str, Instance]:
    """Every instance of ``instances/bounds.json`` by name, in catalogue order."""
    instances = {name: benchmarks.load(name) for name in benchmarks.catalogue()}
    assert len(instances) == 242
    return instances
