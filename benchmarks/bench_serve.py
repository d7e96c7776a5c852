"""Load check of `jssp serve`: N concurrent uploads of one instance, latency percentiles, no failures.

    .venv/bin/python benchmarks/bench_serve.py [--requests 32] [--instance ta01] [--method mwkr] [--workers 2]

Starts the web app with uvicorn on a free 127.0.0.1 port (in a thread of this process; solving runs
in the server's solver processes), sends one untimed warm-up upload, then ``requests`` multipart
uploads of ``instances/<instance>.txt`` all at once and times each from send to parsed reply. Every
reply must be 200 with a schedule the independent validator accepts and, for a dispatching rule,
the makespan the rule gives locally. Writes the JSON to ``--out`` and a markdown table beside it;
exit status 1 if any request failed. Only 127.0.0.1 traffic; one batch, at most 256 requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import tyro

from jssp import benchmarks
from jssp.rules import RULE_NAMES, dispatch
from jssp.schedule import Schedule
from jssp.web.app import ServeConfig, create_app
from jssp.web.server import background_server

MAX_REQUESTS = 256


@dataclass(frozen=True)
class BenchServeConfig:
    """Load, method and output of the web server load check."""

    requests: int = 32
    """Uploads sent at once (1..256)."""
    instance: str = "ta01"
    """Benchmark instance uploaded (a file of instances/)."""
    method: str = "mwkr"
    """Solving method of every request."""
    time_limit: float = 5.0
    """Time limit of every request, seconds (matters for cpsat and tabu only)."""
    workers: int = 2
    """Solver processes of the server."""
    out: Path = Path("results/bench_serve.json")
    """JSON result file; the markdown table goes beside it with the suffix .md."""


@dataclass
class Reply:
    """One timed request."""

    status: int
    milliseconds: float
    makespan: int | None
    problem: str | None


async def send_all(base_url: str, content: bytes, cfg: BenchServeConfig, check: Any) -> list[Reply]:
    """Send ``cfg.requests`` uploads at once; one connection each."""
    limits = httpx2.Limits(max_connections=cfg.requests)
    async with httpx2.AsyncClient(base_url=base_url, timeout=cfg.time_limit + 120, limits=limits) as client:

        async def one() -> Reply:
            began = time.perf_counter()
            response = await client.post(
                "/api/solve",
                files={"file": (f"{cfg.instance}.txt", content, "text/plain")},
                data={"method": cfg.method, "time_limit": str(cfg.time_limit)},
            )
            document = response.json()
            milliseconds = (time.perf_counter() - began) * 1000.0
            if response.status_code != 200:
                return Reply(response.status_code, milliseconds, None, str(document.get("detail")))
            return Reply(200, milliseconds, document["makespan"], check(document))

        return list(await asyncio.gather(*(one() for _ in range(cfg.requests))))


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method; with fewer than 100 values the top ones coincide with the max)."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def markdown_table(result: dict[str, Any]) -> str:
    cfg, latency = result["config"], result["latency_ms"]
    lines = [
        f"`jssp serve` load check: {cfg['requests']} concurrent uploads of {cfg['instance']} "
        f"({result['shape']}), method {cfg['method']}, {cfg['workers']} solver processes, "
        f"{result['machine']['cpus']} CPUs ({result['machine']['processor'] or result['machine']['platform']}, "
        f"Python {result['machine']['python']}); client and server in one process, 127.0.0.1.",
        "",
        "| requests | failed | p50 ms | p90 ms | p99 ms | max ms | wall s | requests/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {cfg['requests']} | {result['failed']} | {latency['p50']:.0f} | {latency['p90']:.0f} "
        f"| {latency['p99']:.0f} | {latency['max']:.0f} | {result['wall_seconds']:.2f} "
        f"| {result['requests_per_second']:.1f} |",
    ]
    return "\n".join(lines) + "\n"


def main(cfg: BenchServeConfig) -> int:
    if not 1 <= cfg.requests <= MAX_REQUESTS:
        raise SystemExit(f"--requests must be in 1..{MAX_REQUESTS}, got {cfg.requests}")
    instance = benchmarks.load(cfg.instance)
    content = (benchmarks.instances_dir() / f"{cfg.instance}.txt").read_bytes()
    expected = dispatch(instance, cfg.method).makespan if cfg.method in RULE_NAMES else None

    def check(document: dict[str, Any]) -> str | None:
        """What is wrong with a returned schedule, or None."""
        try:
            Schedule.from_dict(document, instance).check()
        except ValueError as error:
            return f"infeasible: {error}"
        if expected is not None and document["makespan"] != expected:
            return f"makespan {document['makespan']}, the rule gives {expected}"
        return None

    # ------------------------------------------------------------------ server, warm-up, load
    app = create_app(ServeConfig(workers=cfg.workers, max_time_limit=max(60.0, cfg.time_limit)))
    with background_server(app) as base_url:
        print(f"server at {base_url}; warm-up ...", file=sys.stderr, flush=True)
        warm_up = asyncio.run(send_all(base_url, content, dataclasses.replace(cfg, requests=1), check))
        if warm_up[0].status != 200:
            raise SystemExit(f"warm-up failed: {warm_up[0].status} {warm_up[0].problem}")
        print(f"{cfg.requests} concurrent uploads ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        replies = asyncio.run(send_all(base_url, content, cfg, check))
        wall = time.perf_counter() - began

    # ------------------------------------------------------------------ report
    milliseconds = [reply.milliseconds for reply in replies]
    failures = [reply for reply in replies if reply.status != 200 or reply.problem is not None]
    result = {
        "config": {**dataclasses.asdict(cfg), "out": str(cfg.out)},
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "shape": instance.shape,
        "failed": len(failures),
        "failures": [dataclasses.asdict(reply) for reply in failures[:10]],
        "latency_ms": {
            "p50": percentile(milliseconds, 50),
            "p90": percentile(milliseconds, 90),
            "p99": percentile(milliseconds, 99),
            "max": max(milliseconds),
            "min": min(milliseconds),
        },
        "wall_seconds": wall,
        "requests_per_second": cfg.requests / wall,
        "makespans": sorted({reply.makespan for reply in replies if reply.makespan is not None}),
    }
    table = markdown_table(result)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(result, indent=1) + "\n")
    cfg.out.with_suffix(".md").write_text(table)
    print(table)
    print(f"wrote {cfg.out} and {cfg.out.with_suffix('.md')}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(BenchServeConfig)))
