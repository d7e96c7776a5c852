"""Solve options from the command line: one flag per :class:`~jssp.solvers.SolveOptions` field, one meaning each.

``jssp solve`` adds the flags with :func:`add_solve_arguments` and builds its options with
:func:`solve_options_from`; ``evaluate.py`` builds its options from its config dataclass with the same
function (its fields carry the same names), and the web server builds and checks them the same way
from its form fields. So ``--cpsat-workers`` is CP-SAT search threads wherever it appears,
``--workers`` is always parallel solver processes (``evaluate.py``, ``jssp serve``), and a value out
of range gives the same :class:`~jssp.solvers.OptionError` naming the flag, before anything is solved.
The problem options (``--problem``, ``--shutdown-rate``, ...) follow the same names and checks.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
from pathlib import Path

from jssp.dispatch import SCHEMES
from jssp.files import is_special_file
from jssp.solvers import OptionError, SolveOptions

SOLVE_OPTION_NAMES = tuple(field.name for field in dataclasses.fields(SolveOptions))
"""Field names of :class:`SolveOptions`; an argparse namespace or config holding them can build one."""
PROBLEM_OPTION_NAMES = ("problem", "shutdown_rate", "downtime", "interruption_mode")
"""The fields that choose the problem and its shutdowns: ``jssp solve`` has them in its own argument group, and
``evaluate.py`` takes a list of shutdown rates instead of one."""

_DEFAULTS = SolveOptions()
_HELP = {
    "time_limit": f"seconds for time-limited methods: cpsat, tabu, hybrid ({_DEFAULTS.time_limit:g})",
    "seed": f"seed of randomised methods: random, cpsat, tabu, gnn-sample ({_DEFAULTS.seed})",
    "cpsat_workers": f"CP-SAT search threads of one solve: cpsat, hybrid ({_DEFAULTS.cpsat_workers})",
    "scheme": f"schedule-generation scheme of the dispatching rules ({_DEFAULTS.scheme})",
    "device": "learned methods: auto (GPU if present), cpu, cuda, cuda:<index> or mps",
    "checkpoint": f"learned methods: checkpoint name or folder ({_DEFAULTS.checkpoint})",
    "improvement_checkpoint": f"ls-<steps>: move-policy checkpoint name or folder ({_DEFAULTS.improvement_checkpoint})",
    "samples": f"gnn-sample: sampled rollouts ({_DEFAULTS.samples})",
    "temperature": "gnn-sample: softmax temperature (default: the checkpoint's tuned one, or 1.0)",
}


def add_solve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per method option of :class:`SolveOptions` (``--time-limit``, ``--cpsat-workers``, ...),
    defaults from it; the problem's flags (:data:`PROBLEM_OPTION_NAMES`) are the caller's."""
    group = parser.add_argument_group("method options")
    for field in dataclasses.fields(SolveOptions):
        if field.name in PROBLEM_OPTION_NAMES:
            continue
        flag = "--" + field.name.replace("_", "-")
        default = getattr(_DEFAULTS, field.name)
        if field.name == "scheme":
            group.add_argument(flag, default=default, choices=SCHEMES, help=_HELP[field.name])
        elif field.name == "temperature":
            group.add_argument(flag, type=float, default=default, help=_HELP[field.name])
        else:
            group.add_argument(flag, type=type(default), default=default, help=_HELP[field.name])


def solve_options_from(settings: object) -> SolveOptions:
    """The checked :class:`SolveOptions` of an argparse namespace or config dataclass with its field names.

    A problem option the settings lack, or hold as None (a flag not given), takes its default.

    Raises:
        OptionError: naming the first option out of range.
    """
    values = {name: getattr(settings, name) for name in SOLVE_OPTION_NAMES if name not in PROBLEM_OPTION_NAMES}
    for name in PROBLEM_OPTION_NAMES:
        value = getattr(settings, name, None)
        values[name] = getattr(_DEFAULTS, name) if value is None else value
    options = SolveOptions(**values)
    options.check()
    return options


def check_processes(workers: int) -> None:
    """``--workers``, the number of parallel solver processes, must be at least 1."""
    if workers < 1:
        raise OptionError("workers", f"must be at least 1, got {workers}")


def check_output_paths(outputs: dict[str, Path | None], inputs: dict[str, Path] | None = None) -> None:
    """Refuse, before any work, output files that could not be written or would destroy something.

    Each output's folder must exist and be writable (a file is created there and removed), the path
    must not be a folder, and no two options may name the same file: not two outputs, and no output
    the input (``jssp solve ft06.txt --output ft06.txt`` would overwrite the instance). A FIFO or a
    device (``/dev/stdout``) is written into, so it only has to be writable.

    Args:
        outputs: option field name (``output``, ``csv``, ``gantt``) -> path, None when not given.
        inputs: option or argument name (``file``) -> path read.

    Raises:
        OptionError: naming the first output at fault.
    """
    seen: dict[object, str] = {}
    for name, source in (inputs or {}).items():
        seen.setdefault(_file_identity(source), name)
    for name, path in outputs.items():
        if path is None:
            continue
        _check_writable(name, path)
        if is_special_file(path):
            continue
        identity = _file_identity(path)
        if identity in seen:
            other = seen[identity]
            what = "the instance file" if other == "file" else f"the file of --{other.replace('_', '-')}"
            raise OptionError(name, f"{path} is {what}; give each output a file of its own")
        seen[identity] = name


def _file_identity(path: Path) -> object:
    """What tells two paths apart: device and inode of an existing file (hard links, symbolic links),
    else the absolute path with its links resolved."""
    try:
        status = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (status.st_dev, status.st_ino)


def _check_writable(name: str, path: Path) -> None:
    if path.is_dir():
        raise OptionError(name, f"{path} is a folder; give a file name")
    if is_special_file(path):
        if not os.access(path, os.W_OK):
            raise OptionError(name, f"cannot write {path} (permission denied)")
        return
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        raise OptionError(name, f"folder {path.parent} does not exist")
    try:
        descriptor, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as error:
        raise OptionError(name, f"cannot write in folder {path.parent} ({error.strerror or error})") from None
    os.close(descriptor)
    os.unlink(probe)
