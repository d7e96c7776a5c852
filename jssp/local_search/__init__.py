"""Complete schedules as machine orders: longest paths, critical blocks, the N5 neighbourhood, tabu search.

A solution fixes the order of the operations on every machine. The public functions take it as
:meth:`jssp.schedule.Schedule.machine_sequences` gives it: per machine, the jobs in processing
order, a job listed once per visit (its k-th occurrence is its k-th operation there); for
classical instances the ``(num_machines, num_jobs)`` matrix of those lists works as well. The
kernels hold it as one array of node ids (``job * width + op``), machine after machine.

The semi-active schedule of a solution is the longest path in the disjunctive graph with those
machine arcs fixed; the makespan is the longest path's length and the critical path the
operations on it. Hot loops are numba kernels with plain-Python twins (``*_reference``) that the
tests compare against. What the tabu search keeps is linear in the number of operations; it keeps
a topological order too, so that after a swap it recomputes heads only from the swapped pair on and
tails only up to it, in one sweep each, and reads the clock inside its kernel.

One module a concern, each depending only on those before it:

- :mod:`~jssp.local_search.graph`: machine orders as node arrays, and the kernels that navigate them;
- :mod:`~jssp.local_search.moves`: longest paths, critical paths, N5 and move estimates, with their twins;
- :mod:`~jssp.local_search.incremental`: a swap with heads and tails repaired in its window;
- :mod:`~jssp.local_search.memory`: the search's counters, tabu list and record of the best solution;
- :mod:`~jssp.local_search.batch`: the many-moves step for very large instances;
- :mod:`~jssp.local_search.tabu`: the tabu search itself, its warm-up and Ctrl-C handling.
"""

from jssp.local_search.graph import Move, Sequences, operation_index
from jssp.local_search.moves import (
    apply_move,
    critical_blocks,
    critical_path,
    estimate_moves,
    evaluate_sequences,
    evaluate_sequences_reference,
    longest_paths,
    machine_operations_reference,
    n5_moves,
    n5_moves_reference,
)
from jssp.local_search.tabu import BATCH_MOVES_FROM, TabuResult, tabu_search, warm_up

__all__ = [
    "BATCH_MOVES_FROM",
    "Move",
    "Sequences",
    "TabuResult",
    "apply_move",
    "critical_blocks",
    "critical_path",
    "estimate_moves",
    "evaluate_sequences",
    "evaluate_sequences_reference",
    "longest_paths",
    "machine_operations_reference",
    "n5_moves",
    "n5_moves_reference",
    "operation_index",
    "tabu_search",
    "warm_up",
]
