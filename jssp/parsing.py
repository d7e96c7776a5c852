"""Reading and writing instance files, with the layout detected from the content.

Layouts read:

* standard: ``n m`` then one line per job of ``machine duration`` pairs, machines 0-based
  (``#`` comment lines allowed);
* Taillard's original: a header line, a line ``n m time_seed machine_seed ub lb``, then a
  ``Times`` matrix and a ``Machines`` matrix with 1-based machines;
* OR-Library: ``+++`` rules and an ``instance NAME`` line and a description around one
  standard block;
* this package's JSON (``{"format": "jssp-instance/1", ...}``), which round-trips exactly.

Every problem is reported as an :class:`InstanceFormatError` whose message is one line naming
the file, the line and what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jssp.instance import MAX_DURATION, MAX_JOBS, MAX_MACHINES, MAX_OPERATIONS, Instance, InstanceError

INSTANCE_FORMAT = "jssp-instance/1"
MAX_FILE_BYTES = 64 * 1024 * 1024
LAYOUTS = ("standard", "taillard", "orlib", "json")
MAX_DIGITS = 18
"""Most digits of an integer in an instance, in any layout: every such value fits a 64-bit integer."""


class InstanceFormatError(ValueError):
    """A file that does not describe a valid instance; ``str()`` is ``file:line: reason``."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


class IntegerTooLargeError(ValueError):
    """An integer of more than :data:`MAX_DIGITS` digits (Python refuses to convert 4,300 digits and more)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.shown = token if len(token) <= 20 else f"{token[:20]}... ({len(token)} characters)"
        super().__init__(f"integer {self.shown} is too large (more than {MAX_DIGITS} digits)")


def bounded_integer(token: str) -> int:
    """``int(token)`` for a decimal integer of at most :data:`MAX_DIGITS` digits; also a ``parse_int`` for
    :func:`json.loads`, so that no JSON document can make Python convert thousands of digits."""
    if len(token.lstrip("+-").lstrip("0")) > MAX_DIGITS:
        raise IntegerTooLargeError(token)
    return int(token)


_Line = tuple[int, list[str]]  # (1-based line number, whitespace-separated tokens)


def read_instance(path: str | Path, name: str | None = None) -> Instance:
    """Read an instance file in any supported layout; the name defaults to the file stem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InstanceFormatError(str(path), None, f"file is {size} bytes, more than the {MAX_FILE_BYTES} allowed")
        data = path.read_bytes()
    except OSError as error:
        raise InstanceFormatError(str(path), None, f"cannot read file ({error.strerror or error})") from None
    return parse_instance(data, name=name or path.stem, source=str(path))


def parse_instance(data: bytes | str, name: str = "instance", source: str = "<text>") -> Instance:
    """Parse instance text (or bytes) in any supported layout.

    Args:
        data: file content.
        name: instance name when the content does not carry one.
        source: how errors name the input (a path, or ``<upload>``).
    """
    text = _decode(data, source)
    stripped = text.lstrip()
    if not stripped:
        raise InstanceFormatError(source, None, "file is empty")
    if stripped.startswith("{"):
        return _parse_json(text, name, source)
    lines = _tokenize(text)
    if any(tokens[0].lower() == "times" and len(tokens) == 1 for _, tokens in lines):
        return _parse_taillard(lines, name, source)
    if any(tokens[0].startswith("+++") or tokens[0].lower() == "instance" for _, tokens in lines):
        return _parse_orlib(lines, name, source)
    return _parse_standard(lines, name, source)


def detect_layout(data: bytes | str) -> str:
    """The layout :func:`parse_instance` would use for this content (one of :data:`LAYOUTS`)."""
    text = _decode(data, "<text>")
    if text.lstrip().startswith("{"):
        return "json"
    lines = _tokenize(text)
    if any(tokens[0].lower() == "times" and len(tokens) == 1 for _, tokens in lines):
        return "taillard"
    if any(tokens[0].startswith("+++") or tokens[0].lower() == "instance" for _, tokens in lines):
        return "orlib"
    return "standard"


def _decode(data: bytes | str, source: str) -> str:
    if isinstance(data, str):
        text = data
    else:
        if len(data) > MAX_FILE_BYTES:
            raise InstanceFormatError(
                source, None, f"input is {len(data)} bytes, more than the {MAX_FILE_BYTES} allowed"
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise InstanceFormatError(
                source, line, f"not a text file (undecodable byte at offset {error.start})"
            ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InstanceFormatError(source, line, "not a text file (contains NUL bytes)")
    return text


def _tokenize(text: str) -> list[_Line]:
    """Non-blank, non-comment lines with their numbers; handles CRLF, CR and tabs."""
    lines = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        tokens = raw.split()
        if tokens and not tokens[0].startswith("#"):
            lines.append((number, tokens))
    return lines


def _integers(tokens: Sequence[str], line: int, source: str, what: str) -> list[int]:
    values = []
    for position, token in enumerate(tokens, start=1):
        if not re.fullmatch(r"[+-]?\d+", token):
            raise InstanceFormatError(source, line, f"{what}: token {position} {token[:20]!r} is not an integer")
        try:
            values.append(bounded_integer(token))
        except IntegerTooLargeError as error:
            raise InstanceFormatError(source, line, f"{what}: token {position}: {error}") from None
    return values


def _check_size(num_jobs: int, num_machines: int, line: int, source: str) -> None:
    if num_jobs < 1 or num_machines < 1:
        raise InstanceFormatError(
            source, line, f"size {num_jobs}x{num_machines}: need at least one job and one machine"
        )
    if num_jobs > MAX_JOBS or num_machines > MAX_MACHINES or num_jobs * num_machines > MAX_OPERATIONS:
        raise InstanceFormatError(
            source,
            line,
            f"size {num_jobs}x{num_machines} is larger than supported "
            f"({MAX_JOBS} jobs, {MAX_MACHINES} machines, {MAX_OPERATIONS} operations)",
        )


def _check_durations(durations: list[int], line: int, source: str, job: int) -> None:
    for op, duration in enumerate(durations):
        if duration < 0:
            raise InstanceFormatError(source, line, f"job {job} operation {op}: negative duration {duration}")
        if duration > MAX_DURATION:
            raise InstanceFormatError(source, line, f"job {job} operation {op}: duration {duration} > {MAX_DURATION}")


def _check_route(machines: list[int], num_machines: int, line: int, source: str, job: int, base: int) -> None:
    for op, machine in enumerate(machines):
        if not 0 <= machine < num_machines:
            low, high = base, num_machines - 1 + base
            raise InstanceFormatError(
                source, line, f"job {job} operation {op}: machine {machine + base} outside {low}..{high}"
            )
    seen: set[int] = set()
    for op, machine in enumerate(machines):
        if machine in seen:
            raise InstanceFormatError(
                source,
                line,
                f"job {job} operation {op}: machine {machine + base} visited twice "
                "(every job must visit every machine exactly once; recirculation is not supported)",
            )
        seen.add(machine)


def _header(lines: list[_Line], source: str, what: str) -> tuple[int, int, int]:
    if not lines:
        raise InstanceFormatError(source, None, f"no {what} found")
    line, tokens = lines[0]
    values = _integers(tokens, line, source, what)
    if len(values) < 2:
        raise InstanceFormatError(source, line, f"{what} needs two integers (jobs machines), found {len(values)}")
    _check_size(values[0], values[1], line, source)
    return values[0], values[1], line


def _parse_standard_block(lines: list[_Line], name: str, source: str, strict_end: bool) -> tuple[Instance, int]:
    """Parse ``n m`` plus n job lines from the start of ``lines``; returns the instance and lines used."""
    num_jobs, num_machines, header_line = _header(lines, source, "header")
    if len(lines[0][1]) != 2:
        raise InstanceFormatError(
            source, header_line, f"header must be two integers 'jobs machines', found {len(lines[0][1])} tokens"
        )
    machines = np.empty((num_jobs, num_machines), dtype=np.int64)
    durations = np.empty((num_jobs, num_machines), dtype=np.int64)
    for job in range(num_jobs):
        if 1 + job >= len(lines):
            last = lines[-1][0]
            raise InstanceFormatError(
                source, last, f"truncated: expected {num_jobs} job lines after the header, found {job}"
            )
        line, tokens = lines[1 + job]
        values = _integers(tokens, line, source, f"job {job}")
        if len(values) != 2 * num_machines:
            raise InstanceFormatError(
                source,
                line,
                f"job {job} has {len(values)} numbers, expected {2 * num_machines} "
                f"({num_machines} machine/duration pairs)",
            )
        _check_route(values[0::2], num_machines, line, source, job, base=0)
        _check_durations(values[1::2], line, source, job)
        machines[job] = values[0::2]
        durations[job] = values[1::2]
    used = 1 + num_jobs
    if strict_end and used < len(lines):
        line = lines[used][0]
        raise InstanceFormatError(source, line, f"unexpected data after the {num_jobs} job lines")
    return _build(machines, durations, name, source, header_line), used


def _parse_standard(lines: list[_Line], name: str, source: str) -> Instance:
    return _parse_standard_block(lines, name, source, strict_end=True)[0]


def _parse_orlib(lines: list[_Line], name: str, source: str) -> Instance:
    instance_lines = [(line, tokens) for line, tokens in lines if tokens[0].lower() == "instance"]
    if len(instance_lines) > 1:
        raise InstanceFormatError(
            source,
            instance_lines[1][0],
            f"file holds {len(instance_lines)} instances; split it into one file per instance",
        )
    start = 0
    if instance_lines:
        line, tokens = instance_lines[0]
        if len(tokens) != 2:
            raise InstanceFormatError(source, line, "expected 'instance NAME'")
        name = tokens[1]
        start = lines.index(instance_lines[0]) + 1
    # The block starts at the first line after 'instance' that is exactly two integers.
    for index in range(start, len(lines)):
        tokens = lines[index][1]
        if len(tokens) == 2 and all(re.fullmatch(r"\d+", token) for token in tokens):
            break
    else:
        raise InstanceFormatError(source, None, "OR-Library block without a 'jobs machines' line")
    block = [entry for entry in lines[index:]]
    instance, used = _parse_standard_block(block, name, source, strict_end=False)
    for line, tokens in block[used:]:
        if not tokens[0].startswith("+++"):
            raise InstanceFormatError(source, line, "unexpected data after the job lines")
    return instance


def _parse_taillard(lines: list[_Line], name: str, source: str) -> Instance:
    positions = {tokens[0].lower(): index for index, (_, tokens) in enumerate(lines) if len(tokens) == 1}
    if "machines" not in positions:
        raise InstanceFormatError(source, lines[-1][0], "Taillard layout: 'Times' matrix without a 'Machines' matrix")
    times_at, machines_at = positions["times"], positions["machines"]
    if machines_at < times_at:
        raise InstanceFormatError(source, lines[machines_at][0], "Taillard layout: 'Machines' must follow 'Times'")
    # Header: an optional text line, then a line starting with jobs and machines.
    header = [entry for entry in lines[:times_at] if re.fullmatch(r"[+-]?\d+", entry[1][0])]
    if len(header) != 1:
        line = lines[0][0] if lines else None
        raise InstanceFormatError(
            source, line, "Taillard layout: expected one numeric header line 'jobs machines ...' before 'Times'"
        )
    num_jobs, num_machines, header_line = _header(header, source, "Taillard header")

    def matrix(begin: int, end: int, what: str) -> list[tuple[int, list[int]]]:
        rows = lines[begin + 1 : end]
        if len(rows) != num_jobs:
            line = lines[begin][0]
            raise InstanceFormatError(source, line, f"{what} matrix has {len(rows)} rows, expected {num_jobs}")
        result = []
        for job, (line, tokens) in enumerate(rows):
            values = _integers(tokens, line, source, f"{what} row {job}")
            if len(values) != num_machines:
                raise InstanceFormatError(
                    source, line, f"{what} row {job} has {len(values)} numbers, expected {num_machines}"
                )
            result.append((line, values))
        return result

    times = matrix(times_at, machines_at, "Times")
    routes = matrix(machines_at, len(lines), "Machines")
    machines = np.empty((num_jobs, num_machines), dtype=np.int64)
    durations = np.empty((num_jobs, num_machines), dtype=np.int64)
    for job in range(num_jobs):
        _check_durations(times[job][1], times[job][0], source, job)
        route = [machine - 1 for machine in routes[job][1]]
        _check_route(route, num_machines, routes[job][0], source, job, base=1)
        durations[job] = times[job][1]
        machines[job] = route
    return _build(machines, durations, name, source, header_line)


def _parse_json(text: str, name: str, source: str) -> Instance:
    try:
        data = json.loads(text, parse_int=bounded_integer)
    except json.JSONDecodeError as error:
        raise InstanceFormatError(source, error.lineno, f"invalid JSON: {error.msg}") from None
    except RecursionError:
        raise InstanceFormatError(source, None, "invalid JSON: nested too deeply") from None
    except IntegerTooLargeError as error:
        line = text[: text.find(error.token)].count("\n") + 1
        raise InstanceFormatError(source, line, str(error)) from None
    if not isinstance(data, dict) or data.get("format") != INSTANCE_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise InstanceFormatError(source, 1, f"JSON is not a {INSTANCE_FORMAT} document (format={found!r})")
    for key in ("num_jobs", "num_machines", "machines", "durations"):
        if key not in data:
            raise InstanceFormatError(source, 1, f"JSON instance lacks the field {key!r}")
    num_jobs, num_machines = data["num_jobs"], data["num_machines"]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (num_jobs, num_machines)):
        raise InstanceFormatError(source, 1, "num_jobs and num_machines must be integers")
    _check_size(num_jobs, num_machines, 1, source)
    for key in ("machines", "durations"):
        rows = data[key]
        if not isinstance(rows, list) or len(rows) != num_jobs:
            raise InstanceFormatError(source, 1, f"{key!r} must be a list of {num_jobs} rows")
        for job, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != num_machines:
                raise InstanceFormatError(source, 1, f"{key}[{job}] must be a list of {num_machines} integers")
            if not all(isinstance(value, int) and not isinstance(value, bool) for value in row):
                raise InstanceFormatError(source, 1, f"{key}[{job}] holds a value that is not an integer")
    # Range checks on the Python ints, before int64 arrays exist (a value >= 2**63 would overflow).
    for job in range(num_jobs):
        _check_route(data["machines"][job], num_machines, 1, source, job, base=0)
        _check_durations(data["durations"][job], 1, source, job)
    machines = np.array(data["machines"], dtype=np.int64).reshape(num_jobs, num_machines)
    durations = np.array(data["durations"], dtype=np.int64).reshape(num_jobs, num_machines)
    label = data.get("name", name)
    return _build(machines, durations, str(label) if label else name, source, 1)


def _build(machines: np.ndarray, durations: np.ndarray, name: str, source: str, line: int) -> Instance:
    try:
        return Instance(machines, durations, name=name)
    except InstanceError as error:  # the checks above should have caught it; keep the one-line contract
        raise InstanceFormatError(source, line, str(error)) from None


# ---------------------------------------------------------------- writers


def format_standard(instance: Instance) -> str:
    """The standard layout, exactly as the benchmark files in ``instances/`` are written."""
    lines = [f"{instance.num_jobs} {instance.num_machines}"]
    for job in range(instance.num_jobs):
        pairs = np.stack([instance.machines[job], instance.durations[job]], axis=1).ravel()
        lines.append(" ".join(str(value) for value in pairs))
    return "\n".join(lines) + "\n"


def format_taillard(instance: Instance, time_seed: int = 0, machine_seed: int = 0) -> str:
    """Taillard's original layout (1-based machines)."""
    lines = [
        "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound",
        f"{instance.num_jobs} {instance.num_machines} {time_seed} {machine_seed} 0 0",
        "Times",
    ]
    lines += [" ".join(str(value) for value in row) for row in instance.durations]
    lines.append("Machines")
    lines += [" ".join(str(value + 1) for value in row) for row in instance.machines]
    return "\n".join(lines) + "\n"


def format_orlib(instance: Instance, description: str = "") -> str:
    """One OR-Library block (``instance NAME``, a description, the standard block)."""
    rule = " " + "+" * 29
    body = format_standard(instance).rstrip("\n")
    return (
        "\n".join([rule, " ", f" instance {instance.name}", " ", rule, f" {description or instance.name}", body, rule])
        + "\n"
    )


def format_json(instance: Instance) -> str:
    """This package's JSON layout; :func:`parse_instance` reads it back to an equal instance."""
    return (
        json.dumps(
            {
                "format": INSTANCE_FORMAT,
                "name": instance.name,
                "num_jobs": instance.num_jobs,
                "num_machines": instance.num_machines,
                "machines": instance.machines.tolist(),
                "durations": instance.durations.tolist(),
            }
        )
        + "\n"
    )


_WRITERS = {"standard": format_standard, "taillard": format_taillard, "orlib": format_orlib, "json": format_json}


def write_instance(instance: Instance, path: str | Path, layout: str = "standard") -> None:
    """Write ``instance`` to ``path`` in one of :data:`LAYOUTS`."""
    if layout not in _WRITERS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    Path(path).write_text(_WRITERS[layout](instance))
