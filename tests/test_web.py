"""The HTTP API of `jssp serve`: solving uploads, every error class, limits, concurrency, time limits."""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from jssp import benchmarks
from jssp.blocking import Interruptions
from jssp.blocking.validation import find_document_violations
from jssp.generators import random_general_instance
from jssp.instance import Instance
from jssp.parsing import (
    InstanceFormatError,
    format_json,
    format_jsplib,
    format_orlib,
    format_standard,
    format_taillard,
    parse_instance,
    read_instance,
)
from jssp.rules import dispatch
from jssp.schedule import Schedule
from jssp.solvers import SolveOptions, register
from jssp.web.app import STATIC_DIR, ServeConfig, create_app
from jssp.web.server import background_server

INSTANCES = Path(__file__).resolve().parents[1] / "instances"
TINY = "2 2\n0 3 1 2\n1 4 0 1\n"  # optimum 6 = trivial lower bound (machine 1: 2 + 4)
GRACE_S = 1.0
MAX_UPLOAD_BYTES = 32 * 1024
MAX_OPERATIONS = 1000  # ta71 (100x20) is above it


def register_slow_method() -> None:
    """Worker setup: ``sleepy``, a method that ignores its time limit, so that the server has to stop it."""

    def sleepy(instance: Instance, options: SolveOptions) -> Schedule:
        time.sleep(60)
        return dispatch(instance, "mwkr")

    register("sleepy", sleepy)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    config = ServeConfig(
        workers=2,
        max_time_limit=30.0,
        grace_seconds=GRACE_S,
        max_upload_bytes=MAX_UPLOAD_BYTES,
        max_operations=MAX_OPERATIONS,
        worker_setup=register_slow_method,
    )
    with TestClient(create_app(config)) as test_client:
        yield test_client


def _upload(client: TestClient, name: str, content: bytes, **fields: str) -> tuple[int, dict]:
    response = client.post("/api/solve", files={"file": (name, content, "text/plain")}, data=fields)
    return response.status_code, response.json()


# ---------------------------------------------------------------- success


def test_methods_and_limits(client: TestClient) -> None:
    info = client.get("/api/methods").json()
    assert {"mwkr", "spt", "fdd-mwkr", "random", "cpsat", "tabu", "tabu-pr", "sleepy"} <= set(info["methods"])
    assert info["default_method"] == info["problems"]["jssp"]["default_method"] == "tabu-pr"
    assert info["problems"]["isbjssp"]["default_method"] == "mwkr"
    assert info["time_limit"] == {"default": 5.0, "max": 30.0}
    assert info["max_upload_bytes"] == MAX_UPLOAD_BYTES and info["max_operations"] == MAX_OPERATIONS


def test_a_request_without_a_method_gets_the_default_search(client: TestClient) -> None:
    status, document = _upload(client, "ft10.txt", (INSTANCES / "ft10.txt").read_bytes(), time_limit="1")
    assert status == 200 and document["method"] == "tabu-pr"
    assert document["makespan"] < dispatch(benchmarks.load("ft10"), "fdd-mwkr").makespan


def test_page_and_assets_load_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<title>jssp" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    for path in STATIC_DIR.iterdir():
        urls = set(re.findall(r"https?://[^\s\"'`)]+", path.read_text()))
        assert urls <= {"http://www.w3.org/2000/svg"}, f"{path.name} refers to {urls}"  # the SVG namespace only


def test_file_upload_cpsat_solves_ft06_to_optimality(client: TestClient) -> None:
    ft06 = (INSTANCES / "ft06.txt").read_bytes()
    status, document = _upload(client, "ft06.txt", ft06, method="cpsat", time_limit="10")
    assert status == 200
    assert document["format"] == "jssp-schedule/1" and document["method"] == "cpsat"
    assert document["makespan"] == 55 and document["best_known"] == 55 and document["lower_bound"] == 55
    assert document["gap_pct"] == 0.0 and document["benchmark"] == "ft06"
    assert document["instance"] == {"name": "ft06", "num_jobs": 6, "num_machines": 6}
    assert len(document["operations"]) == 36
    Schedule.from_dict(document, read_instance(INSTANCES / "ft06.txt")).check()


def test_json_instance_in_another_name_is_recognised_as_ta01(client: TestClient) -> None:
    ta01 = read_instance(INSTANCES / "ta01.txt")
    body = format_json(ta01.renamed("my_shop"))
    response = client.post("/api/solve?method=mwkr", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    document = response.json()
    expected = dispatch(ta01, "mwkr").makespan
    assert document["instance"]["name"] == "my_shop" and document["benchmark"] == "ta01"
    assert document["makespan"] == expected and document["best_known"] == 1231
    assert document["gap_pct"] == pytest.approx(100.0 * (expected - 1231) / 1231)
    Schedule.from_dict(document, ta01).check()


@pytest.mark.parametrize("how", ["json-text", "form-text", "text/plain", "taillard-file"])
def test_every_way_of_sending_text(client: TestClient, how: str) -> None:
    if how == "json-text":
        response = client.post("/api/solve?method=spt", json={"text": TINY, "name": "tiny"})
    elif how == "form-text":
        response = client.post("/api/solve", data={"text": TINY, "method": "spt"})
    elif how == "text/plain":
        response = client.post("/api/solve?method=spt", content=TINY, headers={"Content-Type": "text/plain"})
    else:
        taillard = format_taillard(parse_instance(TINY)).replace("\n", "\r\n")
        response = client.post("/api/solve?method=spt", files={"file": ("tiny.txt", taillard.encode())})
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["makespan"] == 6 and document["lower_bound"] == 6
    assert document["best_known"] is None and document["gap_pct"] is None and document["benchmark"] is None
    assert document["instance"]["name"] == ("upload" if how in ("form-text", "text/plain") else "tiny")


def test_seed_reaches_the_random_rule(client: TestClient) -> None:
    ta01 = (INSTANCES / "ta01.txt").read_bytes()
    makespans = {
        seed: _upload(client, "ta01.txt", ta01, method="random", seed=str(seed))[1]["makespan"] for seed in (1, 2)
    }
    instance = read_instance(INSTANCES / "ta01.txt")
    assert makespans == {seed: dispatch(instance, "random", seed=seed).makespan for seed in (1, 2)}


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"2 2\n0 3 1 2\n",
        b"2 2\n0 3 1 2\n0 1 5 1\n",
        b"2 2\n0 3 1 -2\n1 1 0 1\n",
        b"2 2\n0 3 1 2.5\n1 1 0 1\n",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"900000 900000\n",
        b'{"format": "jssp-instance/1", "num_jobs": 2}',
        b"2 2\n0 3 1 2\n1 " + b"9" * 5000 + b" 0 1\n",
        b'{"format": "jssp-instance/1", "num_jobs": 2,\n"num_machines": ' + b"9" * 5000 + b"}",
    ],
)
def test_malformed_file_gives_the_parsers_one_line(client: TestClient, content: bytes) -> None:
    with pytest.raises(InstanceFormatError) as expected:
        parse_instance(content, name="bad", source="bad.txt")
    status, document = _upload(client, "bad.txt", content)
    assert status == 422
    assert document["detail"] == str(expected.value) and "\n" not in document["detail"]


def test_malformed_json_body_is_named_upload(client: TestClient) -> None:
    response = client.post("/api/solve", json={"format": "jssp-instance/1", "num_jobs": 2, "num_machines": 2})
    assert response.status_code == 422
    assert response.json()["detail"] == "upload:1: JSON instance lacks the field 'machines'"


def test_upload_limits_give_413(client: TestClient) -> None:
    status, document = _upload(client, "big.txt", b"#" * (MAX_UPLOAD_BYTES + 1))
    assert status == 413
    assert document["detail"] == f"big.txt: {MAX_UPLOAD_BYTES + 1} bytes, more than the 32768 this server accepts"
    status, document = _upload(client, "huge.txt", b"#" * (1024 * 1024))  # refused from Content-Length, unread
    assert status == 413
    assert document["detail"].endswith(f"this server accepts instances up to {MAX_UPLOAD_BYTES} bytes")
    response = client.post("/api/solve", content=b"1" * (MAX_UPLOAD_BYTES + 1), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    status, document = _upload(client, "ta71.txt", (INSTANCES / "ta71.txt").read_bytes())
    assert status == 413
    assert document["detail"] == "ta71.txt: 100x20 instance has 2000 operations, more than the 1000 this server solves"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"time_limit": "0"}, "time_limit must be a finite number of seconds above 0, got 0"),
        ({"time_limit": "31"}, "time_limit must be at most 30 seconds on this server, got 31"),
        ({"time_limit": "nan"}, "time_limit must be a finite number of seconds above 0, got nan"),
        ({"time_limit": "inf"}, "time_limit must be a finite number of seconds above 0, got inf"),
        ({"time_limit": "9" * 5000}, "time_limit must be a finite number of seconds above 0, got inf"),
        ({"time_limit": "soon"}, "time_limit 'soon' is not a number"),
        ({"event_budget": "0"}, "event_budget must be a number of seconds above 0 and at most 600, got 0"),
        ({"event_budget": "-1"}, "event_budget must be a number of seconds above 0 and at most 600, got -1"),
        ({"event_budget": "1e9"}, "event_budget must be a number of seconds above 0 and at most 600, got 1e+09"),
        ({"event_budget": "soon"}, "event_budget 'soon' is not a number"),
        ({"seed": "-1"}, "seed must be between 0 and 2147483647, got -1"),
        ({"seed": "2147483648"}, "seed must be between 0 and 2147483647, got 2147483648"),
        ({"seed": "9" * 5000}, "seed: integer 99999999999999999999... (5000 characters) is too large"),
        ({"seed": "1.5"}, "seed '1.5' is not an integer"),
        ({"method": "nope"}, "unknown method 'nope' for --problem jssp; available: spt, lpt, mwkr"),
    ],
)
def test_bad_parameters_give_422(client: TestClient, fields: dict[str, str], expected: str) -> None:
    status, document = _upload(client, "tiny.txt", TINY.encode(), **fields)
    assert status == 422 and document["detail"].startswith(expected) and len(document["detail"]) < 200


def test_huge_integers_anywhere_give_422_not_500(client: TestClient) -> None:
    digits = "9" * 5000
    response = client.post("/api/solve", content=f'{{"text": "{TINY}", "n": {digits}}}'.replace("\n", "\\n"))
    assert response.status_code == 422 and response.json()["detail"].startswith("upload:1: integer 9999")
    response = client.post(f"/api/solve?seed={digits}", content=TINY, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422 and len(response.json()["detail"]) < 500
    status, document = _upload(client, "ft06.txt", (INSTANCES / "ft06.txt").read_bytes(), method="mwkr")
    body = json.dumps(document).replace('"makespan": ', f'"makespan": {digits}', 1)
    response = client.post("/api/gantt.png", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    length = len(digits) + len(str(document["makespan"]))
    expected = f"schedule: integer {digits[:20]}... ({length} characters) is too large (more than 18 digits)"
    assert response.json()["detail"] == expected


def test_bad_query_parameter_and_content_type(client: TestClient) -> None:
    response = client.post("/api/solve?time_limit=soon", content=TINY, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422 and response.json()["detail"].startswith("time_limit: ")
    response = client.post("/api/solve", content=TINY, headers={"Content-Type": "image/png"})
    assert response.status_code == 415 and "send a form (field 'file' or 'text')" in response.json()["detail"]
    response = client.post("/api/solve", data={"method": "mwkr"}, files={"unused": ("x", b"")})
    assert response.status_code == 422 and response.json()["detail"].startswith("no instance")


# ---------------------------------------------------------------- concurrency and time limits


def test_eight_requests_at_once_are_all_served(client: TestClient) -> None:
    names = ["ta01", "ft06", "la01", "ft10"] * 2
    expected = {name: dispatch(benchmarks.load(name), "mwkr").makespan for name in set(names)}

    def solve(name: str) -> tuple[int, int]:
        status, document = _upload(client, f"{name}.txt", (INSTANCES / f"{name}.txt").read_bytes(), method="mwkr")
        return status, document["makespan"]

    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(solve, names))
    assert results == [(200, expected[name]) for name in names]


def test_solve_past_its_time_limit_is_stopped_with_504(client: TestClient) -> None:
    pool = client.app.state.pool  # type: ignore[attr-defined]
    before = set(pool.pids())
    began = time.perf_counter()
    status, document = _upload(client, "tiny.txt", TINY.encode(), method="sleepy", time_limit="0.5")
    elapsed = time.perf_counter() - began
    assert status == 504 and "was stopped" in document["detail"]
    assert 0.5 + GRACE_S <= elapsed < 0.5 + GRACE_S + 3.0
    deadline = time.perf_counter() + 30
    while (len(pool.pids()) < 2 or set(pool.pids()) == before) and time.perf_counter() < deadline:
        time.sleep(0.1)
    after = set(pool.pids())
    assert len(after) == 2 and len(before - after) == 1  # the sleeper was killed and replaced
    assert _upload(client, "tiny.txt", TINY.encode())[0] == 200


def test_busy_pool_gives_503() -> None:
    config = ServeConfig(workers=1, grace_seconds=0.5, queue_timeout=0.3, worker_setup=register_slow_method)
    with TestClient(create_app(config)) as test_client:
        sleepy = {"method": "sleepy", "time_limit": "2"}
        sleeper = threading.Thread(target=_upload, args=(test_client, "tiny.txt", TINY.encode()), kwargs=sleepy)
        sleeper.start()
        time.sleep(0.5)  # the sleeper now holds the only worker for 2.5 s
        response = test_client.post("/api/solve", content=TINY, headers={"Content-Type": "text/plain"})
        sleeper.join()
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.json()["detail"].startswith("server busy: all 1 solver processes stayed busy for 0.3 s")


def test_client_that_disconnects_frees_its_solver_process() -> None:
    config = ServeConfig(workers=1, max_time_limit=30.0, worker_setup=register_slow_method)
    app = create_app(config)
    with background_server(app) as url:
        pool = app.state.pool
        before = pool.pids()
        began = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
            httpx.post(f"{url}/api/solve", data={"text": TINY, "method": "sleepy", "time_limit": "30"}, timeout=1.0)
        while (len(pool.pids()) < 1 or pool.pids() == before) and time.perf_counter() - began < 20:
            time.sleep(0.1)
        assert len(pool.pids()) == 1 and pool.pids() != before  # the sleeper was killed and replaced
        response = httpx.post(f"{url}/api/solve", data={"text": TINY, "method": "spt"}, timeout=30.0)
        elapsed = time.perf_counter() - began
    assert response.status_code == 200 and response.json()["makespan"] == 6
    assert elapsed < 20  # not the 30 s time limit the abandoned solve asked for


# ---------------------------------------------------------------- Gantt PNG


def test_gantt_png_of_a_returned_schedule(client: TestClient) -> None:
    status, document = _upload(client, "ft06.txt", (INSTANCES / "ft06.txt").read_bytes(), method="mwkr")
    assert status == 200
    response = client.post("/api/gantt.png", json=document)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.headers["content-disposition"] == 'attachment; filename="ft06-mwkr-gantt.png"'


def test_gantt_png_refuses_infeasible_or_malformed_schedules(client: TestClient) -> None:
    status, document = _upload(client, "ft06.txt", (INSTANCES / "ft06.txt").read_bytes(), method="mwkr")
    overlapping = json.loads(json.dumps(document))
    for operation in overlapping["operations"]:
        operation["start"] = 0
    response = client.post("/api/gantt.png", json=overlapping)
    assert response.status_code == 422 and response.json()["detail"].startswith("schedule: ")
    response = client.post("/api/gantt.png", json={"format": "jssp-schedule/1"})
    assert response.status_code == 422
    response = client.post("/api/gantt.png", content=b"not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"].startswith("schedule: not a JSON document")
    huge = {**document, "operations": document["operations"] * 28}  # 1008 operations, above the 1000 allowed
    response = client.post("/api/gantt.png", json=huge)
    assert response.status_code == 413
    assert response.json()["detail"] == "schedule: 1008 operations, more than the 1000 this server draws"


# ---------------------------------------------------------------- general routes, collections, gzip


def _general_instance() -> Instance:
    return random_general_instance(7, 4, seed=9, reentry=0.5, name="general")


def _dacol_teppan_text(instance: Instance) -> str:
    """Standard layout with Da Col & Teppan's ``-1 -1`` at the end of each job line."""
    header, *jobs = format_standard(instance).splitlines()
    return header + "\n" + "".join(f"{line} -1 -1\n" for line in jobs)


@pytest.mark.parametrize("layout", ["standard", "dacol-teppan", "gzip", "jsplib", "json"])
def test_general_route_upload_gets_a_schedule_and_a_chart(client: TestClient, layout: str) -> None:
    instance = _general_instance()
    name, content = {
        "standard": ("general.txt", format_standard(instance).encode()),
        "dacol-teppan": ("general.txt", _dacol_teppan_text(instance).encode()),
        "gzip": ("general.txt.gz", gzip.compress(_dacol_teppan_text(instance).encode())),
        "jsplib": ("shop.json", format_jsplib(instance).encode()),
        "json": ("shop.json", format_json(instance).encode()),
    }[layout]
    status, document = _upload(client, name, content, method="mwkr")
    assert status == 200, document
    assert document["instance"] == {"name": "general", "num_jobs": 7, "num_machines": 4}
    assert document["makespan"] == dispatch(instance, "mwkr").makespan
    assert [len(row) for row in document["start_times"]] == instance.lengths.tolist()
    assert len(document["operations"]) == instance.num_operations and document["benchmark"] is None
    Schedule.from_dict(document, instance).check()
    response = client.post("/api/gantt.png", json=document)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_gantt_png_refuses_a_general_schedule_with_a_gap_in_a_route(client: TestClient) -> None:
    status, document = _upload(client, "general.txt", format_standard(_general_instance()).encode())
    assert status == 200
    broken = json.loads(json.dumps(document))
    record = next(op for op in broken["operations"] if op["op"] == 1)
    record["op"] = 1 + max(op["op"] for op in broken["operations"] if op["job"] == record["job"])
    response = client.post("/api/gantt.png", json=broken)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"schedule: operations[{broken['operations'].index(record)}]: job")


def test_collection_without_instance_gets_422_listing_names_then_solves_the_chosen_one(client: TestClient) -> None:
    collection = "".join(format_orlib(benchmarks.load(name)) for name in ("ft06", "la01", "ft10"))
    status, document = _upload(client, "jobshop1.txt", collection.encode())
    assert status == 422
    assert document["detail"] == (
        "jobshop1.txt:17: file holds 3 instances (ft06, la01, ft10); select one by name in the field 'instance'"
    )
    assert document["instances"] == ["ft06", "la01", "ft10"]
    status, document = _upload(client, "jobshop1.txt", collection.encode(), instance="la01", method="mwkr")
    assert status == 200 and document["benchmark"] == "la01" and document["instance"]["name"] == "la01"
    response = client.post(
        "/api/solve?instance=ft06&method=mwkr", files={"file": ("jobshop1.txt.gz", gzip.compress(collection.encode()))}
    )
    assert (
        response.status_code == 200
        and response.json()["makespan"] == dispatch(benchmarks.load("ft06"), "mwkr").makespan
    )
    status, document = _upload(client, "jobshop1.txt", collection.encode(), instance="la99")
    assert status == 422 and document["detail"].startswith("jobshop1.txt: no instance named 'la99'; the file holds 3")


def test_gzip_content_above_the_upload_limit_gives_413(client: TestClient) -> None:
    bomb = gzip.compress(b"# padding\n" * (MAX_UPLOAD_BYTES // 5))  # small file, content twice the limit
    assert len(bomb) < MAX_UPLOAD_BYTES
    status, document = _upload(client, "bomb.txt.gz", bomb)
    assert status == 413
    assert document["detail"] == f"bomb.txt.gz: decompresses to more than the {MAX_UPLOAD_BYTES} bytes allowed"


# ---------------------------------------------------------------- the blocking job shop with shutdowns (isbjssp)


def test_methods_are_listed_per_problem(client: TestClient) -> None:
    listing = client.get("/api/methods").json()
    problems = listing["problems"]
    assert set(problems) == {"jssp", "isbjssp"} and {"tabu", "sleepy"} <= set(problems["jssp"]["methods"])
    assert listing["methods"] == problems["jssp"]["methods"] and problems["jssp"]["options"] == []
    assert problems["isbjssp"]["methods"] == ["spt", "lpt", "mwkr", "lwkr", "mor", "lor", "mopnr", "fifo", "fdd-mwkr",
                                              "random", "lookahead-lor", "reschedule", "right-shift", "cpsat",
                                              "cpsat-clairvoyant"]  # fmt: skip
    options = {option["name"]: option for option in problems["isbjssp"]["options"]}
    assert list(options) == ["shutdown_rate", "downtime", "interruption_mode", "wip_limit"]
    assert options["shutdown_rate"]["kind"] == "number" and options["shutdown_rate"]["default"] == 0.0
    assert options["downtime"]["kind"] == "integer" and options["downtime"]["optional"] is True
    assert options["interruption_mode"]["choices"] == ["resume", "restart"]
    assert "unit of a machine's up time" in options["shutdown_rate"]["help"]


def test_isbjssp_solve_returns_a_schedule_valid_on_its_calendar_and_a_chart(client: TestClient) -> None:
    ft06 = (INSTANCES / "ft06.txt").read_bytes()
    fields = {"problem": "isbjssp", "shutdown_rate": "0.01", "seed": "3", "method": "mwkr"}
    status, document = _upload(client, "ft06.txt", ft06, **fields)
    assert status == 200, document
    assert document["format"] == "jssp-isbjssp-schedule/1" and document["method"] == "mwkr"
    assert document["makespan"] == 78 and document["interruptions"] == {
        "rate": 0.01, "downtime": 5, "seed": 3, "mode": "resume"
    }  # fmt: skip
    assert document["best_known"] == 63 and document["lower_bound"] == 63 and document["benchmark"] == "ft06"
    assert document["gap_pct"] == pytest.approx(100 * 15 / 63)
    instance = read_instance(INSTANCES / "ft06.txt")
    calendar = Interruptions(rate=0.01, seed=3).calendar(instance)
    assert find_document_violations(instance, document, calendar.down_intervals(78)) == []
    assert any(len(operation["segments"]) > 1 for operation in document["operations"])  # an interrupted one
    response = client.post("/api/gantt.png", json=document)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.headers["content-disposition"] == 'attachment; filename="ft06-mwkr-gantt.png"'


def test_isbjssp_reschedule_takes_its_event_budget_from_the_form(client: TestClient) -> None:
    ft06 = (INSTANCES / "ft06.txt").read_bytes()
    fields = {"problem": "isbjssp", "shutdown_rate": "0.01", "seed": "3", "method": "reschedule"}
    fields["event_budget"] = "0.05"
    status, document = _upload(client, "ft06.txt", ft06, **fields)
    assert status == 200, document
    assert document["method"] == "reschedule" and document["makespan"] >= 63
    calendar = Interruptions(rate=0.01, seed=3).calendar(read_instance(INSTANCES / "ft06.txt"))
    violations = find_document_violations(
        read_instance(INSTANCES / "ft06.txt"), document, calendar.down_intervals(document["makespan"])
    )
    assert violations == []


def test_isbjssp_settings_as_query_parameters_and_cpsat_without_shutdowns(client: TestClient) -> None:
    query = "problem=isbjssp&shutdown_rate=0.05&downtime=3&interruption_mode=restart&method=random&seed=7"
    response = client.post(f"/api/solve?{query}", content=TINY, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["interruptions"] == {"rate": 0.05, "downtime": 3, "seed": 7, "mode": "restart"}
    assert document["best_known"] is None and document["gap_pct"] is None and document["lower_bound"] == 6
    assert all(len(operation["segments"]) == 1 for operation in document["operations"])  # restart: one segment
    status, document = _upload(
        client, "ft06.txt", (INSTANCES / "ft06.txt").read_bytes(), problem="isbjssp", method="cpsat", time_limit="20"
    )
    assert status == 200 and document["makespan"] == 63 and document["gap_pct"] == 0.0
    assert document["down_intervals"] == [[] for _ in range(6)]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"problem": "fjsp"}, "problem must be one of jssp, isbjssp, got 'fjsp'"),
        ({"shutdown_rate": "0.01"}, "shutdown_rate applies to --problem isbjssp only"),
        ({"problem": "isbjssp", "shutdown_rate": "often"}, "shutdown_rate 'often' is not a number"),
        ({"problem": "isbjssp", "shutdown_rate": "1"}, "shutdown_rate must be a probability in [0, 1), got 1"),
        ({"problem": "isbjssp", "shutdown_rate": "nan"}, "shutdown_rate must be a probability in [0, 1), got nan"),
        ({"problem": "isbjssp", "downtime": "0"}, "downtime must be between 1 and 1,000,000,000, got 0"),
        ({"problem": "isbjssp", "downtime": "2.5"}, "downtime '2.5' is not an integer"),
        ({"problem": "isbjssp", "downtime": "9" * 18}, "downtime must be between 1 and 1,000,000,000, got"),
        ({"problem": "isbjssp", "interruption_mode": "pause"}, "interruption_mode must be one of resume, restart"),
        ({"problem": "isbjssp", "method": "tabu"}, "unknown method 'tabu' for --problem isbjssp; available: spt"),
        (
            {"problem": "isbjssp", "method": "cpsat", "shutdown_rate": "0.01"},
            "cpsat solves problem isbjssp only at shutdown rate 0 (no shutdowns)",
        ),
    ],
)
def test_bad_isbjssp_parameters_give_422(client: TestClient, fields: dict[str, str], expected: str) -> None:
    status, document = _upload(client, "tiny.txt", TINY.encode(), **fields)
    assert status == 422 and document["detail"].startswith(expected) and len(document["detail"]) < 200


@pytest.mark.parametrize("rate", ["1e-20", "1e-300", "5e-324"])
def test_a_tiny_shutdown_rate_solves_as_without_shutdowns(client: TestClient, rate: str) -> None:
    ft06 = (INSTANCES / "ft06.txt").read_bytes()
    status, document = _upload(client, "ft06.txt", ft06, problem="isbjssp", shutdown_rate=rate, method="mwkr")
    assert status == 200, document
    _, without = _upload(client, "ft06.txt", ft06, problem="isbjssp", shutdown_rate="0", method="mwkr")
    assert document["makespan"] == without["makespan"] and document["interruptions"]["rate"] == float(rate)


def test_a_jammed_shop_gives_422(client: TestClient) -> None:
    # Restarted from scratch after each shutdown, 1000 units of work need 1000 units of up time in a row.
    fields = {"problem": "isbjssp", "shutdown_rate": "0.05", "interruption_mode": "restart"}
    status, document = _upload(client, "long.txt", b"1 1\n0 1000\n", **fields)
    assert status == 422 and document["detail"].startswith("mwkr: long: an operation of duration 1000 restarts")


def test_gantt_png_refuses_a_tampered_isbjssp_schedule(client: TestClient) -> None:
    fields = {"problem": "isbjssp", "shutdown_rate": "0.01", "seed": "3"}
    status, document = _upload(client, "ft06.txt", (INSTANCES / "ft06.txt").read_bytes(), **fields)
    assert status == 200
    machine, (start, end) = next((m, rows[0]) for m, rows in enumerate(document["down_intervals"]) if rows)
    record = next(op for op in document["operations"] if op["machine"] == machine)
    for tamper, message in [
        ("shift", "schedule: ft06: "),
        ("segments", "schedule: operations[{index}].segments must be a list of [start, end] non-negative integers"),
        ("down", "schedule: down_intervals must list the intervals of each of the 6 machines"),
        ("mode", "schedule: interruptions must be an object whose mode is resume or restart"),
    ]:
        broken = json.loads(json.dumps(document))
        index = document["operations"].index(record)
        if tamper == "shift":  # processing moved into the machine's down interval
            broken["operations"][index]["segments"] = [[start, start + sum(b - a for a, b in record["segments"])]]
        elif tamper == "segments":
            broken["operations"][index]["segments"] = [[3, "x"]]
        elif tamper == "down":
            broken["down_intervals"] = broken["down_intervals"][:-1]
        else:
            broken["interruptions"]["mode"] = "pause"
        response = client.post("/api/gantt.png", json=broken)
        assert response.status_code == 422, tamper
        assert response.json()["detail"].startswith(message.format(index=index)), response.json()["detail"]
    assert end > start
