"""Options from the command line, a config or a form: one definition of each, read from its dataclass.

Every option is a field of a frozen dataclass with a docstring: the method options of
:class:`~jssp.solvers.SolveOptions`, and each problem's own options (:attr:`jssp.problems.Problem.options`).
:func:`option_fields` reads them (name, type, default, choices, docstring), and ``jssp solve``
(:func:`add_option_arguments`), ``evaluate.py`` (its config is made from the same fields) and the
web server (:meth:`OptionField.parse` of each form field) are generated from it. So ``--cpsat-workers``
is CP-SAT search threads wherever it appears, ``--workers`` is always parallel solver processes
(``evaluate.py``, ``jssp serve``), and a value out of range gives the same
:class:`~jssp.solvers.OptionError` naming the flag, before anything is solved.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import os
import tempfile
import textwrap
import threading
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jssp.files import is_special_file
from jssp.parsing import bounded_integer
from jssp.problems import Problem, UnknownProblemError, get_problem, problem_names
from jssp.solvers import OptionError, SolveOptions

METHOD_OPTION_NAMES = tuple(
    field.name for field in dataclasses.fields(SolveOptions) if field.name not in ("problem", "problem_options")
)
"""The method options of :class:`SolveOptions` (``time_limit`` .. ``temperature``), those of every problem."""


@dataclass(frozen=True)
class OptionField:
    """One option as its dataclass declares it.

    Attributes:
        name: field name (``shutdown_rate``); the flag is ``--shutdown-rate``, the form field the name.
        kind: ``int``, ``float`` or ``str``: the type of the value (of each value, when ``many``).
        default: the field's default.
        help: the field's docstring, on one line.
        choices: the allowed values of a text option (field metadata ``choices``), else None.
        optional: None is a value (``int | None``): "not given, use the default rule".
        many: a tuple of values (``tuple[float, ...]``).
    """

    name: str
    kind: type
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    optional: bool = False
    many: bool = False

    @property
    def flag(self) -> str:
        """The command-line spelling, ``--shutdown-rate``."""
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """The value of one command-line or form text: ValueError if it is not of the kind (an integer of
        thousands of digits included)."""
        text = text.strip()
        if self.kind is int:
            return bounded_integer(text)
        if self.kind is float:
            return float(text)
        return text.lower() if self.choices else text


_FIELDS: dict[type, tuple[OptionField, ...]] = {}
"""What :func:`option_fields` has read, per options dataclass (its source is parsed once)."""


def option_fields(options: type) -> tuple[OptionField, ...]:
    """The fields of an options dataclass, in order, with their types, defaults and docstrings."""
    if options not in _FIELDS:
        _FIELDS[options] = _read_fields(options)
    return _FIELDS[options]


def _read_fields(options: type) -> tuple[OptionField, ...]:
    hints = typing.get_type_hints(options)
    docs = field_docs(options)
    fields = []
    for field in dataclasses.fields(options):
        kind, optional, many = _unpack(hints[field.name])
        if field.default is not dataclasses.MISSING:
            default = field.default
        else:
            default = field.default_factory() if field.default_factory is not dataclasses.MISSING else None
        choices = field.metadata.get("choices")
        fields.append(OptionField(field.name, kind, default, docs.get(field.name, ""), choices, optional, many))
    return tuple(fields)


def _unpack(hint: Any) -> tuple[type, bool, bool]:
    """(value type, None allowed, tuple of values) of a field's type hint."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [member for member in typing.get_args(hint) if member is not type(None)]
        optional, hint = True, members[0]
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0], optional, True
    return hint, optional, False


_PARSING = threading.Lock()
"""``ast.parse`` is not safe in several threads at once (the web server reads options from its threads)."""


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (and of its bases), on one line."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):  # a class made at run time, or a built-in
            continue
        with _PARSING:
            body = ast.parse(source).body
        if not body or not isinstance(body[0], ast.ClassDef):
            continue
        statements = body[0].body
        for statement, following in zip(statements, statements[1:], strict=False):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[statement.target.id] = " ".join(following.value.value.split())
    return docs


def problem_option_owners() -> dict[str, list[Problem]]:
    """Option name -> the registered problems that have it (problem options only), in registration order."""
    owners: dict[str, list[Problem]] = {}
    for name in problem_names():
        problem = get_problem(name)
        for field in option_fields(problem.options):
            owners.setdefault(field.name, []).append(problem)
    return owners


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per method option (``--time-limit``, ``--cpsat-workers``, ...; defaults from
    :class:`SolveOptions`) and one per option of every registered problem (default None: not given)."""
    group = parser.add_argument_group("method options")
    for field in option_fields(SolveOptions):
        if field.name in METHOD_OPTION_NAMES:
            _add_flag(group, field, field.default)
    groups: dict[str, Any] = {}
    for name, problems in problem_option_owners().items():
        field = next(field for field in option_fields(problems[0].options) if field.name == name)
        title = f"--problem {', '.join(problem.name for problem in problems)} options"
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
        _add_flag(groups[title], field, None)


def help_text(field: OptionField) -> str:
    """The field's docstring, with its default when the docstring does not say it."""
    text = field.help.rstrip(".")
    if field.default is None or "default" in text:
        return text
    values = field.default if field.many else (field.default,)
    shown = " ".join(f"{value:g}" if isinstance(value, float) else str(value) for value in values)
    return f"{text} (default {shown})"


def _add_flag(group: Any, field: OptionField, default: Any) -> None:
    kind = field.kind if field.kind in (int, float) else str  # a huge integer is the range check's to refuse
    metavar = field.name.split("_")[-1].upper() if field.choices is None else None
    group.add_argument(
        field.flag,
        type=kind,
        default=default,
        choices=field.choices,
        metavar=metavar,
        help=help_text(field).replace("%", "%%"),
    )


def solve_options_from(settings: object) -> SolveOptions:
    """The checked :class:`SolveOptions` of an argparse namespace, config dataclass or mapping holding the option
    names: the method options, ``problem`` (default ``jssp``) and that problem's options.

    A problem option the settings lack, or hold as None (a flag not given), takes its default; a
    registered problem's option given a value for another problem is refused.

    Raises:
        OptionError: naming the first option out of range, or of another problem.
    """

    def value(name: str) -> Any:
        return settings.get(name) if isinstance(settings, dict) else getattr(settings, name, None)

    problem_name = value("problem") or SolveOptions.problem
    try:
        problem = get_problem(problem_name)
    except UnknownProblemError:
        raise OptionError("problem", f"must be one of {', '.join(problem_names())}, got {problem_name!r}") from None
    own = {field.name: field for field in option_fields(problem.options)}
    for name, owners in problem_option_owners().items():
        if name not in own and value(name) is not None and value(name) != _default_of(owners[0], name):
            raise OptionError(name, f"applies to --problem {', '.join(owner.name for owner in owners)} only")
    chosen = {name: value(name) for name in own if value(name) is not None}
    methods = {name: value(name) for name in METHOD_OPTION_NAMES if value(name) is not None}
    options = SolveOptions(**methods, problem=problem.name, problem_options=problem.options(**chosen))
    options.check()
    return options


def _default_of(problem: Problem, name: str) -> Any:
    return next(field.default for field in option_fields(problem.options) if field.name == name)


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
