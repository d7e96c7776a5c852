"""Decision time of the online methods of the blocking job shop with shutdowns: mean and p99 per decision.

A decision of a dispatcher is the wall time from one question of the simulation to the next (choosing, then
simulating on to the next question); the rules answer inside the compiled kernel, so only their mean is known (the
episode's time over its questions). A decision of ``reschedule`` and ``right-shift`` is one plan (at time 0 and, for
reschedule, after every shutdown and repair). Same calendars for every method.

    python benchmarks/bench_blocking_decisions.py --instances la16-la20 --rates 0 0.005 \
        --out results/bench_blocking_decisions.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from report import machine_record, write_report

from jssp import benchmarks, solvers
from jssp.blocking.options import interruptions_of
from jssp.blocking.simulator import BlockingState
from jssp.rules import RULE_NAMES
from jssp.solvers import SolveOptions


class DecisionClock:
    """Times the questions of the states built while it is on (not their clones, which lookaheads run)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._original = (BlockingState.__init__, BlockingState.step, BlockingState.clone)

    def __enter__(self) -> DecisionClock:
        init, step, clone = self._original
        clock = self

        def timed_init(state: BlockingState, *args: Any, **kwargs: Any) -> None:
            init(state, *args, **kwargs)
            state.__dict__["_question_at"] = time.perf_counter()

        def timed_step(state: BlockingState, job: int) -> None:
            step(state, job)
            if "_question_at" in state.__dict__:
                now = time.perf_counter()
                clock.gaps.append(now - state.__dict__["_question_at"])
                state.__dict__["_question_at"] = now

        def untimed_clone(state: BlockingState, *args: Any, **kwargs: Any) -> BlockingState:
            copy = clone(state, *args, **kwargs)
            copy.__dict__.pop("_question_at", None)
            return copy

        BlockingState.__init__ = timed_init  # type: ignore[method-assign]
        BlockingState.step = timed_step  # type: ignore[method-assign]
        BlockingState.clone = untimed_clone  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        BlockingState.__init__, BlockingState.step, BlockingState.clone = self._original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", default=["la16-la20"])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.0, 0.005])
    parser.add_argument("--seed", type=int, default=0, help="calendar seed")
    parser.add_argument(
        "--methods", nargs="+", default=["lor", "lookahead-lor", "gnn", "reschedule@0.1", "right-shift@0.1"],
        help="METHOD or METHOD@EVENT_BUDGET",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("results/bench_blocking_decisions.json"))
    args = parser.parse_args()

    solvers.load_plugins()
    names = benchmarks.select_many(args.instances)
    records = []
    for rate in args.rates:
        for entry in args.methods:
            method, _, budget = entry.partition("@")
            times: list[float] = []
            makespans = []
            for index, name in enumerate(names):
                instance = benchmarks.load(name)
                options = SolveOptions.of(
                    "isbjssp", shutdown_rate=rate, seed=args.seed, event_budget=float(budget or 1.0),
                    time_limit=1e5, device="cpu",
                )  # fmt: skip
                if index == 0:  # loads the kernel, OR-Tools or the checkpoint before the clock starts
                    solvers.solve(instance, method, options)
                if method in RULE_NAMES and method != "random":  # the kernel alone, without solve()'s checks
                    state = BlockingState(instance, interruptions_of(options).calendar(instance))
                    began = time.perf_counter()
                    state.run_rule(method)
                    elapsed = time.perf_counter() - began
                    makespans.append(state.now)
                    times.extend([elapsed / max(1, state.num_decisions)] * state.num_decisions)
                    continue
                with DecisionClock() as clock:
                    schedule = solvers.solve(instance, method, options)
                makespans.append(schedule.makespan)
                times.extend(schedule.info["plan_seconds"] if "plans" in schedule.info else clock.gaps)
            measured = method not in RULE_NAMES
            records.append(
                {
                    "rate": rate, "method": entry, "instances": len(names), "decisions": len(times),
                    "mean_makespan": float(np.mean(makespans)), "mean_s": float(np.mean(times)),
                    "p99_s": float(np.percentile(times, 99)) if measured else None,
                }
            )  # fmt: skip
            print(records[-1], flush=True)
    lines = [
        f"Instances {' '.join(args.instances)}, calendar seed {args.seed}; seconds per decision (a plan for the "
        "re-planning methods; the rules' p99 is not measured: they answer inside the compiled kernel).",
        "",
        "| rate | method | decisions | mean makespan | mean ms | p99 ms |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for record in records:
        p99 = "—" if record["p99_s"] is None else f"{1000 * record['p99_s']:.3g}"
        lines.append(
            f"| {record['rate']:g} | {record['method']} | {record['decisions']} | {record['mean_makespan']:.1f} | "
            f"{1000 * record['mean_s']:.3g} | {p99} |"
        )
    write_report(args.out, {"machine": machine_record(), "records": records}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
