"""Files that survive a kill: atomic writes, atomic folder replacement, appendable CSV logs.

A process killed with SIGKILL at any instant must leave every file either as it was before the
write or as it is after it, never truncated. Single files are written to a temporary sibling,
flushed to disk (fsync) and renamed over the target (``os.replace`` is atomic on POSIX). A
checkpoint folder is built complete under a temporary name and swapped in with two renames; a
kill between them leaves the previous folder under ``.NAME.old``, which :func:`recover_folder`
puts back. CSV logs are appended one flushed row at a time, and a resumed run cuts them back to
the rows its last complete checkpoint had seen (:func:`truncate_csv`).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def is_special_file(path: Path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a folder (a FIFO, a device, a socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def write_atomically(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` so that a kill leaves the old or the new content, nothing else.

    A symbolic link is followed (its target is replaced, the link stays). A FIFO or a device
    (``/dev/stdout``) is written into, never replaced: it has no content a kill could truncate.
    """
    payload = data.encode() if isinstance(data, str) else data
    if is_special_file(path):
        with open(path, "wb") as stream:
            stream.write(payload)
        return
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as stream:
        stream.write(payload)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def replace_folder(folder: Path, write: Callable[[Path], None]) -> None:
    """Build a folder with ``write(temporary_folder)``, then swap it in for ``folder``.

    Every file is fsynced before the swap, so after a kill ``folder`` (or, between the two
    renames, ``.NAME.old``; see :func:`recover_folder`) holds a complete earlier version.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.with_name(f".{folder.name}.tmp")
    old = folder.with_name(f".{folder.name}.old")
    recover_folder(folder)
    temporary.mkdir()
    write(temporary)
    for path in temporary.rglob("*"):
        if path.is_file():
            with open(path, "rb") as stream:
                os.fsync(stream.fileno())
    _fsync_directory(temporary)
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.rename(folder, old)
    os.rename(temporary, folder)
    _fsync_directory(folder.parent)
    shutil.rmtree(old, ignore_errors=True)


def recover_folder(folder: Path) -> None:
    """Put back the previous version of ``folder`` if a kill fell between the two renames of
    :func:`replace_folder`; drop a half-built temporary folder."""
    folder = Path(folder)
    old = folder.with_name(f".{folder.name}.old")
    if not folder.exists() and old.exists():
        os.rename(old, folder)
    shutil.rmtree(folder.with_name(f".{folder.name}.tmp"), ignore_errors=True)


def append_csv_row(path: Path, row: Mapping[str, object]) -> None:
    """Append ``row`` to a CSV log, flushed to disk before returning (see :func:`append_csv_rows`)."""
    append_csv_rows(path, [row])


def append_csv_rows(path: Path, rows: Sequence[Mapping[str, object]]) -> None:
    """Append ``rows`` to a CSV log with one write, flushed to disk before returning.

    A new file gets the header first. When the rows bring columns the file does not have yet,
    the file is rewritten atomically with the wider header (earlier rows get blanks there).
    """
    if not rows:
        return
    path = Path(path)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if not path.exists() or path.stat().st_size == 0:
        _write_rows(path, columns, rows)
        return
    with open(path, newline="") as stream:
        header = next(csv.reader(stream), [])
    if not set(columns) <= set(header):
        earlier = read_csv_rows(path)
        _write_rows(path, [*header, *(key for key in columns if key not in header)], [*earlier, *rows])
        return
    lines = io.StringIO()
    csv.DictWriter(lines, fieldnames=header, extrasaction="raise", lineterminator="\n").writerows(rows)
    with open(path, "a", newline="") as stream:
        stream.write(lines.getvalue())
        stream.flush()
        os.fsync(stream.fileno())


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The complete rows of a CSV log (a last line cut short by a kill is dropped)."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


def csv_row_count(path: Path) -> int:
    """Number of complete data rows of a CSV log (0 when it does not exist)."""
    return len(read_csv_rows(path))


def truncate_csv(path: Path, rows: int) -> None:
    """Keep the header and the first ``rows`` data rows of a CSV log (a resumed run's logs)."""
    path = Path(path)
    if not path.exists():
        return
    kept = read_csv_rows(path)
    with open(path, newline="") as stream:
        header = next(csv.reader(stream), [])
    if rows == 0:
        path.unlink()
    elif len(kept) != rows or not path.read_text().endswith("\n"):
        _write_rows(path, header, kept[:rows])


def _write_rows(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, object]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, buffer.getvalue())


def setting_differences(saved: Mapping[str, object], now: Mapping[str, object], allowed: set[str]) -> list[str]:
    """``--option SAVED there, NOW now`` for every setting outside ``allowed`` that differs between
    a folder's saved config and a resumed run's: what a refused ``--resume`` prints."""
    return [
        f"--{key.replace('_', '-')} {saved.get(key)!r} there, {now.get(key)!r} now"
        for key in sorted(set(saved) | set(now))
        if key not in allowed and saved.get(key) != now.get(key)
    ]


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A column parser that reads a blank (or ``None``) cell as None."""
    return lambda text: None if text in ("", "None") else parse(text)


def flag(text: str) -> bool:
    """A ``True``/``False`` cell."""
    return text == "True"


ColumnTypes = dict[str, Callable[[str], Any]]
"""Column -> parser of its cells, for :func:`read_results_csv`; a column not listed stays text."""
