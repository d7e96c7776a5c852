"""Instance parsing: exact round trips of every writer on all 242 benchmarks, one-line errors, fuzzing."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import numpy as np
import pytest

from jssp import benchmarks
from jssp.instance import Instance
from jssp.parsing import (
    InstanceFormatError,
    detect_layout,
    format_json,
    format_orlib,
    format_standard,
    format_taillard,
    parse_instance,
    read_instance,
    write_instance,
)

WRITERS: dict[str, Callable[[Instance], str]] = {
    "standard": format_standard,
    "taillard": format_taillard,
    "orlib": format_orlib,
    "json": format_json,
}
# Layouts whose text carries the instance name; the others take it from parse_instance(name=...).
NAMED_LAYOUTS = ("orlib", "json")


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def carriage_returns(text: str) -> str:
    return text.replace("\n", "\r")


def tabs(text: str) -> str:
    return text.replace(" ", "\t")


def blank_lines(text: str) -> str:
    return "\n\n" + text.replace("\n", "\n\n \t\n") + "\n\n"


def padded_lines(text: str) -> str:
    return "\n".join(f"  \t{line} \t " for line in text.split("\n"))


def messy(text: str) -> str:
    """Every whitespace perturbation at once."""
    return crlf(padded_lines(blank_lines(tabs(text))))


VARIANTS: dict[str, Callable[[str], str]] = {
    "crlf": crlf,
    "cr": carriage_returns,
    "tabs": tabs,
    "blank-lines": blank_lines,
    "padded-lines": padded_lines,
    "messy": messy,
}


def expected_name(layout: str, instance: Instance, given: str) -> str:
    return instance.name if layout in NAMED_LAYOUTS else given


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def test_standard_writer_reproduces_every_benchmark_file_byte_for_byte(benchmark_instances):
    directory = benchmarks.instances_dir()
    different = [
        name
        for name, instance in benchmark_instances.items()
        if format_standard(instance) != (directory / f"{name}.txt").read_text()
    ]
    assert different == []


@pytest.mark.parametrize("transform", [None, messy], ids=["plain", "messy"])
@pytest.mark.parametrize("layout", list(WRITERS))
def test_every_benchmark_round_trips_through_every_writer(benchmark_instances, layout, transform):
    failures = []
    for name, instance in benchmark_instances.items():
        text = WRITERS[layout](instance)
        if transform is not None:
            text = transform(text)
        if detect_layout(text) != layout:
            failures.append(f"{name}: detected {detect_layout(text)}")
            continue
        parsed = parse_instance(text, name="given")
        if parsed != instance or parsed.name != expected_name(layout, instance, "given"):
            failures.append(f"{name}: parsed {parsed.name} {parsed.shape} differs")
    assert failures == []


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("layout", list(WRITERS))
@pytest.mark.parametrize("name", ["ft06", "la01", "orb07"])
def test_whitespace_variants_round_trip(benchmark_instances, name, layout, variant):
    instance = benchmark_instances[name]
    text = VARIANTS[variant](WRITERS[layout](instance))
    assert text != WRITERS[layout](instance)
    assert detect_layout(text) == layout
    parsed = parse_instance(text, name="given")
    assert parsed == instance
    assert parsed.name == expected_name(layout, instance, "given")
    np.testing.assert_array_equal(parsed.machines, instance.machines)
    np.testing.assert_array_equal(parsed.durations, instance.durations)


def test_bytes_input_and_utf8_bom_are_accepted(benchmark_instances):
    instance = benchmark_instances["ft06"]
    text = format_standard(instance)
    assert parse_instance(text.encode()) == instance
    assert parse_instance(b"\xef\xbb\xbf" + text.encode()) == instance


@pytest.mark.parametrize("name", ['t\u00e4 01 "quoted" \\ x', "  spaced  ", "ft06"])
def test_json_round_trip_preserves_the_name_exactly(benchmark_instances, name):
    instance = benchmark_instances["ft06"].renamed(name)
    parsed = parse_instance(format_json(instance), name="ignored")
    assert parsed.name == name
    assert parsed == instance


def test_taillard_machines_are_one_based():
    text = (
        "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound\n"
        "2 3 0 0 0 0\n"
        "Times\n"
        "5 6 7\n"
        "1 2 3\n"
        "Machines\n"
        "3 1 2\n"
        "2 3 1\n"
    )
    assert detect_layout(text) == "taillard"
    instance = parse_instance(text, name="tiny")
    assert instance.machines.tolist() == [[2, 0, 1], [1, 2, 0]]
    assert instance.durations.tolist() == [[5, 6, 7], [1, 2, 3]]
    assert instance.name == "tiny"
    assert format_taillard(instance).splitlines()[-2:] == ["3 1 2", "2 3 1"]


def test_read_instance_names_the_instance_after_the_file_stem(tmp_path, benchmark_instances):
    instance = benchmark_instances["la01"]
    path = tmp_path / "my_shop.txt"
    path.write_text(format_standard(instance))
    read = read_instance(path)
    assert read == instance
    assert read.name == "my_shop"
    assert read_instance(str(path), name="other").name == "other"


def test_orlib_block_takes_its_name_from_the_instance_line(tmp_path, benchmark_instances):
    instance = benchmark_instances["abz5"]
    path = tmp_path / "download.txt"
    path.write_text(format_orlib(instance, description="Adams, Balas and Zawack 10x10 instance (Table 1, instance 5)"))
    read = read_instance(path)
    assert read == instance
    assert read.name == "abz5"


@pytest.mark.parametrize("layout", list(WRITERS))
def test_write_instance_then_read_instance(tmp_path, benchmark_instances, layout):
    instance = benchmark_instances["ft06"]
    path = tmp_path / f"copy_{layout}.txt"
    write_instance(instance, path, layout=layout)
    read = read_instance(path)
    assert read == instance
    assert read.name == ("ft06" if layout in NAMED_LAYOUTS else f"copy_{layout}")


def test_write_instance_rejects_an_unknown_layout(tmp_path, benchmark_instances):
    with pytest.raises(ValueError, match="unknown layout 'xml'"):
        write_instance(benchmark_instances["ft06"], tmp_path / "x.xml", layout="xml")


def test_read_instance_on_a_missing_file_is_a_format_error(tmp_path):
    path = tmp_path / "absent.txt"
    with pytest.raises(InstanceFormatError) as caught:
        read_instance(path)
    assert str(caught.value).startswith(f"{path}: cannot read file")
    assert caught.value.line is None


# ---------------------------------------------------------------------------------------------
# Malformed input: one-line errors naming source, line and problem
# ---------------------------------------------------------------------------------------------

SOURCE = "bad.txt"
TAILLARD_TINY = [
    "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound",
    "2 3 0 0 0 0",
    "Times",
    "5 6 7",
    "1 2 3",
    "Machines",
    "3 1 2",
    "2 3 1",
]


def taillard(replace: dict[int, str] | None = None, keep: int = len(TAILLARD_TINY)) -> str:
    """TAILLARD_TINY with lines replaced (by 1-based line number) and cut after ``keep`` lines."""
    lines = [(replace or {}).get(number, line) for number, line in enumerate(TAILLARD_TINY, start=1)]
    return "\n".join(lines[:keep]) + "\n"


JSON_BASE = {
    "format": "jssp-instance/1",
    "name": "tiny",
    "num_jobs": 2,
    "num_machines": 2,
    "machines": [[0, 1], [1, 0]],
    "durations": [[3, 2], [4, 1]],
}


def json_doc(drop: str | None = None, **changes: object) -> str:
    document = {key: value for key, value in {**JSON_BASE, **changes}.items() if key != drop}
    return json.dumps(document)


def orlib_two_instances() -> str:
    return format_orlib(benchmarks.load("ft06")) + format_orlib(benchmarks.load("la01"))


# (id, content, expected line (None = whole file), fragment of the reason)
MALFORMED: list[tuple[str, str | bytes, int | None, str]] = [
    ("empty", b"", None, "file is empty"),
    ("whitespace-only", " \n\t\r\n  \n", None, "file is empty"),
    ("comments-only", "# nothing\n# here\n", None, "no header found"),
    ("header-one-number", "6\n0 1\n", 1, "header needs two integers (jobs machines), found 1"),
    ("header-three-tokens", "2 2 7\n0 1 1 2\n1 2 0 1\n", 1, "header must be two integers 'jobs machines', found 3"),
    ("header-not-numbers", "jobs machines\n", 1, "header: token 1 'jobs' is not an integer"),
    ("truncated", "3 2\n0 1 1 2\n1 2 0 1\n", 3, "truncated: expected 3 job lines after the header, found 2"),
    ("header-only", "2 2\n", 1, "truncated: expected 2 job lines after the header, found 0"),
    ("odd-count", "2 2\n0 1 1 2\n1 2 0\n", 3, "job 1 has 3 numbers, expected machine/duration pairs"),
    ("odd-count-before-terminator", "2 2\n0 1 1 -1 -1\n1 2 0 1\n", 2, "job 0 has 5 numbers, expected machine/d"),
    ("terminator-only", "2 2\n0 1 1 2 -1 -1\n-1 -1\n", 3, "job 1 has no operations; every job needs at least one"),
    ("machine-too-big", "2 2\n0 1 2 2\n1 2 0 1\n", 2, "job 0 operation 1: machine 2 outside 0..1"),
    ("machine-negative", "2 2\n0 1 1 2\n-1 2 0 1\n", 3, "job 1 operation 0: machine -1 outside 0..1"),
    ("machine-beyond-header", "2 3\n0 1 1 2 3 3\n1 2 0 1 1 5\n", 2, "job 0 operation 2: machine 3 outside 0..2"),
    ("negative-duration", "2 2\n0 1 1 -2\n1 2 0 1\n", 2, "job 0 operation 1: negative duration -2"),
    ("duration-too-large", "1 1\n0 1000000001\n", 2, "duration 1000000001 > 1000000000"),
    ("float-duration", "2 2\n0 3.5 1 2\n1 2 0 1\n", 2, "job 0: token 2 '3.5' is not an integer"),
    ("exponent-duration", "2 2\n0 1 1 1e3\n1 2 0 1\n", 2, "job 0: token 4 '1e3' is not an integer"),
    ("word-duration", "2 2\n0 1 1 2\n1 abc 0 1\n", 3, "job 1: token 2 'abc' is not an integer"),
    ("absurd-size", "100000 100000\n0 1\n", 1, "size 100000x100000 is larger than supported"),
    (
        "too-many-operations",
        "5000 500\n" + " ".join(f"{op % 500} 1" for op in range(201)) + "\n",
        2,
        "job 0 has 201 operations: 5000 jobs x 201 operations is larger than supported",
    ),
    ("zero-jobs", "0 5\n", 1, "size 0x5: need at least one job and one machine"),
    ("zero-machines", "3 0\n", 1, "size 3x0: need at least one job and one machine"),
    ("negative-jobs", "-2 2\n", 1, "size -2x2: need at least one job"),
    ("nul-byte", b"2 2\n0 1\x00 1 2\n1 2 0 1\n", 2, "not a text file (contains NUL bytes)"),
    ("every-byte", bytes(range(256)), 2, "not a text file (undecodable byte at offset 128)"),
    ("invalid-utf8", b"2 2\n0 1 1 2\n\xff\xfe 1\n", 3, "not a text file (undecodable byte at offset 12)"),
    ("trailing-data", "2 2\n0 1 1 2\n1 2 0 1\n5 5\n", 4, "unexpected data after the 2 job lines"),
    ("bad-line-after-blanks", "# a comment\n\n2 2\n\n0 1 1 2\n\n1 2 0\n", 7, "job 1 has 3 numbers, expected m"),
    ("bad-line-after-blanks-crlf", "# a comment\r\n\r\n2 2\r\n\r\n0 1 1 2\r\n\r\n1 2 0\r\n", 7, "job 1 has 3 numbers"),
    ("truncated-after-blanks", "2 2\n\n0 1 1 2\n\n\n", 3, "truncated: expected 2 job lines after the header, found 1"),
    ("taillard-times-row-short", taillard({5: "1 2"}), 5, "Times row 1 has 2 numbers, expected 3"),
    ("taillard-times-rows-missing", taillard({5: "# gone"}), 3, "Times matrix has 1 rows, expected 2"),
    ("taillard-no-machines", taillard(keep=5), 5, "'Times' matrix without a 'Machines' matrix"),
    ("taillard-machine-zero", taillard({7: "3 0 2"}), 7, "job 0 operation 1: machine 0 outside 1..3"),
    ("taillard-machine-four", taillard({8: "2 4 1"}), 8, "job 1 operation 1: machine 4 outside 1..3"),
    ("taillard-repeated-machine", taillard({8: "2 2 1"}), 8, "job 1 operation 1: machine 2 visited twice"),
    ("taillard-negative-time", taillard({4: "5 -6 7"}), 4, "job 0 operation 1: negative duration -6"),
    ("taillard-no-header", taillard({2: "# gone"}), 1, "expected one numeric header line"),
    ("orlib-two-instances", orlib_two_instances(), 17, "file holds 2 instances"),
    ("orlib-trailing-data", format_orlib(benchmarks.load("ft06")) + "1 2 3\n", 15, "unexpected data after the job"),
    ("orlib-no-block", " +++\n instance foo\n +++\n", None, "OR-Library block without a 'jobs machines' line"),
    ("orlib-instance-without-name", " +++\n instance\n 1 1\n 0 3\n", 2, "expected 'instance NAME'"),
    ("json-invalid", '{\n "format": "jssp-instance/1",\n "num_jobs": ,\n}', 3, "invalid JSON: Expecting value"),
    ("json-unterminated", '{"format": "jssp-instance/1"', 1, "invalid JSON"),
    ("json-too-deep", "{" + '"a": ' + "[" * 100_000 + "]" * 100_000 + "}", None, "invalid JSON: nested too deeply"),
    ("json-missing-field", json_doc(drop="durations"), 1, "JSON instance lacks the field 'durations'"),
    ("json-missing-format", json_doc(drop="format"), 1, "JSON is not a jssp-instance/1 document (format=None)"),
    ("json-wrong-format", json_doc(format="jssp-instance/2"), 1, "format='jssp-instance/2'"),
    ("json-bool-size", json_doc(num_jobs=True), 1, "num_jobs and num_machines must be integers"),
    ("json-float-size", json_doc(num_machines=2.0), 1, "num_jobs and num_machines must be integers"),
    (
        "json-bool-machine",
        json_doc(machines=[[0, True], [1, 0]]),
        1,
        "machines[0] holds a value that is not an integer",
    ),
    ("json-float-duration", json_doc(durations=[[3, 2], [4.0, 1]]), 1, "durations[1] holds a value that is not an int"),
    ("json-too-few-rows", json_doc(num_jobs=3), 1, "'machines' must be a list of 3 rows"),
    ("json-short-row", json_doc(durations=[[3, 2], [4]]), 1, "machines[1] and durations[1] differ in length (2 and 1)"),
    ("json-empty-row", json_doc(machines=[[0, 1], []]), 1, "machines[1] must be a non-empty list of integers"),
    ("json-rows-not-list", json_doc(machines="0 1 1 0"), 1, "'machines' must be a list of 2 rows"),
    ("json-machine-beyond", json_doc(machines=[[0, 2], [1, 0]]), 1, "job 0 operation 1: machine 2 outside 0..1"),
    ("json-negative-duration", json_doc(durations=[[3, -2], [4, 1]]), 1, "job 0 operation 1: negative duration -2"),
    ("json-huge-duration", json_doc(durations=[[3, 10**17], [4, 1]]), 1, f"duration {10**17} > 1000000000"),
    ("json-huge-machine", json_doc(machines=[[0, 1], [2**59, 0]]), 1, f"machine {2**59} outside 0..1"),
    ("json-beyond-int64", json_doc(machines=[[0, 1], [2**64, 0]]), 1, f"integer {2**64} is too large (more than 18"),
    (
        "json-5000-digits",
        json_doc().replace('"durations"', '\n"durations"').replace("[4, 1]", "\n[4, " + "9" * 5000 + "]"),
        3,
        "integer 99999999999999999999... (5000 characters) is too large (more than 18 digits)",
    ),
    ("19-digits", "1 1\n0 1000000000000000000\n", 2, "job 0: token 2: integer 1000000000000000000 is too large"),
    ("5000-digit-duration", "2 2\n0 1 1 2\n1 " + "9" * 5000 + " 0 1\n", 3, "job 1: token 2: integer 9999"),
    ("5000-digit-header", "9" * 5000 + " 2\n", 1, "header: token 1: integer 99999999999999999999... (5000 char"),
    ("taillard-5000-digit-seed", taillard({2: "2 3 " + "9" * 5000 + " 0 0 0"}), 2, "Taillard header: token 3: integer"),
    ("orlib-5000-digit-duration", " +++\n instance x\n 1 1\n 0 " + "9" * 5000 + "\n", 4, "job 0: token 2: integer"),
    ("json-absurd-size", json_doc(num_jobs=10**6, num_machines=10**6), 1, "is larger than supported"),
]


@pytest.mark.parametrize(
    ("content", "line", "fragment"), [case[1:] for case in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_input_raises_a_one_line_error(content, line, fragment):
    with pytest.raises(InstanceFormatError) as caught:
        parse_instance(content, source=SOURCE)
    error = caught.value
    message = str(error)
    assert "\n" not in message and "\r" not in message
    assert error.source == SOURCE
    assert error.line == line, message
    prefix = f"{SOURCE}:{line}: " if line is not None else f"{SOURCE}: "
    assert message.startswith(prefix), message
    assert fragment in error.reason, message
    assert message == prefix + error.reason


@pytest.mark.parametrize(
    ("content", "routes"),
    [
        ("2 2\n0 1 1 2 0 3\n1 2 0 1\n", [[(0, 1), (1, 2), (0, 3)], [(1, 2), (0, 1)]]),  # a longer route
        ("2 3\n0 1 1 2 2 3\n1 2 0 1 1 5\n", [[(0, 1), (1, 2), (2, 3)], [(1, 2), (0, 1), (1, 5)]]),  # re-entrant
        ("2 3\n2 4\n1 2 0 1 1 5 -1 -1\n", [[(2, 4)], [(1, 2), (0, 1), (1, 5)]]),  # short, Da Col & Teppan's end
    ],
    ids=["longer-than-machines", "recirculation", "short-and-terminated"],
)
def test_job_lines_of_any_length_parse_as_general_routes(content, routes):
    """Lines the classical parser refused (too many numbers, a machine visited twice) are general routes now."""
    instance = parse_instance(content)
    assert [instance.route(job) for job in range(instance.num_jobs)] == routes
    assert instance.num_machines == int(content.split()[1]) and not instance.is_classical
    assert parse_instance(format_standard(instance)) == instance


def test_json_with_a_repeated_machine_is_a_general_route():
    instance = parse_instance(json_doc(machines=[[0, 0], [1, 0]]))
    assert instance.route(0) == [(0, 3), (0, 2)] and not instance.is_classical


def test_leading_zeros_do_not_count_as_digits():
    instance = parse_instance("1 2\n0 " + "0" * 30 + "7 +1 000000000000000000000\n")
    assert instance.durations.tolist() == [[7, 0]] and instance.machines.tolist() == [[0, 1]]
    document = json.loads(json_doc())
    assert parse_instance(json.dumps(document).replace("[3, 2]", "[3, -0]")).durations.tolist() == [[3, 0], [4, 1]]


def test_format_errors_are_value_errors():
    assert issubclass(InstanceFormatError, ValueError)


def test_random_binary_junk_is_rejected_as_not_text():
    rng = random.Random(5)
    for _ in range(20):
        junk = bytearray(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        junk.insert(rng.randrange(len(junk) + 1), 0)
        with pytest.raises(InstanceFormatError) as caught:
            parse_instance(bytes(junk), source="junk.bin")
        assert caught.value.reason.startswith("not a text file"), str(caught.value)
        assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Fuzzing: mutated ft06 either parses to a valid instance or raises InstanceFormatError
# ---------------------------------------------------------------------------------------------

FUZZ_ALPHABET = "0123456789 -+\n\t\r.#xeE{}[]\x00\u00e9"


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Apply one to four random deletions, insertions or replacements (characters or raw bytes)."""
    raw = rng.random() < 0.3
    buffer = bytearray(data) if raw else list(data.decode())
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(buffer) + 1)
        fresh = rng.randrange(256) if raw else rng.choice(FUZZ_ALPHABET)
        kind = rng.choice(("delete", "insert", "replace"))
        if kind == "insert" or position == len(buffer):
            buffer.insert(position, fresh)
        elif kind == "delete":
            del buffer[position]
        else:
            buffer[position] = fresh
    return bytes(buffer) if raw else "".join(buffer).encode()


def test_mutated_ft06_parses_or_raises_instance_format_error():
    original = (benchmarks.instances_dir() / "ft06.txt").read_bytes()
    rng = random.Random(20_240_601)
    parsed = rejected = 0
    for _ in range(300):
        data = mutate(original, rng)
        try:
            instance = parse_instance(data, source="fuzz.txt")
        except InstanceFormatError as error:
            rejected += 1
            assert "\n" not in str(error) and str(error).startswith("fuzz.txt"), repr(data)
        else:
            parsed += 1
            instance.check()
            assert parse_instance(format_standard(instance)) == instance
    # Both outcomes must occur, otherwise the mutations are not exercising the parser.
    assert parsed >= 10 and rejected >= 100, (parsed, rejected)
