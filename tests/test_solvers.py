"""The method registry: families of methods registered by prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from jssp import benchmarks, solvers
from jssp.instance import Instance
from jssp.rules import dispatch
from jssp.schedule import Schedule
from jssp.solvers import (
    OptionError,
    SolveOptions,
    get_solver,
    has_method,
    method_names,
    register_family,
    solve,
)


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


def test_a_method_declares_what_it_needs_of_the_options_once_and_every_door_reads_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from jssp.cli import main as cli_main
    from jssp.solvers import method_refusal, register

    def needs_seed_zero(options: SolveOptions) -> str | None:
        return None if options.seed == 0 else "runs with --seed 0 only"

    register("seedless-for-test", lambda instance, options: dispatch(instance, "spt"), requires=needs_seed_zero)
    try:
        ft06 = benchmarks.load("ft06")
        assert method_refusal("seedless-for-test", SolveOptions()) is None
        assert solve(ft06, "seedless-for-test", SolveOptions()).makespan == dispatch(ft06, "spt").makespan
        with pytest.raises(OptionError, match="--method seedless-for-test runs with --seed 0 only"):
            solve(ft06, "seedless-for-test", SolveOptions(seed=1))
        instances = Path(__file__).resolve().parents[1] / "instances"
        assert cli_main(["solve", str(instances / "ft06.txt"), "--method", "seedless-for-test", "--seed", "2"]) == 2
        assert capsys.readouterr().err == "jssp: error: --method seedless-for-test runs with --seed 0 only\n"
    finally:
        solvers._REGISTRY.pop(("jssp", "seedless-for-test"))
        solvers._REQUIREMENTS.pop(("jssp", "seedless-for-test"))


def test_a_method_declares_its_default_checkpoints_and_solve_fills_them_in(monkeypatch: pytest.MonkeyPatch) -> None:
    from jssp.solvers import method_checkpoints, register

    monkeypatch.setattr(solvers, "_REGISTRY", dict(solvers._REGISTRY))
    monkeypatch.setattr(solvers, "_FAMILIES", dict(solvers._FAMILIES))
    monkeypatch.setattr(solvers, "_CHECKPOINTS", {})
    seen: list[tuple[str | None, str | None]] = []

    def reads_checkpoints(instance: Instance, options: SolveOptions) -> Schedule:
        seen.append((options.checkpoint, options.improvement_checkpoint))
        return dispatch(instance, "spt")

    register("reader-for-test", reads_checkpoints, checkpoints={"checkpoint": "policy-a"})
    register_family("moves-", lambda name: reads_checkpoints, "n", checkpoints={"improvement_checkpoint": "moves-b"})
    ft06 = benchmarks.load("ft06")
    solve(ft06, "reader-for-test")
    solve(ft06, "reader-for-test", SolveOptions(checkpoint="mine"))
    solve(ft06, "moves-7")
    solve(ft06, "mwkr")  # reads none: nothing is filled in
    assert seen == [("policy-a", None), ("mine", None), (None, "moves-b")]
    assert method_checkpoints("moves-12", SolveOptions(improvement_checkpoint="x")) == {"improvement_checkpoint": "x"}
    assert method_checkpoints("reader-for-test", SolveOptions.of("isbjssp")) == {}  # declared for jssp only
