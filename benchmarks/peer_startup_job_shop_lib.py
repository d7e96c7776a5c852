"""job-shop-lib's MWKR dispatching solve of one instance file in a process of its own (``bench_startup.py``'s peer).

    benchmarks/.venv-peer/bin/python benchmarks/peer_startup_job_shop_lib.py instances/ta71.txt

Does what ``jssp solve FILE --method mwkr`` does: reads the standard-format file with job-shop-lib's
reader, builds the schedule with its ``DispatchingRuleSolver`` (most work remaining, its default
ready-operation filters) and prints the makespan. Runs only in the peer venv that ``bench_env.py``
creates (job-shop-lib pins ortools 9.12 and protobuf 5, which conflict with the project's).
"""

from __future__ import annotations

import sys

from job_shop_lib import JobShopInstance
from job_shop_lib.dispatching.rules import DispatchingRuleSolver


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: {sys.argv[0]} INSTANCE_FILE", file=sys.stderr)
        return 2
    instance = JobShopInstance.from_taillard_file(argv[0])  # job-shop-lib's name for the standard layout
    schedule = DispatchingRuleSolver(dispatching_rule="most_work_remaining").solve(instance)
    print(f"makespan {schedule.makespan()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
