"""The ``jssp`` command line: ``jssp solve FILE [--instance NAME] --method M`` and ``jssp serve`` (web page, API).

``jssp solve --problem isbjssp --shutdown-rate P [--downtime D] --seed S`` solves the blocking job
shop with swaps and random machine shutdowns instead (:mod:`jssp.blocking`): the seed draws the
shutdown calendar (and seeds the ``random`` rule and CP-SAT).

Errors the user can fix print one line and exit with status 2, no traceback: a malformed file
as ``FILE:LINE: reason``, an option out of range as ``--option must be ...``. Every option (output
folders included) is checked before the instance is read or solved. The method options are those
of :mod:`jssp.options`, shared with ``evaluate.py``; heavy modules (OR-Tools, matplotlib, torch)
load only for the methods and outputs that use them.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from jssp import benchmarks
from jssp.cpsat import CpSatError
from jssp.dispatch import warm_up
from jssp.instance import Instance
from jssp.options import add_solve_arguments, check_output_paths, solve_options_from
from jssp.parsing import InstanceFormatError, SeveralInstancesError, read_instance
from jssp.solvers import (
    PROBLEMS,
    OptionError,
    SolveOptions,
    check_method_suits,
    ensure_methods,
    has_method,
    method_names,
    solve,
)

EXIT_USAGE = 2
MAX_PORT = 65535
_BLOCKING_FLAGS = ("shutdown_rate", "downtime", "interruption_mode")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jssp", description="Job-shop scheduling: rules, CP-SAT, learned policies.")
    commands = parser.add_subparsers(dest="command", required=True)
    solve_parser = commands.add_parser("solve", help="solve one instance file and report its makespan and gap")
    solve_parser.add_argument(
        "file",
        type=Path,
        help="instance file: standard (job lines of any length), Taillard, OR-Library, jssp or JSPLib JSON; .gz too",
    )
    solve_parser.add_argument(
        "--instance", metavar="NAME", help="which instance of a file that holds several (OR-Library collections)"
    )
    solve_parser.add_argument(
        "--method",
        default="mwkr",
        help=f"solving method (default mwkr): {', '.join(method_names())}, gnn, gnn-sample, hybrid, ls-<steps>; "
        "with --problem isbjssp: the rules, lookahead-lor, cpsat, cpsat-clairvoyant, gnn, gnn-sample",
    )
    solve_parser.add_argument("--output", type=Path, help="write the schedule JSON here")
    solve_parser.add_argument("--csv", type=Path, help="write the schedule as CSV here")
    solve_parser.add_argument("--gantt", type=Path, help="write a Gantt chart PNG here")
    problem = solve_parser.add_argument_group("problem variant")
    problem.add_argument(
        "--problem",
        choices=PROBLEMS,
        default="jssp",
        help="jssp: the classical job shop (default); isbjssp: blocking (no buffers) with swaps and machine shutdowns",
    )
    problem.add_argument(
        "--shutdown-rate", type=float, metavar="P", help="isbjssp: chance per unit of up time that a machine stops (0)"
    )
    problem.add_argument(
        "--downtime", type=int, metavar="D", help="isbjssp: length of a shutdown (default: mean processing time)"
    )
    problem.add_argument(
        "--interruption-mode",
        choices=("resume", "restart"),
        help="isbjssp: an interrupted operation resumes (default) or restarts",
    )
    # --workers means parallel solver processes (evaluate.py, jssp serve); one solve has none to set.
    solve_parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    add_solve_arguments(solve_parser)

    serve_parser = commands.add_parser("serve", help="serve the web page and HTTP API that solve uploaded instances")
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)")
    serve_parser.add_argument("--port", type=int, default=8000, help="TCP port (8000)")
    serve_parser.add_argument("--workers", type=int, default=2, help="solver processes, i.e. concurrent solves (2)")
    serve_parser.add_argument("--max-time-limit", type=float, default=60.0, help="largest time limit allowed, s (60)")
    serve_parser.add_argument(
        "--max-upload-bytes", type=int, default=1024 * 1024, help="largest instance file accepted (1 MiB)"
    )
    serve_parser.add_argument(
        "--max-operations", type=int, default=10_000, help="largest instance, in operations (10000)"
    )
    serve_parser.add_argument("--cpsat-workers", type=int, default=2, help="CP-SAT search threads of one solve (2)")
    serve_parser.add_argument(
        "--learned", action="store_true", help="also offer gnn and gnn-sample (each solver process imports torch)"
    )
    return parser


def _solve_command(args: argparse.Namespace) -> int:
    # ------------------------------------------------------------------ every option, before any work
    if args.workers is not None:
        raise OptionError(
            "workers", "(parallel solver processes) does not apply to jssp solve; CP-SAT threads are --cpsat-workers"
        )
    options = solve_options_from(args)
    check_output_paths({name: getattr(args, name) for name in ("output", "csv", "gantt")}, {"file": args.file})
    if args.problem == "isbjssp":
        return _solve_blocking_command(args, options)
    for name in _BLOCKING_FLAGS:
        if getattr(args, name) is not None:
            raise OptionError(name, "applies to --problem isbjssp only")
    method = args.method.strip().lower()
    ensure_methods([method])
    if not has_method(method):
        raise KeyError(f"unknown method {method!r}; available: {', '.join(method_names())}")
    check_method_suits(method, options)  # before the instance is read

    # ------------------------------------------------------------------ solve and report
    instance = read_instance(args.file, instance=args.instance)
    warm_up()
    schedule = solve(instance, method, options)
    info = benchmarks.identify(instance)
    best_known, lower_bound = benchmarks.known_bounds(instance)
    lower_bound = max(lower_bound, schedule.lower_bound or 0)
    print(_instance_line(instance, info))
    print(f"method     {method}" + (f" ({schedule.status})" if schedule.status else ""))
    print(f"makespan   {schedule.makespan}")
    print(f"lower bd   {lower_bound}")
    if best_known is not None:
        gap = benchmarks.gap_percent(schedule.makespan, best_known)
        print(f"best known {best_known}")
        print(f"gap        {gap:.2f} %")
    print(f"time       {schedule.seconds:.3f} s")
    if args.output:
        _write_output("output", args.output, lambda path: schedule.write_json(path, best_known, lower_bound))
    if args.csv:
        _write_output("csv", args.csv, schedule.write_csv)
    if args.gantt:
        from jssp.gantt import plot_gantt  # matplotlib loads only when a chart is asked for

        _write_output("gantt", args.gantt, lambda path: plot_gantt(schedule, path, best_known=best_known))
    return 0


def _write_output(name: str, path: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(path)``; a failure (disk full, folder removed during the solve) names the option."""
    try:
        write(path)
    except OSError as error:
        raise OptionError(name, f"cannot write {path} ({error.strerror or error})") from None


def _instance_line(instance: Instance, info: benchmarks.BenchmarkInfo | None) -> str:
    known = f" = benchmark {info.name}" if info else ""
    size = f"{instance.num_jobs} jobs x {instance.num_machines} machines"
    if not instance.is_classical:
        size += f", {instance.num_operations} operations"
    return f"instance   {instance.name} ({size}){known}"


def _solve_blocking_command(args: argparse.Namespace, options: SolveOptions) -> int:
    """``jssp solve --problem isbjssp``: every option is checked before the instance is read."""
    from jssp import blocking  # the blocking kernels load only for this problem

    if args.csv is not None:
        raise OptionError("csv", "applies to --problem jssp only; the isbjssp schedule is written by --output")
    rate = options.shutdown_rate  # checked with the other options by solve_options_from
    method = args.method.strip().lower()
    ensure_methods([method], problem="isbjssp")
    if not has_method(method, problem="isbjssp"):
        raise KeyError(
            f"unknown method {method!r} for --problem isbjssp; available: {', '.join(method_names('isbjssp'))}"
        )
    mode = args.interruption_mode or "resume"
    interruptions = blocking.Interruptions(rate=rate, downtime=args.downtime, seed=options.seed, mode=mode)
    options = dataclasses.replace(
        options, problem="isbjssp", shutdown_rate=rate, downtime=args.downtime, interruption_mode=mode
    )
    check_method_suits(method, options)  # before the instance is read

    instance = read_instance(args.file, instance=args.instance)
    blocking.warm_up()
    try:
        schedule = solve(instance, method, options)  # validated against the calendar
    except blocking.JammedError as error:  # the settings leave the shop no practical way to finish
        print(f"jssp: error: {error}", file=sys.stderr)
        return 1
    downtime = interruptions.resolved_downtime(instance)
    bound = blocking.known_blocking_bound(instance)
    _, lower_bound = benchmarks.known_bounds(instance)  # a job-shop bound holds with blocking and shutdowns too
    if bound is not None and bound.proven_optimal:
        lower_bound = max(lower_bound, bound.best_known)  # so does the optimum without shutdowns
    lower_bound = max(lower_bound, schedule.lower_bound or 0)
    print(_instance_line(instance, benchmarks.identify(instance)))
    print(
        f"problem    isbjssp: blocking with swaps, shutdown rate {rate:g}, downtime {downtime}, {mode}, "
        f"seed {options.seed} (availability {blocking.availability(rate, downtime):.1%})"
    )
    print(f"method     {method}" + (f" ({schedule.status})" if schedule.status else ""))
    print(f"makespan   {schedule.makespan}")
    print(f"shutdowns  {sum(len(rows) for rows in schedule.down_intervals)} start before the makespan")
    print(f"lower bd   {lower_bound}")
    if bound is not None:
        proven = ", proven optimal" if bound.proven_optimal else ""
        print(f"best p=0   {bound.best_known} (without shutdowns{proven})")
        gap = benchmarks.gap_percent(schedule.makespan, bound.best_known)
        print(f"gap        {gap:.2f} % to the best without shutdowns")
    print(f"time       {schedule.seconds:.3f} s")
    if args.output:
        _write_output("output", args.output, schedule.write_json)
    if args.gantt:
        from jssp.blocking.gantt import plot_blocking_gantt  # matplotlib loads only when a chart is asked for

        best = bound.best_known if bound else None
        _write_output("gantt", args.gantt, lambda path: plot_blocking_gantt(schedule, path, best_known=best))
    return 0


def _serve_command(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= MAX_PORT:
        raise OptionError("port", f"must be between 1 and {MAX_PORT}, got {args.port}")
    import uvicorn  # the web stack loads only for this command

    from jssp.web.app import ServeConfig, create_app

    config = ServeConfig(
        workers=args.workers,
        max_time_limit=args.max_time_limit,
        default_time_limit=min(ServeConfig.default_time_limit, args.max_time_limit),
        max_upload_bytes=args.max_upload_bytes,
        max_operations=args.max_operations,
        cpsat_workers=args.cpsat_workers,
        learned=args.learned,
    )
    app = create_app(config)  # checks the settings before anything binds
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        warning = f"serving on {args.host}: anyone who can reach port {args.port} can use this server"
        print(f"jssp: warning: {warning}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "solve":
            return _solve_command(args)
        if args.command == "serve":
            return _serve_command(args)
    except SeveralInstancesError as error:
        print(f"jssp: error: {error} with --instance NAME", file=sys.stderr)
        return EXIT_USAGE
    except InstanceFormatError as error:
        print(f"jssp: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyError, ValueError, CpSatError, OSError) as error:  # FileNotFoundError for a missing checkpoint too
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"jssp: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
