"""The web page and HTTP API of ``jssp serve``: upload an instance, pick a method, get a schedule.

Endpoints (details in ``docs/web.md``; OpenAPI at ``/docs``):

* ``GET /`` the page (``static/``: plain HTML, CSS and JavaScript, nothing loaded from elsewhere);
* ``GET /api/methods`` the problems (each with its description, methods and options) and the limits the page needs;
* ``POST /api/solve`` an instance in, a ``jssp-schedule/1`` document plus ``gap_pct`` out; with
  ``problem=NAME`` (and that problem's options, e.g. ``shutdown_rate``) another registered problem
  (:mod:`jssp.problems`), whose schedule document comes out;
* ``POST /api/gantt.png`` a schedule document of any registered problem in, its Gantt chart PNG out.

The page builds its problem and option fields from ``/api/methods``: a problem registered in the
server (and in its solver processes, ``ServeConfig.worker_setup``) is offered without a change here.

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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from jssp import benchmarks
from jssp.documents import DocumentTooLargeError, safe_name
from jssp.instance import Instance
from jssp.options import (
    OptionField,
    check_processes,
    help_text,
    option_fields,
    problem_option_owners,
    solve_options_from,
)
from jssp.parsing import (
    InputTooLargeError,
    InstanceFormatError,
    IntegerTooLargeError,
    SeveralInstancesError,
    bounded_integer,
    file_stem,
)
from jssp.problems import (
    DEFAULT_PROBLEM,
    Problem,
    Reference,
    find_problem,
    get_problem,
    problem_for_format,
    problem_names,
)
from jssp.solvers import OptionError, SolveOptions, available_cores
from jssp.web.pool import PoolBusyError, SolverPool, TaskError, TaskTimeoutError
from jssp.web.tasks import gantt_png_task, solve_task

STATIC_DIR = Path(__file__).resolve().parent / "static"
_REQUEST_FIELDS = ("method", "time_limit", "event_budget", "seed", "instance", "problem")
"""Fields of a solve request besides the problems' own options (each a query parameter or a form field)."""
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
    search_workers: int | None = None
    """Search processes of one tabu-pr solve; default: the cores available shared among the solver processes."""
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
        # the bounds of every --cpsat-workers and --search-workers
        SolveOptions(cpsat_workers=self.cpsat_workers, search_workers=self.search_workers).check()


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
    """The problems offered (``problems``: per problem its description, methods and options, from which the page
    builds its form), the classical problem's methods (``methods``), the default method, and the limits the page
    enforces before sending."""
    config: ServeConfig = request.app.state.config
    pool: SolverPool = request.app.state.pool
    problems = {}
    for name in problem_names():
        problem = get_problem(name)
        problems[name] = {
            "description": problem.description,
            "methods": pool.methods_for(name),
            "default_method": problem.default_method,
            "options": [_option_description(field) for field in option_fields(problem.options)],
        }
    return {
        "methods": pool.methods_for(DEFAULT_PROBLEM),
        "problems": problems,
        "default_problem": DEFAULT_PROBLEM,
        "default_method": get_problem(DEFAULT_PROBLEM).default_method,
        "time_limit": {"default": config.default_time_limit, "max": config.max_time_limit},
        "max_upload_bytes": config.max_upload_bytes,
        "max_operations": config.max_operations,
    }


def _option_description(field: OptionField) -> dict[str, Any]:
    """One problem option as the page draws its input: name, kind (integer, number, choice), default, help."""
    kind = "choice" if field.choices else {int: "integer", float: "number"}.get(field.kind, "text")
    return {
        "name": field.name,
        "kind": kind,
        "default": field.default,
        "optional": field.optional,
        "choices": list(field.choices) if field.choices else None,
        "help": help_text(field),
    }


async def _solve(
    request: Request,
    method: str | None = Query(None, description="Solving method (GET /api/methods); default: the problem's."),
    time_limit: float | None = Query(None, description="Seconds for time-limited methods (cpsat, tabu)."),
    event_budget: float | None = Query(
        None,
        description="Re-planning methods (reschedule, right-shift, gnn-replan): seconds of search per plan; default 1.",
    ),
    seed: int | None = Query(None, description="Seed of randomised methods (random, cpsat, tabu); default 0."),
    instance: str | None = Query(None, description="Which instance of a file that holds several (OR-Library)."),
    problem: str | None = Query(None, description=f"Problem variant (GET /api/methods); default {DEFAULT_PROBLEM}."),
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
    (null unless the instance is a known benchmark, in any layout and under any name),
    ``benchmark`` (that benchmark's name, or null) and ``problem`` (its ``name``, its ``settings``
    in a few words, and the ``best_known_label`` of its reference value).

    With ``problem=NAME`` the instance is solved as that registered problem, with its own options
    (query parameters or form fields named as its options, e.g. ``shutdown_rate``), and the reply is
    that problem's schedule document (as ``jssp solve --problem NAME`` returns it), validated, plus
    ``benchmark``, ``best_known`` and ``gap_pct`` (to it) and ``lower_bound`` as the problem defines them.
    """
    config: ServeConfig = request.app.state.config
    fields: dict[str, str | None] = {
        "method": method,
        "time_limit": None if time_limit is None else str(time_limit),
        "event_budget": None if event_budget is None else str(event_budget),
        "seed": None if seed is None else str(seed),
        "instance": instance,
        "problem": problem,
    }
    fields.update({name: request.query_params.get(name) for name in problem_option_owners()})
    upload, form_fields = await _read_instance_body(request, config)
    fields.update({key: value for key, value in form_fields.items() if value is not None})
    chosen_method, options = _solve_options(fields, config)
    chosen_problem = get_problem(options.problem)

    chosen_instance = (fields.get("instance") or "").strip() or None
    try:
        parsed, reference = await asyncio.to_thread(
            _parse_and_identify, chosen_problem, upload, chosen_instance, config.max_upload_bytes
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
    document = await asyncio.to_thread(chosen_problem.document, schedule, reference)
    document["gap_pct"] = benchmarks.gap_percent(schedule.makespan, document.get("best_known"))
    document["benchmark"] = reference.benchmark
    document["problem"] = {
        "name": chosen_problem.name,
        "settings": chosen_problem.settings_line(schedule, options),
        "best_known_label": chosen_problem.best_known_label,
    }
    return JSONResponse(document)


async def _gantt_png(request: Request) -> Response:
    """Draw a schedule document of any registered problem (as returned by ``/api/solve``: ``jssp-schedule/1``,
    ``jssp-isbjssp-schedule/1``, ...) as a Gantt chart PNG.

    The problem whose format the document has rebuilds the schedule from its ``operations`` and
    validates it first; the best-known makespan line is drawn when the instance is a known benchmark
    (the problem's best known: for the blocking problem, without shutdowns). The chart is the
    problem's (a blocking chart draws processing, blocked time and down intervals distinctly).
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
    found = problem_for_format(str(document.get("format"))) if isinstance(document, dict) else None
    if found is None:
        formats = ", ".join(get_problem(name).schedule_format for name in problem_names())
        raise HTTPException(422, f"schedule: not a schedule document of this server ({formats})")
    try:
        schedule: Any = await asyncio.to_thread(found.schedule_from_document, document, config.max_operations)
    except DocumentTooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except ValueError as error:  # InstanceError and the validators' errors too
        raise HTTPException(422, f"schedule: {error}") from None
    reference = await asyncio.to_thread(found.reference, schedule.instance)
    arguments = (found.name, schedule, reference.best_known)
    png: bytes = await _run_in_pool(request, gantt_png_task, arguments, _GANTT_TIMEOUT_S, what="chart")
    stem = safe_name(f"{schedule.instance.name}-{schedule.method}-gantt") or "gantt"
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
    """An upload above a server limit (413)."""


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
    max_fields = len(_form_fields()) + 4  # and file, text, room for a stray one
    async with form_request.form(max_files=1, max_fields=max_fields, max_part_size=config.max_upload_bytes) as form:
        fields = {key: _form_text(form.get(key), key) for key in _form_fields()}
        file, text = form.get("file"), form.get("text")
        if isinstance(file, UploadFile) and (file.filename or file.size):
            data = await file.read(config.max_upload_bytes + 1)
            source = safe_name(PureWindowsPath(file.filename or "").name) or UPLOAD_SOURCE
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
        return _Upload(text, safe_name(name) or UPLOAD_SOURCE, UPLOAD_SOURCE)
    return _Upload(body, UPLOAD_SOURCE, UPLOAD_SOURCE)


def _shown(value: str | None) -> str:
    """A form value as quoted in an error message: at most 40 characters."""
    text = value or ""
    return text if len(text) <= 40 else f"{text[:40]}..."


# ---------------------------------------------------------------- checks


def _form_fields() -> tuple[str, ...]:
    """Every field a solve request may have: the request's own, then every registered problem's options."""
    return (*_REQUEST_FIELDS, *problem_option_owners())


def _solve_options(fields: dict[str, str | None], config: ServeConfig) -> tuple[str, SolveOptions]:
    """The method name and solve options of a request, or 422 naming what is wrong (the solver
    process checks the method: only it knows the methods that plugins add). The options pass the
    same checks as those of ``jssp solve`` and ``evaluate.py``; the server also caps the time limit."""
    time_limit = _number_field(fields, "time_limit", float, "a number")
    time_limit = config.default_time_limit if time_limit is None else time_limit
    seed = _number_field(fields, "seed", bounded_integer, "an integer") or 0
    name = (fields.get("problem") or DEFAULT_PROBLEM).strip().lower()
    problem = find_problem(name)
    method = (fields.get("method") or (problem or get_problem(DEFAULT_PROBLEM)).default_method).strip().lower()
    values: dict[str, Any] = {
        "time_limit": time_limit,
        "seed": seed,
        "cpsat_workers": config.cpsat_workers,
        "search_workers": config.search_workers or max(1, available_cores() // config.workers),
    }
    event_budget = _number_field(fields, "event_budget", float, "a number")
    if event_budget is not None:
        values["event_budget"] = event_budget
    values["problem"] = name
    for option, owners in problem_option_owners().items():
        owner = next((problem for problem in owners if problem.name == name), owners[0])
        field = next(field for field in option_fields(owner.options) if field.name == option)
        values[option] = _option_field(fields, field)
    try:
        options = solve_options_from(values)
    except OptionError as error:
        raise HTTPException(422, f"{error.name} {error.reason}") from None
    if time_limit > config.max_time_limit:
        raise HTTPException(
            422, f"time_limit must be at most {config.max_time_limit:g} seconds on this server, got {time_limit:g}"
        )
    return method, options


def _option_field(fields: dict[str, str | None], field: OptionField) -> Any:
    """A problem option's value in its form field (None when absent or empty), or 422 naming the field."""
    if field.kind in (int, float):
        kind = "an integer" if field.kind is int else "a number"
        return _number_field(fields, field.name, field.parse, kind)
    text = fields.get(field.name)
    return field.parse(text) if text else None


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
    problem: Problem, upload: _Upload, chosen: str | None, max_bytes: int
) -> tuple[Instance, Reference]:
    """Parse with the problem's reader (raises InstanceFormatError) and look the content up among the benchmarks."""
    instance = problem.parse_instance(upload.data, upload.name, upload.source, chosen, max_bytes)
    return instance, problem.reference(instance)


def _check_operations(instance: Instance, source: str, config: ServeConfig) -> None:
    if instance.num_operations > config.max_operations:
        raise HTTPException(
            413,
            f"{source}: {instance.shape} instance has {instance.num_operations} operations, "
            f"more than the {config.max_operations} this server solves",
        )


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
                        "event_budget": {"type": "number"},
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
