"""The method registry: families of methods registered by prefix."""

from __future__ import annotations

import pytest

from jssp import benchmarks, solvers
from jssp.instance import Instance
from jssp.rules import dispatch
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions, get_solver, has_method, method_names, register_family, solve


def test_a_family_builds_one_solver_per_name_and_is_listed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solvers, "_FAMILIES", {})
    built: list[str] = []

    def factory(name: str) -> solvers.Solver:
        suffix = name.removeprefix("rule-")
        if suffix not in ("spt", "mwkr"):
            raise ValueError(f"no rule {suffix!r}")
        built.append(name)

        def solver(instance: Instance, options: SolveOptions) -> Schedule:
            return dispatch(instance, suffix)

        return solver

    register_family("rule-", factory, "name")
    assert "rule-<name>" in method_names() and "rule-spt" not in method_names()
    assert has_method("rule-mwkr") and not has_method("rule-lpt") and not has_method("nothing")
    instance = benchmarks.load("ft06")
    schedule = solve(instance, "rule-spt")
    assert schedule.method == "rule-spt" and schedule.makespan == dispatch(instance, "spt").makespan == 88
    with pytest.raises(KeyError, match="rule-<name>"):
        get_solver("rule-lpt")
    with pytest.raises(ValueError, match="lowercase"):
        register_family("Rule-", factory, "name")
    assert "rule-spt" in built
