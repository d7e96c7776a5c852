"""The ``jssp`` command line: ``jssp solve FILE [--instance NAME] --method M`` and ``jssp serve`` (web page, API).

``jssp solve --problem NAME`` solves another registered problem variant (:mod:`jssp.problems`);
its own options (``--shutdown-rate`` ...) are flags generated from the problem's options dataclass,
and what is read, printed and written is the problem's.

Errors the user can fix print one line and exit with status 2, no traceback: a malformed file
as ``FILE:LINE: reason``, an option out of range as ``--option must be ...``. Every option (output
folders included) is checked before the instance is read or solved. The method options are those
of :mod:`jssp.options`, shared with ``evaluate.py``; heavy modules (OR-Tools, matplotlib, torch)
load only for the methods and outputs that use them.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from jssp.cpsat import CpSatError
from jssp.instance import Instance
from jssp.options import add_option_arguments, check_output_paths, solve_options_from
from jssp.parsing import InstanceFormatError, SeveralInstancesError
from jssp.problems import DEFAULT_PROBLEM, Reference, get_problem, problem_names
from jssp.solvers import OptionError, check_method_suits, ensure_methods, get_solver, method_names, solve

EXIT_USAGE = 2
EXIT_NO_SCHEDULE = 1
MAX_PORT = 65535
OUTPUTS = {
    "output": "write the schedule JSON here",
    "csv": "write the schedule as CSV here",
    "gantt": "write a Gantt chart PNG here",
}


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
        help=f"solving method: {', '.join(method_names())}, gnn, gnn-sample, hybrid, ls-<steps>; default "
        f"{get_problem(DEFAULT_PROBLEM).default_method} (tabu search with path relinking, on every core, for "
        "--time-limit: the best schedules the package makes in that time); another problem has methods and a "
        "default of its own (jssp serve lists them per problem)",
    )
    for name, text in OUTPUTS.items():
        solve_parser.add_argument(f"--{name}", type=Path, help=text)
    problems = [get_problem(name) for name in problem_names()]
    solve_parser.add_argument(
        "--problem",
        choices=[problem.name for problem in problems],
        default=DEFAULT_PROBLEM,
        help="; ".join(f"{problem.name}: {problem.description}" for problem in problems),
    )
    # --workers means parallel solver processes (evaluate.py, jssp serve); one solve has none to set.
    solve_parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    add_option_arguments(solve_parser)

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
        "--search-workers",
        type=int,
        help="search processes of one tabu-pr solve (default: the cores available shared among --workers)",
    )
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
    problem = get_problem(options.problem)
    outputs = {name: getattr(args, name) for name in OUTPUTS}
    for name, path in outputs.items():
        if path is not None and name not in problem.outputs:
            offered = ", ".join(f"--{output}" for output in problem.outputs)
            raise OptionError(name, f"is not offered for --problem {problem.name}; it writes {offered}")
    check_output_paths(outputs, {"file": args.file})
    method = (args.method or problem.default_method).strip().lower()
    ensure_methods([method], problem.name)
    get_solver(method, problem.name)  # KeyError naming the problem's methods
    check_method_suits(method, options)  # before the instance is read

    # ------------------------------------------------------------------ solve and report
    instance = problem.read_instance(args.file, instance=args.instance)
    problem.warm_up([method])
    try:
        schedule = solve(instance, method, options)
    except problem.solve_errors as error:  # no schedule, for a reason of the instance and options
        print(f"jssp: error: {error}", file=sys.stderr)
        return EXIT_NO_SCHEDULE
    reference = problem.reference(instance)
    print(_instance_line(instance, reference))
    for line in problem.report_lines(schedule, options, reference):
        print(line)
    for name, path in outputs.items():
        if path is not None:
            _write_output(name, path, functools.partial(problem.write_output, name, schedule, reference=reference))
    return 0


def _write_output(name: str, path: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(path)``; a failure (disk full, folder removed during the solve) names the option."""
    try:
        write(path)
    except OSError as error:
        raise OptionError(name, f"cannot write {path} ({error.strerror or error})") from None


def _instance_line(instance: Instance, reference: Reference) -> str:
    known = f" = benchmark {reference.benchmark}" if reference.benchmark else ""
    size = f"{instance.num_jobs} jobs x {instance.num_machines} machines"
    if not instance.is_classical:
        size += f", {instance.num_operations} operations"
    return f"instance   {instance.name} ({size}){known}"


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
        search_workers=args.search_workers,
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
