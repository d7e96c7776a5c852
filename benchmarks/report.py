"""What every speed script writes at the end: the JSON record, the markdown table beside it, and the table on stdout."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from jssp.files import write_atomically


def machine_record(core: int | None = None) -> dict[str, Any]:
    """Platform, processor and Python version, with the pinned core or else the CPU count."""
    record: dict[str, Any] = {"platform": platform.platform(), "processor": platform.processor()}
    record.update({"core": core} if core is not None else {"cpu_count": os.cpu_count()})
    record["python"] = platform.python_version()
    return record


def write_report(out: Path, result: dict[str, Any], table: str) -> None:
    """``result`` as JSON to ``out``, ``table`` to ``out`` with suffix ``.md`` and to stdout."""
    write_atomically(out, json.dumps(result, indent=1) + "\n")
    write_atomically(out.with_suffix(".md"), table)
    print(table)
    print(f"wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
