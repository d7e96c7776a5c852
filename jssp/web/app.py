"""The web page and HTTP API of ``jssp serve``: upload an instance, pick a method, get a schedule.

Endpoints (details in ``docs/web.md``; OpenAPI at ``/docs``):

* ``GET /`` the page (``static/``: plain HTML, CSS and JavaScript, nothing loaded from elsewhere);
* ``GET /api/methods`` the methods (per problem) and the limits the page needs;
* ``POST /api/solve`` an instance in, a ``jssp-schedule/1`` document plus ``gap_pct`` out; with
  ``problem=isbjssp`` (and ``shutdown_rate``, ``downtime``, ``interruption_mode``) the blocking job
  shop with machine shutdowns, a ``jssp-isbjssp-schedule/1`` document out;
* ``POST /api/gantt.png`` a ``jssp-schedule/1`` or ``jssp-isbjssp-schedule/1`` document in, its Gantt chart PNG out.

The PNG is drawn from a schedule the client sends back rather than from a server-side cache of
recent results: the server keeps no state between requests (nothing to expire, no memory that
grows with traffic, no ids to guess), the chart survives a server restart, and any schedule file
(``jssp solve --output``) can be drawn. The schedule is rebuilt from its operations and checked by
the validator before it is drawn, so the server never renders a document it has not verified.

Uploads are parsed from memory and nothing is written to disk: the body is read up to a cap and
every file part is smaller than Starlette's in-memory spool (1 MiB) at the default upload limit.
Solving and chart rendering run in :class:`~jssp.web.pool.SolverPool` processes, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from jssp import benchmarks
from jssp.instance import MAX_OPERATIONS, PAD, Instance, InstanceError
from jssp.options import check_processes
from jssp.parsing import (
    InputTooLargeError,
    InstanceFormatError,
    IntegerTooLargeError,
    SeveralInstancesError,
    bounded_integer,
    file_stem,
    parse_instance,
)
from jssp.schedule import SCHEDULE_FORMAT, Schedule
from jssp.solvers import PROBLEMS, OptionError, SolveOptions
from jssp.validation import InfeasibleScheduleError
from jssp.web.pool import PoolBusyError, SolverPool, TaskError, TaskTimeoutError
from jssp.web.tasks import blocking_gantt_png_task, gantt_png_task, solve_task

if TYPE_CHECKING:
    from jssp.blocking.schedule import BlockingSchedule

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_METHOD = "mwkr"
BLOCKING_SCHEDULE_FORMAT = "jssp-isbjssp-schedule/1"  # as jssp.blocking.schedule.SCHEDULE_FORMAT
_FORM_FIELDS = ("method", "time_limit", "seed", "instance", "problem", "shutdown_rate", "downtime", "interruption_mode")
UPLOAD_SOURCE = "upload"  # how errors name an instance sent as text or JSON rather than as a file

_MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and the small form fields
_SCHEDULE_BYTES_PER_OPERATION = 256  # a jssp-schedule/1 document needs about 90; room for indentation
_GANTT_TIMEOUT_S = 60.0  # a 10,000-operation chart renders in a few seconds
_RETRY_AFTER_S = "5"
_CLIENT_CLOSED = 499  # nginx's status for a request its client abandoned; the client never sees it

# The page may load only what this server serves; /docs (Swagger UI from a CDN) is not covered.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class ServeConfig:
    """Limits and solver processes of the web server (``jssp serve``)."""

    workers: int = 2
    """Solver processes, i.e. solves that run at once; further requests wait for a free one."""
    max_time_limit: float = 60.0
    """Largest time limit a request may ask for, in seconds (422 beyond)."""
    default_time_limit: float = 5.0
    """Time limit of a request that names none, in seconds."""
    grace_seconds: float = 2.0
    """How long past its time limit a solve may run before its process is killed (504)."""
    queue_timeout: float = 60.0
    """Seconds a request may wait for a free solver process (503 after that)."""
    max_upload_bytes: int = 1024 * 1024
    """Largest instance file, pasted text or JSON body accepted, in bytes, and largest content of a
    gzip file (413 beyond)."""
    max_operations: int = 10_000
    """Largest instance accepted, in operations (413 beyond; ta71-ta80 have 2,000)."""
    cpsat_workers: int = 2
    """CP-SAT search threads of one solve."""
    learned: bool = False
    """Offer the learned methods (gnn, gnn-sample): every solver process then imports torch."""
    worker_setup: Callable[[], None] | None = None
    """Called once in every solver process after the methods load (to register more methods); picklable."""

    def check(self) -> None:
        """Raise :class:`OptionError` naming the first setting out of range (as ``jssp serve``'s flag)."""
        check_processes(self.workers)
        for name in ("max_time_limit", "queue_timeout"):
            seconds = getattr(self, name)
            if not (math.isfinite(seconds) and seconds > 0):
                raise OptionError(name, f"must be a finite number of seconds above 0, got {seconds:g}")
        if not 0 < self.default_time_limit <= self.max_time_limit:
            limits = f"(0, max_time_limit {self.max_time_limit:g}]"
            raise OptionError("default_time_limit", f"must be in {limits}, got {self.default_time_limit:g}")
        if not (math.isfinite(self.grace_seconds) and self.grace_seconds >= 0):
            raise OptionError("grace_seconds", f"must be a finite number of seconds >= 0, got {self.grace_seconds:g}")
        for name in ("max_upload_bytes", "max_operations"):
            if getattr(self, name) < 1:
                raise OptionError(name, f"must be at least 1, got {getattr(self, name)}")
        SolveOptions(cpsat_workers=self.cpsat_workers).check()  # the bounds of every --cpsat-workers


def create_app(config: ServeConfig | None = None) -> FastAPI:
    """The ASGI application; its lifespan starts and stops the solver processes."""
    config = config or ServeConfig()
    config.check()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = SolverPool(config.workers, learned=config.learned, setup=config.worker_setup)
        await pool.start()
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="jssp",
        summary="Job-shop scheduling: solve an uploaded instance with a dispatching rule, CP-SAT or tabu search.",
        version="1",
        lifespan=lifespan,
    )
    app.state.config = config
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_api_route("/", _index, methods=["GET"], include_in_schema=False)
    app.add_api_route("/api/methods", _methods, methods=["GET"], summary="Methods and limits")
    app.add_api_route(
        "/api/solve",
        _solve,
        methods=["POST"],
        summary="Solve an instance",
        openapi_extra=_SOLVE_BODY,
        responses=_ERROR_RESPONSES,
    )
    app.add_api_route(
        "/api/gantt.png",
        _gantt_png,
        methods=["POST"],
        summary="Gantt chart of a schedule",
        openapi_extra=_GANTT_BODY,
        responses={200: {"content": {"image/png": {}}, "description": "PNG image"}, **_ERROR_RESPONSES},
        response_class=Response,
    )
    return app


# ---------------------------------------------------------------- endpoints


async def _index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


async def _methods(request: Request) -> dict[str, Any]:
    """The solving methods offered (``methods``: the classical problem's; ``problems``: per problem), the
    default one, and the limits the page enforces before sending."""
    config: ServeConfig = request.app.state.config
    pool: SolverPool = request.app.state.pool
    return {
        "methods": pool.methods,
        "problems": {problem: pool.methods_for(problem) for problem in PROBLEMS},
        "default_method": DEFAULT_METHOD,
        "time_limit": {"default": config.default_time_limit, "max": config.max_time_limit},
        "max_upload_bytes": config.max_upload_bytes,
        "max_operations": config.max_operations,
    }


async def _solve(
    request: Request,
    method: str | None = Query(None, description=f"Solving method (GET /api/methods); default {DEFAULT_METHOD}."),
    time_limit: float | None = Query(None, description="Seconds for time-limited methods (cpsat, tabu)."),
    seed: int | None = Query(None, description="Seed of randomised methods (random, cpsat, tabu); default 0."),
    instance: str | None = Query(None, description="Which instance of a file that holds several (OR-Library)."),
    problem: str | None = Query(
        None, description="jssp (default): the classical job shop; isbjssp: blocking, swaps and machine shutdowns."
    ),
    shutdown_rate: float | None = Query(
        None, description="isbjssp: chance per unit of up time that a machine shuts down; default 0."
    ),
    downtime: int | None = Query(None, description="isbjssp: length of a shutdown; default the mean processing time."),
    interruption_mode: str | None = Query(None, description="isbjssp: resume (default) or restart after a shutdown."),
) -> JSONResponse:
    """Solve the instance in the body and return its schedule.

    The body is a form (multipart: field ``file`` with an instance file, gzip-compressed or not, or
    ``text`` with its content; URL-encoded: ``text``), a JSON ``jssp-instance/1`` or JSPLib document,
    JSON ``{"text": "...", "name": "..."}``, or the instance text itself as ``text/plain``. ``method``,
    ``time_limit``, ``seed`` and ``instance`` are query parameters, or fields of a form body (a form
    field wins). A file that holds several instances without ``instance`` gets a 422 whose
    ``detail`` names them and whose ``instances`` lists them all.

    The reply is the ``jssp-schedule/1`` document of ``jssp solve --output`` (``lower_bound`` is the
    best of the benchmark's proven bound, the trivial bound and the solver's bound) plus ``gap_pct``
    (null unless the instance is a known benchmark, in any layout and under any name) and
    ``benchmark`` (that benchmark's name, or null).

    With ``problem=isbjssp`` the instance is solved as the blocking job shop with swaps and machine
    shutdowns (``shutdown_rate``, ``downtime``, ``interruption_mode``; ``seed`` draws the calendar)
    and the reply is the ``jssp-isbjssp-schedule/1`` document of ``jssp solve --problem isbjssp
    --output``, validated against its calendar, plus ``benchmark``, ``best_known`` (the benchmark's
    best makespan without shutdowns), ``gap_pct`` (to it) and ``lower_bound``.
    """
    config: ServeConfig = request.app.state.config
    fields = {
        "method": method,
        "time_limit": None if time_limit is None else str(time_limit),
        "seed": None if seed is None else str(seed),
        "instance": instance,
        "problem": problem,
        "shutdown_rate": None if shutdown_rate is None else str(shutdown_rate),
        "downtime": None if downtime is None else str(downtime),
        "interruption_mode": interruption_mode,
    }
    upload, form_fields = await _read_instance_body(request, config)
    fields.update({key: value for key, value in form_fields.items() if value is not None})
    chosen_method, options = _solve_options(fields, config)

    chosen_instance = (fields.get("instance") or "").strip() or None
    try:
        parsed, best_known, lower_bound, benchmark = await asyncio.to_thread(
            _parse_and_identify, upload, chosen_instance, config.max_upload_bytes
        )
    except SeveralInstancesError as error:
        detail = f"{error} in the field 'instance'"
        return JSONResponse({"detail": detail, "instances": error.names}, status_code=422)
    except InputTooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except InstanceFormatError as error:
        raise HTTPException(422, str(error)) from None
    _check_operations(parsed, upload.source, config)

    timeout = options.time_limit + config.grace_seconds
    schedule = await _run_in_pool(request, solve_task, (parsed, chosen_method, options), timeout, what=chosen_method)
    if options.problem == "isbjssp":
        document = await asyncio.to_thread(_blocking_document, schedule, lower_bound)
    else:
        lower_bound = max(lower_bound, schedule.lower_bound or 0)
        document = schedule.to_dict(best_known=best_known, lower_bound=lower_bound)
        document["gap_pct"] = benchmarks.gap_percent(schedule.makespan, best_known)
    document["benchmark"] = benchmark
    return JSONResponse(document)


def _blocking_document(schedule: BlockingSchedule, lower_bound: int) -> dict[str, Any]:
    """The ``jssp-isbjssp-schedule/1`` document of a blocking schedule, with the reference value at rate 0.

    A job-shop lower bound holds with blocking and shutdowns too, and so does a proven optimum
    without shutdowns (as ``jssp solve --problem isbjssp`` reports them).
    """
    from jssp.blocking import known_blocking_bound

    bound = known_blocking_bound(schedule.instance)
    if bound is not None and bound.proven_optimal:
        lower_bound = max(lower_bound, bound.best_known)
    document = schedule.to_dict()
    document["best_known"] = bound.best_known if bound else None
    document["lower_bound"] = max(lower_bound, schedule.lower_bound or 0)
    document["gap_pct"] = benchmarks.gap_percent(schedule.makespan, document["best_known"])
    return document


async def _gantt_png(request: Request) -> Response:
    """Draw a ``jssp-schedule/1`` or ``jssp-isbjssp-schedule/1`` document (as returned by ``/api/solve``)
    as a Gantt chart PNG.

    The schedule is rebuilt from its ``operations`` and validated first; the best-known makespan
    line is drawn when the instance is a known benchmark (for a blocking schedule: its best
    makespan without shutdowns). A blocking chart draws processing, blocked time and down
    intervals distinctly.
    """
    config: ServeConfig = request.app.state.config
    limit = config.max_upload_bytes + _SCHEDULE_BYTES_PER_OPERATION * config.max_operations
    body = await _read_body(request, limit, f"schedules up to {limit} bytes")
    try:
        document = json.loads(body, parse_int=bounded_integer)
    except IntegerTooLargeError as error:
        raise HTTPException(422, f"schedule: {error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise HTTPException(422, f"schedule: not a JSON document ({error})") from None
    blocking = isinstance(document, dict) and document.get("format") == BLOCKING_SCHEDULE_FORMAT
    try:
        if blocking:
            schedule: Any = await asyncio.to_thread(_blocking_schedule_from_document, document, config.max_operations)
        else:
            schedule = _schedule_from_document(document, config.max_operations)
    except _TooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except (ValueError, InstanceError, InfeasibleScheduleError) as error:  # the blocking validator's too
        raise HTTPException(422, f"schedule: {error}") from None
    if blocking:
        from jssp.blocking import known_blocking_bound

        bound = await asyncio.to_thread(known_blocking_bound, schedule.instance)
        best_known = bound.best_known if bound else None
        task: Callable[..., bytes] = blocking_gantt_png_task
    else:
        best_known, _ = await asyncio.to_thread(benchmarks.known_bounds, schedule.instance)
        task = gantt_png_task
    png: bytes = await _run_in_pool(request, task, (schedule, best_known), _GANTT_TIMEOUT_S, what="chart")
    stem = _safe_name(f"{schedule.instance.name}-{schedule.method}-gantt") or "gantt"
    return Response(png, media_type="image/png", headers={"Content-Disposition": f'attachment; filename="{stem}.png"'})


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 for a malformed query parameter, with ``detail`` one line like every other error."""
    assert isinstance(error, RequestValidationError)
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ())[1:]) or "request"
        parts.append(f"{location}: {item.get('msg', 'invalid')}")
    return JSONResponse({"detail": "; ".join(parts)}, status_code=422)


# ---------------------------------------------------------------- request bodies


@dataclass(frozen=True)
class _Upload:
    """Instance content as received: the bytes or text, its name, and how errors name it."""

    data: bytes | str
    name: str
    source: str


class _TooLargeError(ValueError):
    """An upload or schedule above a server limit (413)."""


async def _read_body(request: Request, limit: int, allowed: str) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes (before it is all read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is {int(declared)} bytes; this server accepts {allowed}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body is larger than {limit} bytes; this server accepts {allowed}")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_instance_body(request: Request, config: ServeConfig) -> tuple[_Upload, dict[str, str | None]]:
    """The instance of a solve request and the form fields that came with it."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = config.max_upload_bytes
    allowed = f"instances up to {limit} bytes"
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        body = await _read_body(request, limit + _MULTIPART_OVERHEAD_BYTES, allowed)
        return await _read_form(request, body, config)
    body = await _read_body(request, limit, allowed)
    if content_type == "application/json":
        return _upload_from_json(body), {}
    if content_type in ("text/plain", ""):
        return _Upload(body, UPLOAD_SOURCE, UPLOAD_SOURCE), {}
    raise HTTPException(
        415,
        f"unsupported content type {content_type!r}: send a form (field 'file' or 'text'), "
        "application/json or text/plain",
    )


async def _read_form(request: Request, body: bytes, config: ServeConfig) -> tuple[_Upload, dict[str, str | None]]:
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form_request = Request(request.scope, replay)
    max_fields = len(_FORM_FIELDS) + 4  # and file, text, room for a stray one
    async with form_request.form(max_files=1, max_fields=max_fields, max_part_size=config.max_upload_bytes) as form:
        fields = {key: _form_text(form.get(key), key) for key in _FORM_FIELDS}
        file, text = form.get("file"), form.get("text")
        if isinstance(file, UploadFile) and (file.filename or file.size):
            data = await file.read(config.max_upload_bytes + 1)
            source = _safe_name(PureWindowsPath(file.filename or "").name) or UPLOAD_SOURCE
            upload = _Upload(data, file_stem(source) or UPLOAD_SOURCE, source)
        elif isinstance(text, str) and text.strip():
            data = text.encode()
            upload = _Upload(data, UPLOAD_SOURCE, UPLOAD_SOURCE)
        else:
            raise HTTPException(422, "no instance: send a file in the form field 'file' or its content in 'text'")
    if len(data) > config.max_upload_bytes:
        raise HTTPException(
            413, f"{upload.source}: {len(data)} bytes, more than the {config.max_upload_bytes} this server accepts"
        )
    return upload, fields


def _form_text(value: UploadFile | str | None, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise HTTPException(422, f"form field {key!r} must be text, not a file")


def _upload_from_json(body: bytes) -> _Upload:
    """A ``jssp-instance/1`` document goes to the parser as is; ``{"text": ...}`` is unwrapped."""
    try:
        document = json.loads(body, parse_int=bounded_integer)
    except (ValueError, RecursionError):  # malformed, undecodable or a huge integer
        document = None  # the parser reports it with the line number
    if isinstance(document, dict) and "format" not in document and "text" in document:
        text, name = document["text"], document.get("name", UPLOAD_SOURCE)
        if not isinstance(text, str) or not isinstance(name, str):
            raise HTTPException(422, f"{UPLOAD_SOURCE}: 'text' and 'name' must be strings")
        return _Upload(text, _safe_name(name) or UPLOAD_SOURCE, UPLOAD_SOURCE)
    return _Upload(body, UPLOAD_SOURCE, UPLOAD_SOURCE)


def _shown(value: str | None) -> str:
    """A form value as quoted in an error message: at most 40 characters."""
    text = value or ""
    return text if len(text) <= 40 else f"{text[:40]}..."


def _safe_name(name: str) -> str:
    """A label made of word characters, dots, dashes and plus signs, at most 80 characters."""
    return re.sub(r"[^\w.+-]", "_", name.strip())[:80]


# ---------------------------------------------------------------- checks


def _solve_options(fields: dict[str, str | None], config: ServeConfig) -> tuple[str, SolveOptions]:
    """The method name and solve options of a request, or 422 naming what is wrong (the solver
    process checks the method: only it knows the methods that plugins add). The options pass the
    same checks as those of ``jssp solve`` and ``evaluate.py``; the server also caps the time limit."""
    method = (fields.get("method") or DEFAULT_METHOD).strip().lower()
    time_limit = _number_field(fields, "time_limit", float, "a number")
    time_limit = config.default_time_limit if time_limit is None else time_limit
    seed = _number_field(fields, "seed", bounded_integer, "an integer") or 0
    problem = (fields.get("problem") or "jssp").strip().lower()
    shutdown_rate = _number_field(fields, "shutdown_rate", float, "a number") or 0.0
    downtime = _number_field(fields, "downtime", bounded_integer, "an integer")
    mode = (fields.get("interruption_mode") or "resume").strip().lower()
    options = SolveOptions(
        time_limit=time_limit,
        seed=seed,
        cpsat_workers=config.cpsat_workers,
        problem=problem,
        shutdown_rate=shutdown_rate,
        downtime=downtime,
        interruption_mode=mode,
    )
    try:
        options.check()
    except OptionError as error:
        raise HTTPException(422, f"{error.name} {error.reason}") from None
    if time_limit > config.max_time_limit:
        raise HTTPException(
            422, f"time_limit must be at most {config.max_time_limit:g} seconds on this server, got {time_limit:g}"
        )
    return method, options


_Number = TypeVar("_Number", int, float)


def _number_field(
    fields: dict[str, str | None], name: str, parse: Callable[[str], _Number], kind: str
) -> _Number | None:
    """The number in form field ``name`` (None when absent or empty), or 422 naming the field."""
    text = fields.get(name)
    if not text:
        return None
    try:
        return parse(text.strip())
    except IntegerTooLargeError as error:
        raise HTTPException(422, f"{name}: {error}") from None
    except ValueError:
        raise HTTPException(422, f"{name} {_shown(text)!r} is not {kind}") from None


def _parse_and_identify(
    upload: _Upload, chosen: str | None, max_bytes: int
) -> tuple[Instance, int | None, int, str | None]:
    """Parse (raises InstanceFormatError) and look the content up among the benchmarks."""
    instance = parse_instance(upload.data, name=upload.name, source=upload.source, instance=chosen, max_bytes=max_bytes)
    best_known, lower_bound = benchmarks.known_bounds(instance)
    info = benchmarks.identify(instance)
    return instance, best_known, lower_bound, info.name if info else None


def _check_operations(instance: Instance, source: str, config: ServeConfig) -> None:
    if instance.num_operations > config.max_operations:
        raise HTTPException(
            413,
            f"{source}: {instance.shape} instance has {instance.num_operations} operations, "
            f"more than the {config.max_operations} this server solves",
        )


def _schedule_from_document(document: Any, max_operations: int) -> Schedule:
    """Rebuild instance and schedule from a ``jssp-schedule/1`` document's operations and validate it.

    Routes are general: each job's operations must be numbered ``0 .. k-1`` (any ``k >= 1``), each once.

    Raises:
        _TooLargeError: more operations than ``max_operations``.
        ValueError, InstanceError, InfeasibleScheduleError: anything inconsistent.
    """
    if not isinstance(document, dict) or document.get("format") != SCHEDULE_FORMAT:
        raise ValueError(f"not a {SCHEDULE_FORMAT} document")
    # table: (num_operations, 5) job, op, machine, start, duration of each record
    header, table = _operation_table(document, _OPERATION_KEYS, max_operations)
    instance, starts = _instance_from_table(header, table)
    method = document.get("method")
    schedule = Schedule(instance, starts, method=_safe_name(method) if isinstance(method, str) else "")
    schedule.check()
    return schedule


def _blocking_schedule_from_document(document: dict[str, Any], max_operations: int) -> BlockingSchedule:
    """Rebuild instance and schedule from a ``jssp-isbjssp-schedule/1`` document and validate it.

    Each operation's duration is the total length of its processing segments. The validator of
    :mod:`jssp.blocking.validation` checks every rule against the document's own down intervals
    (the calendar the schedule was made on is not known here).

    Raises:
        _TooLargeError: more operations than ``max_operations``.
        ValueError, InstanceError: anything inconsistent (the blocking validator's error included).
    """
    from jssp.blocking.schedule import BlockingSchedule

    # table: (num_operations, 5) job, op, machine, enter, duration (total of the segments) of each record
    header, table = _operation_table(document, _BLOCKING_OPERATION_KEYS, max_operations)
    operations = document["operations"]
    for index, record in enumerate(operations):
        segments = record.get("segments")
        if not isinstance(segments, list) or not all(
            isinstance(segment, list) and len(segment) == 2 and all(_as_count(value) is not None for value in segment)
            for segment in segments
        ):
            raise ValueError(f"operations[{index}].segments must be a list of [start, end] non-negative integers")
        table[index, 4] = sum(end - start for start, end in segments)
    if (table[:, 4] < 0).any():
        raise ValueError(f"operations[{int(np.argmax(table[:, 4] < 0))}]: a segment ends before it starts")
    instance, _ = _instance_from_table(header, table)
    down_intervals, interruptions = document.get("down_intervals"), document.get("interruptions")
    if not isinstance(down_intervals, list) or len(down_intervals) != instance.num_machines:
        raise ValueError(f"down_intervals must list the intervals of each of the {instance.num_machines} machines")
    if not all(
        isinstance(machine, list)
        and all(
            isinstance(row, list) and len(row) == 2 and all(_as_count(v) is not None for v in row) for row in machine
        )
        for machine in down_intervals
    ):
        raise ValueError("down_intervals must hold [start, end] pairs of non-negative integers")
    if not isinstance(interruptions, dict) or interruptions.get("mode", "resume") not in ("resume", "restart"):
        raise ValueError("interruptions must be an object whose mode is resume or restart")
    try:
        schedule = BlockingSchedule.from_dict(document, instance)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed field {error}") from None
    method = document.get("method")
    schedule.method = _safe_name(method) if isinstance(method, str) else ""
    schedule.check()
    return schedule


def _operation_table(
    document: dict[str, Any], keys: tuple[str, ...], max_operations: int
) -> tuple[tuple[str, int, int], npt.NDArray[np.int64]]:
    """The instance header (name, jobs, machines) and one row of ``keys`` values per operation record.

    Shapes:
        table: ``(num_operations, len(keys))``; the first three keys are job, op and machine.
    """
    header, operations = document.get("instance"), document.get("operations")
    if not isinstance(header, dict) or not isinstance(operations, list):
        raise ValueError("needs the fields 'instance' and 'operations'")
    if not all(_is_int(header.get(key)) and header[key] > 0 for key in ("num_jobs", "num_machines")):
        raise ValueError("instance.num_jobs and instance.num_machines must be positive integers")
    num_jobs, num_machines = int(header["num_jobs"]), int(header["num_machines"])
    if len(operations) > max_operations:
        raise _TooLargeError(
            f"schedule: {len(operations)} operations, more than the {max_operations} this server draws"
        )
    if len(operations) < num_jobs:
        raise ValueError(f"{len(operations)} operations for {num_jobs} jobs; every job has at least one")
    table = np.zeros((len(operations), len(keys)), dtype=np.int64)
    for index, record in enumerate(operations):
        values = [_as_count(record.get(key)) if isinstance(record, dict) else None for key in keys]
        counts = [value for value in values if value is not None]
        if len(counts) < len(values):
            raise ValueError(f"operations[{index}] needs non-negative integers {', '.join(keys)}")
        if counts[0] >= num_jobs:
            raise ValueError(f"operations[{index}]: job {counts[0]} is outside 0..{num_jobs - 1}")
        table[index, : len(counts)] = counts
    name = header.get("name")
    label = _safe_name(name) if isinstance(name, str) else "schedule"
    return (label, num_jobs, num_machines), table


def _instance_from_table(
    header: tuple[str, int, int], table: npt.NDArray[np.int64]
) -> tuple[Instance, npt.NDArray[np.int64]]:
    """The instance of an operation table (columns job, op, machine, a time, duration) and that time per cell.

    Shapes:
        times: ``(num_jobs, width)``, -1 in padding.
    """
    name, num_jobs, num_machines = header
    jobs, ops = table[:, 0], table[:, 1]
    lengths = np.bincount(jobs, minlength=num_jobs)
    if (lengths == 0).any():
        raise ValueError(f"job {int(np.argmin(lengths))} has no operations")
    width = int(lengths.max())
    if num_jobs * width > MAX_OPERATIONS:
        raise ValueError(f"{num_jobs} jobs x {width} operations is larger than supported ({MAX_OPERATIONS} cells)")
    # Operation numbers of job j must be 0 .. lengths[j] - 1, each once.
    cells = jobs * width + ops
    first = np.unique(cells, return_index=True)[1]
    wrong = np.flatnonzero(ops >= lengths[jobs])
    if wrong.size == 0 and first.size < len(table):
        wrong = np.setdiff1d(np.arange(len(table)), first)
    if wrong.size:
        index = int(wrong[0])
        raise ValueError(
            f"operations[{index}]: job {jobs[index]} operation {ops[index]} is out of range or given twice"
        )
    # machines, durations, times: (num_jobs, width), padded after each job's last operation
    machines = np.full((num_jobs, width), PAD, dtype=np.int64)
    durations = np.zeros((num_jobs, width), dtype=np.int64)
    times = np.full((num_jobs, width), -1, dtype=np.int64)
    machines[jobs, ops], times[jobs, ops], durations[jobs, ops] = table[:, 2], table[:, 3], table[:, 4]
    return Instance(machines, durations, name=name, num_machines=num_machines), times


_OPERATION_KEYS = ("job", "op", "machine", "start", "duration")
_BLOCKING_OPERATION_KEYS = ("job", "op", "machine", "enter", "leave")  # the duration replaces leave in the table


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_count(value: Any) -> int | None:
    """``value`` if it is an integer in ``0 .. 2**62 - 1`` (no overflow in int64 sums), else None."""
    return value if _is_int(value) and 0 <= value < 2**62 else None


# ---------------------------------------------------------------- pool


async def _run_in_pool(
    request: Request,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    timeout: float,
    what: str,
) -> Any:
    """Run a task in the solver pool, turning its failures into HTTP errors.

    A client that disconnects meanwhile cancels the task: the pool then kills its solver process
    and starts a fresh one, so an abandoned solve does not hold a process until its time limit.
    """
    config: ServeConfig = request.app.state.config
    pool: SolverPool = request.app.state.pool
    running = asyncio.ensure_future(pool.run(function, args, timeout=timeout, queue_timeout=config.queue_timeout))
    disconnect = asyncio.ensure_future(_wait_for_disconnect(request))
    try:
        await asyncio.wait((running, disconnect), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (running, disconnect):
            if not task.done():
                task.cancel()
        await asyncio.gather(disconnect, return_exceptions=True)
    if not running.done() or running.cancelled():
        await asyncio.gather(running, return_exceptions=True)  # the pool has retired the worker
        raise HTTPException(_CLIENT_CLOSED, f"client disconnected; {what} was stopped")
    try:
        return running.result()
    except PoolBusyError as error:
        raise HTTPException(503, f"server busy: {error}; try again shortly", {"Retry-After": _RETRY_AFTER_S}) from None
    except TaskTimeoutError:
        raise HTTPException(
            504,
            f"{what} did not finish within {timeout:g} s (time limit plus {config.grace_seconds:g} s grace) "
            "and was stopped",
        ) from None
    except TaskError as error:
        raise HTTPException(error.status, error.detail) from None


async def _wait_for_disconnect(request: Request) -> None:
    """Return once the client has closed the connection (the request body has been read already, so the
    server's next message is ``http.disconnect``)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


# ---------------------------------------------------------------- OpenAPI request bodies

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/json": {"example": {"detail": example}}}}
    for status, description, example in [
        (413, "Upload or instance too large", "upload: 100x200 instance has 20000 operations, more than ..."),
        (415, "Unsupported content type", "unsupported content type 'image/png': ..."),
        (422, "Malformed instance or bad parameter", "bad.txt:2: truncated: expected 2 job lines after ..."),
        (503, "Every solver process busy", "server busy: all 2 solver processes stayed busy for 60 s; ..."),
        (504, "Solve stopped at its time limit plus grace", "cpsat did not finish within 7 s ..."),
    ]
}

_SOLVE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "instance file, any layout, gzip-compressed or not",
                        },
                        "text": {"type": "string", "description": "instance content (instead of a file)"},
                        "method": {"type": "string"},
                        "time_limit": {"type": "number"},
                        "seed": {"type": "integer"},
                        "instance": {"type": "string", "description": "instance of a multi-instance file"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": 'A jssp-instance/1 document, or {"text": "<instance content>", "name": "label"}.',
                },
                "example": {"text": "2 2\n0 3 1 2\n1 4 0 1\n", "name": "tiny"},
            },
            "text/plain": {"schema": {"type": "string", "description": "instance content"}},
        },
    }
}

_GANTT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "A jssp-schedule/1 document."}}},
    }
}
