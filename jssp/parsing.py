"""Reading and writing instance files, with the layout detected from the content.

Layouts read:

* standard: ``n m`` then one line per job of ``machine duration`` pairs, machines 0-based
  (``#`` comment lines allowed). A job line holds any number of pairs (at least one), so routes
  may skip machines and visit one several times; a line of ``2 * m`` numbers visiting every
  machine once is the classical case. A trailing ``-1 -1`` pair, which ends every job line in Da
  Col & Teppan's files (and JSPLib's re-entrant instances), is dropped;
* Taillard's original: a header line, a line ``n m time_seed machine_seed ub lb``, then a
  ``Times`` matrix and a ``Machines`` matrix with 1-based machines (classical instances only);
* OR-Library: ``+++`` rules, ``instance NAME`` lines and descriptions around standard blocks. A
  file may hold many instances (``jobshop1.txt``): ``instance=NAME`` selects one and
  :func:`list_instances` names them;
* this package's JSON (``{"format": "jssp-instance/1", ...}``, one list per job), which
  round-trips exactly;
* JSPLib's JSON (``{"instance": NAME, "jobs": n, "machines": m, "data": [{"job": j,
  "operation": k, "machine": i, "duration": d}, ...]}``, every index 0-based), one record per
  operation.

Bytes that start with the gzip magic number are decompressed first (``tai_1000_1000_1.txt.gz``).
Every problem is reported as an :class:`InstanceFormatError` whose message is one line naming
the file, the line and what is wrong.
"""

from __future__ import annotations

import json
import re
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt

from jssp.instance import (
    MAX_DURATION,
    MAX_JOBS,
    MAX_MACHINES,
    MAX_OPERATIONS,
    PAD,
    Instance,
    InstanceError,
)

INSTANCE_FORMAT = "jssp-instance/1"
MAX_FILE_BYTES = 128 * 1024 * 1024
"""Largest input accepted, compressed or not, and largest decompressed content: room for a
1,000,000-operation instance in every layout (JSPLib's JSON takes about 70 bytes per operation)."""
LAYOUTS = ("standard", "taillard", "orlib", "json", "jsplib")
MAX_DIGITS = 18
"""Most digits of an integer in an instance, in any layout: every such value fits a 64-bit integer."""
MAX_LISTED_NAMES = 20
"""Instance names an error lists before it only counts the rest."""

_GZIP_MAGIC = b"\x1f\x8b"
_JSPLIB_KEYS = ("job", "operation", "machine", "duration")
# A sign not followed by a digit: numpy's text parser would read "-" alone as 0.
_DANGLING_SIGN = re.compile(r"[+-](?![0-9])")


class InstanceFormatError(ValueError):
    """A file that does not describe a valid instance; ``str()`` is ``file:line: reason``."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


class InputTooLargeError(InstanceFormatError):
    """Input, or its content after decompression, above the size allowed (``max_bytes``)."""


class SeveralInstancesError(InstanceFormatError):
    """A file that holds several instances, read without naming one; ``names`` lists them in file order."""

    def __init__(self, source: str, line: int | None, names: Sequence[str]) -> None:
        self.names = list(names)
        super().__init__(
            source, line, f"file holds {len(self.names)} instances ({_names_listed(self.names)}); select one by name"
        )


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


# ---------------------------------------------------------------- entry points


def file_stem(path: str | Path) -> str:
    """The instance name a file gives: its name less ``.gz`` and extension (``ta01.txt.gz`` -> ``ta01``)."""
    name = PurePath(path).name
    if name.lower().endswith(".gz"):
        name = name[: -len(".gz")]
    return PurePath(name).stem if name else name


def read_instance(path: str | Path, name: str | None = None, instance: str | None = None) -> Instance:
    """Read an instance file in any supported layout, gzip-compressed or not.

    Args:
        path: the file.
        name: instance name when the content does not carry one; defaults to :func:`file_stem`.
        instance: which instance of a file that holds several (OR-Library collections); see
            :func:`list_instances`.
    """
    path = Path(path)
    return parse_instance(_read_bytes(path), name=name or file_stem(path), source=str(path), instance=instance)


def list_instances(path: str | Path) -> list[str]:
    """Names of the instances in a file: one per ``instance NAME`` block of an OR-Library collection,
    else the one name :func:`read_instance` gives the instance."""
    path = Path(path)
    return instance_names(_read_bytes(path), name=file_stem(path), source=str(path))


def instance_names(data: bytes | str, name: str = "instance", source: str = "<text>") -> list[str]:
    """:func:`list_instances` for content in memory (``name`` as in :func:`parse_instance`)."""
    text = _decode(data, source, MAX_FILE_BYTES)
    lines = _split_lines(text)
    layout = _layout(text, lines)
    if layout == "orlib":
        return [block.name for block in _orlib_blocks(_tokenize(lines), name, source)]
    if layout == "json":
        return [_parse_json(text, name, source).name]
    return [name]


def parse_instance(
    data: bytes | str,
    name: str = "instance",
    source: str = "<text>",
    instance: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> Instance:
    """Parse instance text (or bytes, gzip-compressed or not) in any supported layout.

    Args:
        data: file content.
        name: instance name when the content does not carry one.
        source: how errors name the input (a path, or ``<upload>``).
        instance: the name of the instance to read from a file that holds several; a file that
            holds several needs it. For a file with one instance it must be that instance's name.
        max_bytes: largest input accepted, and largest content after decompression.
    """
    text = _decode(data, source, max_bytes)
    if not text.strip():
        raise InstanceFormatError(source, None, "file is empty")
    lines = _split_lines(text)
    layout = _layout(text, lines)
    if layout == "orlib":
        return _parse_orlib(_tokenize(lines), name, source, instance)
    if layout == "json":
        parsed = _parse_json(text, name, source)
    elif layout == "taillard":
        parsed = _parse_taillard(_tokenize(lines), name, source)
    else:
        parsed = _parse_standard_fast(text, lines, name) or _parse_standard(_tokenize(lines), name, source)
    if instance is not None and instance != parsed.name:
        raise InstanceFormatError(
            source, None, f"no instance named {instance!r}: the file holds one instance, {parsed.name!r}"
        )
    return parsed


def detect_layout(data: bytes | str) -> str:
    """The layout :func:`parse_instance` would use for this content (one of :data:`LAYOUTS`)."""
    text = _decode(data, "<text>", MAX_FILE_BYTES)
    layout = _layout(text, _split_lines(text))
    if layout == "json":
        try:
            document = json.loads(text, parse_int=bounded_integer)
        except (ValueError, RecursionError):
            return "json"
        if isinstance(document, dict) and "format" not in document and "data" in document:
            return "jsplib"
    return layout


# ---------------------------------------------------------------- text


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, read at most :data:`MAX_FILE_BYTES` + 1 of them: a FIFO (``<(zcat ...)``) or a
    device (``/dev/zero``) has no size to check first."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputTooLargeError(str(path), None, f"file is {size} bytes, more than the {MAX_FILE_BYTES} allowed")
        chunks = []
        left = MAX_FILE_BYTES + 1
        with open(path, "rb") as stream:
            while left > 0 and (chunk := stream.read(min(left, 1 << 20))):
                chunks.append(chunk)
                left -= len(chunk)
    except OSError as error:
        raise InstanceFormatError(str(path), None, f"cannot read file ({error.strerror or error})") from None
    if left <= 0:
        raise InputTooLargeError(str(path), None, f"input is more than the {MAX_FILE_BYTES} bytes allowed")
    return b"".join(chunks)


def _decode(data: bytes | str, source: str, max_bytes: int) -> str:
    if isinstance(data, str):
        text = data
    else:
        if len(data) > max_bytes:
            raise InputTooLargeError(source, None, f"input is {len(data)} bytes, more than the {max_bytes} allowed")
        if data[:2] == _GZIP_MAGIC:
            data = _gunzip(data, source, max_bytes)
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


def _gunzip(data: bytes, source: str, max_bytes: int) -> bytes:
    """Decompress gzip ``data`` (members in a row allowed), stopping as soon as the output would pass
    ``max_bytes``: a small file that inflates to gigabytes is refused without being inflated."""
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest[:2] == _GZIP_MAGIC:
        member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            part = member.decompress(rest, max_bytes - size + 1)
        except zlib.error as error:
            raise InstanceFormatError(source, None, f"not a valid gzip file ({error})") from None
        size += len(part)
        if size > max_bytes:
            raise InputTooLargeError(source, None, f"decompresses to more than the {max_bytes} bytes allowed")
        if not member.eof:
            raise InstanceFormatError(source, None, "not a valid gzip file (truncated)")
        parts.append(part)
        rest = member.unused_data
    if rest.strip(b"\x00"):
        raise InstanceFormatError(source, None, "not a valid gzip file (data after the compressed stream)")
    return b"".join(parts)


def _split_lines(text: str) -> list[str]:
    """Raw lines; CRLF and CR end lines too."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _tokenize(raw_lines: list[str]) -> list[_Line]:
    """Non-blank, non-comment lines with their numbers and tokens (tabs and spaces separate)."""
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        tokens = raw.split()
        if tokens and not tokens[0].startswith("#"):
            lines.append((number, tokens))
    return lines


def _layout(text: str, raw_lines: list[str]) -> str:
    """The layout family from the first token of each line, without splitting whole lines."""
    if text.lstrip().startswith("{"):
        return "json"
    orlib = False
    for raw in raw_lines:
        head = raw.split(None, 1)
        if not head or head[0].startswith("#"):
            continue
        first = head[0].lower()
        if first == "times" and len(head) == 1:
            return "taillard"
        orlib = orlib or first.startswith("+++") or first == "instance"
    return "orlib" if orlib else "standard"


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


def _names_listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED_NAMES])
    return shown + (f" and {len(names) - MAX_LISTED_NAMES} more" if len(names) > MAX_LISTED_NAMES else "")


# ---------------------------------------------------------------- checks


def _check_size(num_jobs: int, num_machines: int, line: int | None, source: str) -> None:
    """Jobs and machines in range; routes may have any length, so their product bounds nothing here."""
    if num_jobs < 1 or num_machines < 1:
        raise InstanceFormatError(
            source, line, f"size {num_jobs}x{num_machines}: need at least one job and one machine"
        )
    if num_jobs > MAX_JOBS or num_machines > MAX_MACHINES:
        raise InstanceFormatError(
            source,
            line,
            f"size {num_jobs}x{num_machines} is larger than supported ({MAX_JOBS} jobs, {MAX_MACHINES} machines)",
        )


def _check_width(num_jobs: int, width: int, line: int | None, source: str, job: int) -> None:
    """The padded ``(num_jobs, width)`` arrays stay within :data:`MAX_OPERATIONS` cells."""
    if num_jobs * width > MAX_OPERATIONS:
        raise InstanceFormatError(
            source,
            line,
            f"job {job} has {width} operations: {num_jobs} jobs x {width} operations is larger than supported "
            f"({MAX_OPERATIONS} operation cells)",
        )


def _check_durations(durations: Sequence[int], line: int | None, source: str, job: int) -> None:
    for op, duration in enumerate(durations):
        if duration < 0:
            raise InstanceFormatError(source, line, f"job {job} operation {op}: negative duration {duration}")
        if duration > MAX_DURATION:
            raise InstanceFormatError(source, line, f"job {job} operation {op}: duration {duration} > {MAX_DURATION}")


def _check_route(
    machines: Sequence[int], num_machines: int, line: int | None, source: str, job: int, base: int, permutation: bool
) -> None:
    """Machines in range; with ``permutation`` (Taillard's matrices) each one exactly once."""
    for op, machine in enumerate(machines):
        if not 0 <= machine < num_machines:
            low, high = base, num_machines - 1 + base
            raise InstanceFormatError(
                source, line, f"job {job} operation {op}: machine {machine + base} outside {low}..{high}"
            )
    if not permutation:
        return
    seen: set[int] = set()
    for op, machine in enumerate(machines):
        if machine in seen:
            raise InstanceFormatError(
                source,
                line,
                f"job {job} operation {op}: machine {machine + base} visited twice "
                "(Taillard's matrices list every machine once per job; use the standard layout for other routes)",
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


def _padded(
    routes: Sequence[tuple[Sequence[int], Sequence[int]]], width: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(machines, durations)`` arrays of shape ``(len(routes), width)``, padded with :data:`PAD` and 0."""
    machines = np.full((len(routes), width), PAD, dtype=np.int64)
    durations = np.zeros((len(routes), width), dtype=np.int64)
    for job, (route_machines, route_durations) in enumerate(routes):
        machines[job, : len(route_machines)] = route_machines
        durations[job, : len(route_durations)] = route_durations
    return machines, durations


def _build(
    machines: np.ndarray, durations: np.ndarray, name: str, source: str, line: int | None, num_machines: int
) -> Instance:
    try:
        return Instance(machines, durations, name=name, num_machines=num_machines)
    except InstanceError as error:  # the checks above should have caught it; keep the one-line contract
        raise InstanceFormatError(source, line, str(error)) from None


# ---------------------------------------------------------------- standard layout


def _without_terminator(values: list[int]) -> list[int]:
    """Drop the ``-1 -1`` pair that ends each job line in Da Col & Teppan's files."""
    return values[:-2] if len(values) >= 2 and values[-1] == -1 and values[-2] == -1 else values


def _parse_standard_fast(text: str, raw_lines: list[str], name: str) -> Instance | None:
    """The standard layout read with numpy's text parser, one call per line; ``None`` on anything unusual.

    Whatever this path accepts, :func:`_parse_standard` accepts identically; whatever it does not
    (a bad token, a wrong count, a value out of range, non-ASCII text) it leaves to that parser,
    which reads it or reports it with its line number. Reading 1,000,000 operations this way takes
    one pass of C per line instead of two million Python ``int`` calls.
    """
    if not text.isascii():
        return None
    if ("-" in text or "+" in text) and _DANGLING_SIGN.search(text):
        return None
    rows: list[npt.NDArray[np.int64]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy < 2 warns on unparsed text instead of raising
        try:
            for raw in raw_lines:
                if raw.isspace() or not raw or raw.lstrip().startswith("#"):
                    continue
                rows.append(np.fromstring(raw, dtype=np.int64, sep=" "))
        except (ValueError, DeprecationWarning):
            return None
    if len(rows) < 2 or len(rows[0]) != 2:
        return None
    num_jobs, num_machines = int(rows[0][0]), int(rows[0][1])
    if not (1 <= num_jobs <= MAX_JOBS and 1 <= num_machines <= MAX_MACHINES) or len(rows) != num_jobs + 1:
        return None
    jobs = []
    for row in rows[1:]:
        if len(row) >= 2 and row[-1] == -1 and row[-2] == -1:
            row = row[:-2]
        if len(row) == 0 or len(row) % 2:
            return None
        jobs.append(row)
    lengths = np.fromiter((len(row) // 2 for row in jobs), dtype=np.int64, count=num_jobs)
    width = int(lengths.max())
    if num_jobs * width > MAX_OPERATIONS:
        return None
    pairs = np.concatenate(jobs).reshape(-1, 2)
    if pairs[:, 0].min() < 0 or pairs[:, 0].max() >= num_machines:
        return None
    if pairs[:, 1].min() < 0 or pairs[:, 1].max() > MAX_DURATION:
        return None
    if bool((lengths == width).all()):
        machines, durations = pairs[:, 0].reshape(num_jobs, width), pairs[:, 1].reshape(num_jobs, width)
    else:
        # job_of, op_of: (num_operations,) job and position in its route of each pair
        job_of = np.repeat(np.arange(num_jobs), lengths)
        op_of = np.arange(len(pairs)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        machines = np.full((num_jobs, width), PAD, dtype=np.int64)
        durations = np.zeros((num_jobs, width), dtype=np.int64)
        machines[job_of, op_of], durations[job_of, op_of] = pairs[:, 0], pairs[:, 1]
    return Instance(machines, durations, name=name, num_machines=num_machines)


def _parse_standard_block(lines: list[_Line], name: str, source: str, strict_end: bool) -> tuple[Instance, int]:
    """Parse ``n m`` plus n job lines from the start of ``lines``; returns the instance and lines used."""
    num_jobs, num_machines, header_line = _header(lines, source, "header")
    if len(lines[0][1]) != 2:
        raise InstanceFormatError(
            source, header_line, f"header must be two integers 'jobs machines', found {len(lines[0][1])} tokens"
        )
    routes: list[tuple[list[int], list[int]]] = []
    width = 0
    for job in range(num_jobs):
        if 1 + job >= len(lines):
            last = lines[-1][0]
            raise InstanceFormatError(
                source, last, f"truncated: expected {num_jobs} job lines after the header, found {job}"
            )
        line, tokens = lines[1 + job]
        numbers = _integers(tokens, line, source, f"job {job}")
        values = _without_terminator(numbers)
        if not values:
            raise InstanceFormatError(source, line, f"job {job} has no operations; every job needs at least one")
        if len(values) % 2:
            raise InstanceFormatError(
                source, line, f"job {job} has {len(numbers)} numbers, expected machine/duration pairs (an even count)"
            )
        width = max(width, len(values) // 2)
        _check_width(num_jobs, width, line, source, job)
        _check_route(values[0::2], num_machines, line, source, job, base=0, permutation=False)
        _check_durations(values[1::2], line, source, job)
        routes.append((values[0::2], values[1::2]))
    used = 1 + num_jobs
    if strict_end and used < len(lines):
        line = lines[used][0]
        raise InstanceFormatError(source, line, f"unexpected data after the {num_jobs} job lines")
    machines, durations = _padded(routes, width)
    return _build(machines, durations, name, source, header_line, num_machines), used


def _parse_standard(lines: list[_Line], name: str, source: str) -> Instance:
    return _parse_standard_block(lines, name, source, strict_end=True)[0]


# ---------------------------------------------------------------- OR-Library


@dataclass(frozen=True)
class _Block:
    """One ``instance NAME`` section of an OR-Library file: its name, the line naming it, and its lines."""

    name: str
    line: int | None
    lines: list[_Line]


def _orlib_blocks(lines: list[_Line], name: str, source: str) -> list[_Block]:
    """Split at ``instance NAME`` lines (text before the first is the file's preamble); a file
    without such a line is one block named ``name``."""
    starts = [index for index, (_, tokens) in enumerate(lines) if tokens[0].lower() == "instance"]
    if not starts:
        return [_Block(name, None, lines)]
    blocks = []
    for position, start in enumerate(starts):
        line, tokens = lines[start]
        if len(tokens) != 2:
            raise InstanceFormatError(source, line, "expected 'instance NAME'")
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        blocks.append(_Block(tokens[1], line, lines[start + 1 : end]))
    return blocks


def _parse_orlib(lines: list[_Line], name: str, source: str, instance: str | None) -> Instance:
    blocks = _orlib_blocks(lines, name, source)
    names = [block.name for block in blocks]
    if instance is None:
        if len(blocks) > 1:
            raise SeveralInstancesError(source, blocks[1].line, names)
        block = blocks[0]
    else:
        if instance not in names:
            raise InstanceFormatError(
                source, None, f"no instance named {instance!r}; the file holds {len(names)}: {_names_listed(names)}"
            )
        block = blocks[names.index(instance)]
    # The standard block starts at the first line that is exactly two integers (after a description).
    starts = [
        index
        for index, (_, tokens) in enumerate(block.lines)
        if len(tokens) == 2 and all(re.fullmatch(r"\d+", token) for token in tokens)
    ]
    if not starts:
        raise InstanceFormatError(source, None, "OR-Library block without a 'jobs machines' line")
    index = starts[0]
    parsed, used = _parse_standard_block(block.lines[index:], block.name, source, strict_end=False)
    for line, tokens in block.lines[index + used :]:
        if not tokens[0].startswith("+++"):
            raise InstanceFormatError(source, line, "unexpected data after the job lines")
    return parsed


# ---------------------------------------------------------------- Taillard


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
    if num_jobs * num_machines > MAX_OPERATIONS:
        raise InstanceFormatError(
            source,
            header_line,
            f"size {num_jobs}x{num_machines} is larger than supported ({MAX_OPERATIONS} operations)",
        )

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
        _check_route(route, num_machines, routes[job][0], source, job, base=1, permutation=True)
        durations[job] = times[job][1]
        machines[job] = route
    return _build(machines, durations, name, source, header_line, num_machines)


# ---------------------------------------------------------------- JSON


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


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
    if isinstance(data, dict) and "format" not in data and "data" in data:
        return _parse_jsplib(data, name, source)
    if not isinstance(data, dict) or data.get("format") != INSTANCE_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise InstanceFormatError(
            source, 1, f"JSON is not a {INSTANCE_FORMAT} document (format={found!r}) nor JSPLib's (no 'data' field)"
        )
    for key in ("num_jobs", "num_machines", "machines", "durations"):
        if key not in data:
            raise InstanceFormatError(source, 1, f"JSON instance lacks the field {key!r}")
    num_jobs, num_machines = data["num_jobs"], data["num_machines"]
    if not (_is_int(num_jobs) and _is_int(num_machines)):
        raise InstanceFormatError(source, 1, "num_jobs and num_machines must be integers")
    _check_size(num_jobs, num_machines, 1, source)
    for key in ("machines", "durations"):
        rows = data[key]
        if not isinstance(rows, list) or len(rows) != num_jobs:
            raise InstanceFormatError(source, 1, f"{key!r} must be a list of {num_jobs} rows")
        for job, row in enumerate(rows):
            if not isinstance(row, list) or not row:
                raise InstanceFormatError(source, 1, f"{key}[{job}] must be a non-empty list of integers")
            if not all(_is_int(value) for value in row):
                raise InstanceFormatError(source, 1, f"{key}[{job}] holds a value that is not an integer")
    # Range checks on the Python ints, before int64 arrays exist (a value >= 2**63 would overflow).
    width = 0
    for job, (route, times) in enumerate(zip(data["machines"], data["durations"], strict=True)):
        if len(route) != len(times):
            raise InstanceFormatError(
                source, 1, f"machines[{job}] and durations[{job}] differ in length ({len(route)} and {len(times)})"
            )
        width = max(width, len(route))
        _check_width(num_jobs, width, 1, source, job)
        _check_route(route, num_machines, 1, source, job, base=0, permutation=False)
        _check_durations(times, 1, source, job)
    machines, durations = _padded(list(zip(data["machines"], data["durations"], strict=True)), width)
    label = data.get("name", name)
    return _build(machines, durations, str(label) if label else name, source, 1, num_machines)


def _parse_jsplib(data: dict[str, Any], name: str, source: str) -> Instance:
    """JSPLib's JSON: ``jobs``, ``machines`` and one ``data`` record per operation, in any order."""
    for key in ("jobs", "machines"):
        if key not in data:
            raise InstanceFormatError(source, 1, f"JSPLib JSON lacks the field {key!r}")
    num_jobs, num_machines, records = data["jobs"], data["machines"], data["data"]
    if not (_is_int(num_jobs) and _is_int(num_machines)):
        raise InstanceFormatError(source, 1, "JSPLib JSON: 'jobs' and 'machines' must be integers")
    _check_size(num_jobs, num_machines, 1, source)
    if not isinstance(records, list) or not records:
        raise InstanceFormatError(source, 1, "JSPLib JSON: 'data' must be a non-empty list of operation records")
    if len(records) > MAX_OPERATIONS:
        raise InstanceFormatError(
            source, 1, f"JSPLib JSON: {len(records)} operations is larger than supported ({MAX_OPERATIONS})"
        )
    # table: (num_records, 4) job, operation, machine, duration of each record
    table = np.empty((len(records), 4), dtype=np.int64)
    for index, record in enumerate(records):
        values: list[int] = []
        for key in _JSPLIB_KEYS:
            value = record.get(key) if isinstance(record, dict) else None
            if not _is_int(value):
                raise InstanceFormatError(source, 1, f"data[{index}]: {key!r} must be an integer, got {value!r}")
            values.append(value)
        job, op, machine, duration = values
        where = f"data[{index}]: job {job} operation {op}"
        if not 0 <= job < num_jobs:
            raise InstanceFormatError(source, 1, f"data[{index}]: job {job} outside 0..{num_jobs - 1}")
        if not 0 <= op < len(records):
            raise InstanceFormatError(source, 1, f"{where}: operation numbers start at 0")
        if not 0 <= machine < num_machines:
            raise InstanceFormatError(source, 1, f"{where}: machine {machine} outside 0..{num_machines - 1}")
        if not 0 <= duration <= MAX_DURATION:
            raise InstanceFormatError(source, 1, f"{where}: duration {duration} outside 0..{MAX_DURATION}")
        table[index] = values
    jobs, ops = table[:, 0], table[:, 1]
    lengths = np.bincount(jobs, minlength=num_jobs)
    if (lengths == 0).any():
        job = int(np.argmin(lengths))
        raise InstanceFormatError(source, 1, f"JSPLib JSON: job {job} has no operations; every job needs at least one")
    width = int(lengths.max())
    _check_width(num_jobs, width, 1, source, int(np.argmax(lengths)))
    # Operations of job j must be numbered 0 .. lengths[j] - 1, each once.
    beyond = np.flatnonzero(ops >= lengths[jobs])
    if beyond.size:
        index = int(beyond[0])
        raise InstanceFormatError(
            source,
            1,
            f"data[{index}]: job {jobs[index]} operation {ops[index]}, but job {jobs[index]} has "
            f"{lengths[jobs[index]]} records (operations are numbered 0..{lengths[jobs[index]] - 1})",
        )
    cells = jobs * width + ops
    first = np.unique(cells, return_index=True)[1]
    if first.size < len(records):
        index = int(np.setdiff1d(np.arange(len(records)), first)[0])
        raise InstanceFormatError(source, 1, f"data[{index}]: job {jobs[index]} operation {ops[index]} given twice")
    machines = np.full((num_jobs, width), PAD, dtype=np.int64)
    durations = np.zeros((num_jobs, width), dtype=np.int64)
    machines[jobs, ops], durations[jobs, ops] = table[:, 2], table[:, 3]
    label = data.get("instance")
    return _build(machines, durations, label if isinstance(label, str) and label else name, source, 1, num_machines)


# ---------------------------------------------------------------- writers


def _job_rows(values: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> list[list[int]]:
    """Each job's row without its padding."""
    return [row[:length] for row, length in zip(values.tolist(), lengths.tolist(), strict=True)]


def format_standard(instance: Instance) -> str:
    """The standard layout, exactly as the benchmark files in ``instances/`` are written; a job line
    holds as many pairs as the job has operations."""
    lines = [f"{instance.num_jobs} {instance.num_machines}"]
    lengths = instance.lengths
    for job in range(instance.num_jobs):
        length = int(lengths[job])
        pairs = np.stack([instance.machines[job, :length], instance.durations[job, :length]], axis=1).ravel()
        lines.append(" ".join(map(str, pairs.tolist())))
    return "\n".join(lines) + "\n"


def format_taillard(instance: Instance, time_seed: int = 0, machine_seed: int = 0) -> str:
    """Taillard's original layout (1-based machines).

    Raises:
        ValueError: for an instance with general routes: the matrices hold one operation per
            machine and job.
    """
    if not instance.is_classical:
        raise ValueError(
            f"Taillard's layout holds only classical instances (every job visits every machine once); "
            f"{instance.name} has general routes: write it in the standard, orlib, json or jsplib layout"
        )
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
    """This package's JSON layout (one list per job, as long as its route); :func:`parse_instance`
    reads it back to an equal instance, ``num_machines`` included."""
    return (
        json.dumps(
            {
                "format": INSTANCE_FORMAT,
                "name": instance.name,
                "num_jobs": instance.num_jobs,
                "num_machines": instance.num_machines,
                "machines": _job_rows(instance.machines, instance.lengths),
                "durations": _job_rows(instance.durations, instance.lengths),
            }
        )
        + "\n"
    )


def format_jsplib(instance: Instance) -> str:
    """JSPLib's JSON, one operation record a line like the published files."""
    head = json.dumps({"instance": instance.name, "jobs": instance.num_jobs, "machines": instance.num_machines})
    records = [
        json.dumps({"job": job, "operation": op, "machine": machine, "duration": duration})
        for job, route in enumerate(instance.route(job) for job in range(instance.num_jobs))
        for op, (machine, duration) in enumerate(route)
    ]
    return head[:-1] + ',\n"data": [\n' + ",\n".join(records) + "\n]}\n"


_WRITERS = {
    "standard": format_standard,
    "taillard": format_taillard,
    "orlib": format_orlib,
    "json": format_json,
    "jsplib": format_jsplib,
}


def write_instance(instance: Instance, path: str | Path, layout: str = "standard") -> None:
    """Write ``instance`` to ``path`` in one of :data:`LAYOUTS`."""
    if layout not in _WRITERS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    Path(path).write_text(_WRITERS[layout](instance))
