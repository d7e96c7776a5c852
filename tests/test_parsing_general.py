"""Parsing instances with general routes: round trips through every writer that can hold them, the new
layouts (short and long job lines, Da Col & Teppan's ``-1 -1`` ends, JSPLib's JSON, OR-Library collections,
gzip), one-line errors for malformed general files, and the numpy fast path held to the token parser."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from jssp import benchmarks, parsing
from jssp.generators import random_general_instance
from jssp.instance import Instance
from jssp.parsing import (
    MAX_LISTED_NAMES,
    InputTooLargeError,
    InstanceFormatError,
    SeveralInstancesError,
    detect_layout,
    file_stem,
    format_json,
    format_jsplib,
    format_orlib,
    format_standard,
    format_taillard,
    instance_names,
    list_instances,
    parse_instance,
    read_instance,
    write_instance,
)

"""Da Col & Teppan's large instances (tai_J_M_K.txt.gz); the tests that read them skip when it is absent."""

GENERAL_WRITERS: dict[str, Callable[[Instance], str]] = {
    "standard": format_standard,
    "orlib": format_orlib,
    "json": format_json,
    "jsplib": format_jsplib,
}
NAMED_LAYOUTS = ("orlib", "json", "jsplib")
# Forces the token-by-token parser: the numpy fast path only reads ASCII text.
NON_ASCII_COMMENT = "# caf\u00e9\n"


def general_instances() -> list[Instance]:
    """Partial, long and re-entrant routes, single-operation jobs, unused machines, zero durations."""
    return [
        random_general_instance(8, 5, seed=1),
        random_general_instance(12, 4, seed=2, reentry=1.0),
        random_general_instance(6, 9, seed=3, route_lengths=(1, 1)),
        random_general_instance(20, 3, seed=4, route_lengths=(5, 12), low=0, high=3),
        Instance.from_routes([[(2, 5)], [(0, 1), (0, 2), (0, 3)]], name="two_jobs", num_machines=7),
    ]


def routes(instance: Instance) -> list[list[tuple[int, int]]]:
    return [instance.route(job) for job in range(instance.num_jobs)]


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(GENERAL_WRITERS))
def test_general_instances_round_trip_through_every_writer_that_holds_them(layout):
    for instance in general_instances():
        assert not instance.is_classical
        text = GENERAL_WRITERS[layout](instance)
        assert detect_layout(text) == layout
        parsed = parse_instance(text, name="given")
        assert parsed == instance, instance.name
        assert parsed.num_machines == instance.num_machines and routes(parsed) == routes(instance)
        assert parsed.name == (instance.name if layout in NAMED_LAYOUTS else "given")
        np.testing.assert_array_equal(parsed.lengths, instance.lengths)


@pytest.mark.parametrize("layout", list(GENERAL_WRITERS))
def test_write_instance_then_read_instance_plain_and_gzip(tmp_path, layout):
    instance = general_instances()[0]
    path = tmp_path / f"shop_{layout}.txt"
    write_instance(instance, path, layout=layout)
    compressed = tmp_path / f"shop_{layout}.txt.gz"
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    for candidate in (path, compressed):
        read = read_instance(candidate)
        assert read == instance
        assert read.name == (instance.name if layout in NAMED_LAYOUTS else f"shop_{layout}")


def test_standard_writer_writes_one_pair_per_operation():
    instance = Instance.from_routes([[(2, 5)], [(0, 1), (0, 2), (1, 3)]], name="x", num_machines=4)
    assert format_standard(instance) == "2 4\n2 5\n0 1 0 2 1 3\n"
    assert json.loads(format_json(instance))["machines"] == [[2], [0, 0, 1]]


def test_jsplib_writer_and_reader_agree_with_the_classical_benchmarks(benchmark_instances):
    for name in ("ft06", "la01", "ta01"):
        instance = benchmark_instances[name]
        text = format_jsplib(instance)
        document = json.loads(text)
        assert (document["instance"], document["jobs"], document["machines"]) == (name, *instance.machines.shape)
        assert document["data"][1] == {
            "job": 0,
            "operation": 1,
            "machine": int(instance.machines[0, 1]),
            "duration": int(instance.durations[0, 1]),
        }
        assert parse_instance(text) == instance


def test_taillard_writer_refuses_general_routes():
    instance = general_instances()[0]
    with pytest.raises(ValueError, match="Taillard's layout holds only classical instances"):
        format_taillard(instance)
    classical = benchmarks.load("ft06")
    assert parse_instance(format_taillard(classical)) == classical


# ---------------------------------------------------------------------------------------------
# Hand-written files of each new layout
# ---------------------------------------------------------------------------------------------


def test_standard_lines_shorter_and_longer_than_the_machine_count():
    text = "# 3 jobs, 4 machines\n3 4\n1 10\n0 3 2 4 0 5 3 6 1 7\n3 1 2 2\n"
    instance = parse_instance(text, name="short")
    assert routes(instance) == [[(1, 10)], [(0, 3), (2, 4), (0, 5), (3, 6), (1, 7)], [(3, 1), (2, 2)]]
    assert (instance.num_jobs, instance.num_machines, instance.width, instance.num_operations) == (3, 4, 5, 8)
    assert instance.lengths.tolist() == [1, 5, 2]
    assert instance.machines[0].tolist() == [1, -1, -1, -1, -1] and instance.durations[0].tolist() == [10, 0, 0, 0, 0]


def test_da_col_teppan_terminators_are_dropped():
    text = "3 3\n0 617 2 40 -1 -1\n1 5 1 6 -1 -1\n2 9 -1 -1\n"
    instance = parse_instance(text)
    assert routes(instance) == [[(0, 617), (2, 40)], [(1, 5), (1, 6)], [(2, 9)]]
    assert detect_layout(text) == "standard"
    # Writing drops them; lines with and without terminators read the same.
    assert format_standard(instance) == "3 3\n0 617 2 40\n1 5 1 6\n2 9\n"
    assert parse_instance("3 3\n0 617 2 40\n1 5 1 6 -1 -1\n2 9\n") == instance


JSPLIB_TINY = """{"instance": "tiny", "family": "test", "machines": 3, "jobs": 2,
"data": [
{"job": 1, "operation": 0, "machine": 2, "duration": 7},
{"job": 0, "operation": 1, "machine": 0, "duration": 4},
{"job": 0, "operation": 0, "machine": 1, "duration": 3},
{"job": 0, "operation": 2, "machine": 1, "duration": 2}
]}
"""


def test_jsplib_json_records_in_any_order_zero_based():
    assert detect_layout(JSPLIB_TINY) == "jsplib"
    instance = parse_instance(JSPLIB_TINY, name="ignored")
    assert instance.name == "tiny" and instance.num_machines == 3
    assert routes(instance) == [[(1, 3), (0, 4), (1, 2)], [(2, 7)]]


ORLIB_PREAMBLE = """This file holds a few test instances.

Each instance is a line of description, a line with the number of jobs and machines,
then one line per job of machine and processing time pairs; machines count from 0.

 +++++++++++++++++++++++++++++
"""


def orlib_collection(instances: list[Instance]) -> str:
    blocks = [format_orlib(instance, description=f"test instance {instance.name}") for instance in instances]
    return ORLIB_PREAMBLE + "".join(blocks) + "\n+++++++++++++++++++ EOF +++++++++++++++++\n"


def test_orlib_collection_selects_an_instance_by_name(tmp_path):
    members = [benchmarks.load("ft06"), general_instances()[0].renamed("g1"), benchmarks.load("la01")]
    text = orlib_collection(members)
    assert detect_layout(text) == "orlib"
    assert instance_names(text) == ["ft06", "g1", "la01"]
    for member in members:
        selected = parse_instance(text, instance=member.name)
        assert selected == member and selected.name == member.name
    path = tmp_path / "collection.txt"
    path.write_text(text)
    assert list_instances(path) == ["ft06", "g1", "la01"]
    assert read_instance(path, instance="g1") == members[1]
    compressed = tmp_path / "collection.txt.gz"
    compressed.write_bytes(gzip.compress(text.encode()))
    assert list_instances(compressed) == ["ft06", "g1", "la01"]
    assert read_instance(compressed, instance="la01") == members[2]


def test_orlib_collection_without_a_name_lists_its_instances():
    members = [general_instances()[0].renamed(f"inst{index:02d}") for index in range(MAX_LISTED_NAMES + 5)]
    text = orlib_collection(members)
    with pytest.raises(SeveralInstancesError) as caught:
        parse_instance(text, source="many.txt")
    assert caught.value.names == [member.name for member in members]
    message = str(caught.value)
    second_instance_line = text.splitlines().index(" instance inst01") + 1
    assert message.startswith(f"many.txt:{second_instance_line}: file holds 25 instances (inst00, inst01, ")
    assert "inst19 and 5 more); select one by name" in message and "inst20" not in message
    with pytest.raises(InstanceFormatError) as caught:
        parse_instance(text, source="many.txt", instance="nope")
    assert str(caught.value).startswith("many.txt: no instance named 'nope'; the file holds 25: inst00, inst01")


def test_instance_name_must_match_a_single_instance_file(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text(format_standard(general_instances()[0]))
    assert list_instances(path) == ["one"]
    assert read_instance(path, instance="one").name == "one"
    with pytest.raises(InstanceFormatError, match=r"one.txt: no instance named 'two': the file holds one instance"):
        read_instance(path, instance="two")
    assert instance_names(JSPLIB_TINY) == ["tiny"]


# ---------------------------------------------------------------------------------------------
# gzip
# ---------------------------------------------------------------------------------------------


def test_file_stem_drops_gz_and_the_extension():
    assert file_stem("/data/tai_10_10_1.txt.gz") == "tai_10_10_1"
    assert file_stem("ta01.txt") == "ta01" and file_stem("shop.GZ") == "shop" and file_stem("x.json.gz") == "x"


def test_gzip_bytes_are_decompressed_with_a_bound_on_the_output():
    text = format_standard(general_instances()[1])
    assert parse_instance(gzip.compress(text.encode()), name="g") == general_instances()[1]
    assert parse_instance(gzip.compress(text.encode()[:20]) + gzip.compress(text.encode()[20:])) == parse_instance(
        text
    )  # two members in a row, as `cat a.gz b.gz` makes
    bomb = gzip.compress(b" " * 1_000_000)  # about 1 KB that inflates a thousandfold
    with pytest.raises(InputTooLargeError) as caught:
        parse_instance(bomb, source="bomb.gz", max_bytes=100_000)
    assert str(caught.value) == "bomb.gz: decompresses to more than the 100000 bytes allowed"
    with pytest.raises(InputTooLargeError, match="input is 1001 bytes, more than the 1000 allowed"):
        parse_instance(b" " * 1001, max_bytes=1000)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (gzip.compress(b"1 1\n0 5\n")[:-6], "not a valid gzip file (truncated)"),
        (gzip.compress(b"1 1\n0 5\n") + b"junk", "not a valid gzip file (data after the compressed stream)"),
        (b"\x1f\x8b" + b"\x00" * 20, "not a valid gzip file ("),
    ],
    ids=["truncated", "trailing-junk", "bad-header"],
)
def test_broken_gzip_is_one_line_error(data, fragment):
    with pytest.raises(InstanceFormatError) as caught:
        parse_instance(data, source="x.txt.gz")
    assert caught.value.line is None and fragment in str(caught.value) and "\n" not in str(caught.value)


def test_errors_inside_gzip_name_the_decompressed_line(tmp_path):
    path = tmp_path / "bad.txt.gz"
    path.write_bytes(gzip.compress(b"2 3\n0 5 -1 -1\n1 2 7 1\n"))
    with pytest.raises(InstanceFormatError) as caught:
        read_instance(path)
    assert str(caught.value) == f"{path}:3: job 1 operation 1: machine 7 outside 0..2"


# ---------------------------------------------------------------------------------------------
# Malformed general files: one FILE:LINE error
# ---------------------------------------------------------------------------------------------

SOURCE = "bad.txt"


def jsplib(**changes: object) -> str:
    document = json.loads(JSPLIB_TINY)
    document.update(changes)
    return json.dumps(document)


def jsplib_record(index: int, **changes: object) -> str:
    document = json.loads(JSPLIB_TINY)
    document["data"][index].update(changes)
    return json.dumps(document)


MALFORMED: list[tuple[str, str | bytes, int | None, str]] = [
    ("odd-count", "2 3\n0 5 1\n1 2\n", 2, "job 0 has 3 numbers, expected machine/duration pairs (an even count)"),
    ("odd-before-terminator", "2 3\n0 5\n1 2 0 -1 -1\n", 3, "job 1 has 5 numbers, expected machine/duration"),
    ("machine-outside", "2 3\n0 5 3 1\n1 2\n", 2, "job 0 operation 1: machine 3 outside 0..2"),
    ("terminator-mid-line", "2 3\n0 5 -1 -1 1 2\n1 2\n", 2, "job 0 operation 1: machine -1 outside 0..2"),
    ("only-terminator", "2 3\n0 5 -1 -1\n-1 -1\n", 3, "job 1 has no operations; every job needs at least one"),
    ("too-few-lines", "3 3\n0 5 -1 -1\n1 2 -1 -1\n", 3, "truncated: expected 3 job lines after the header, found 2"),
    ("too-many-lines", "2 3\n0 5\n1 2\n2 2\n", 4, "unexpected data after the 2 job lines"),
    ("lone-minus", "2 3\n0 5 1 - 1\n1 2\n", 2, "job 0: token 4 '-' is not an integer"),
    ("trailing-minus", "2 3\n0 5 1 -\n1 2\n", 2, "job 0: token 4 '-' is not an integer"),
    ("lone-plus", "2 3\n0 5\n1 + 2\n", 3, "job 1: token 2 '+' is not an integer"),
    ("negative-duration", "2 3\n0 5 2 -4\n1 2\n", 2, "job 0 operation 1: negative duration -4"),
    ("inline-comment", "2 3\n0 5 # first\n1 2\n", 2, "job 0: token 3 '#' is not an integer"),
    ("float", "2 3\n0 5\n1 2.0\n", 3, "job 1: token 2 '2.0' is not an integer"),
    ("underscore", "2 3\n0 1_000\n1 2\n", 2, "job 0: token 2 '1_000' is not an integer"),
    ("19-digits", "2 3\n0 5\n1 1000000000000000000\n", 3, "job 1: token 2: integer 1000000000000000000 is too large"),
    ("duration-too-large", "2 3\n0 5\n1 1000000001\n", 3, "job 1 operation 0: duration 1000000001 > 1000000000"),
    (
        "too-many-cells",
        "1000 3\n0 1\n" + " ".join(["1 1"] * 1001) + "\n",
        3,
        "job 1 has 1001 operations: 1000 jobs x 1001 operations is larger than supported (1000000 operation cells)",
    ),
    (
        "json-empty-route",
        json.dumps({**json.loads(format_json(general_instances()[4])), "durations": [[5], []]}),
        1,
        "durations[1] must be a non-empty list of integers",
    ),  # fmt: skip
    ("jsplib-no-jobs", jsplib(jobs=None), 1, "JSPLib JSON: 'jobs' and 'machines' must be integers"),
    ("jsplib-data-not-list", jsplib(data={}), 1, "JSPLib JSON: 'data' must be a non-empty list of operation records"),
    ("jsplib-missing-key", jsplib_record(2, duration=None), 1, "data[2]: 'duration' must be an integer, got None"),
    ("jsplib-record-not-object", jsplib(data=[[0, 0, 1, 3]]), 1, "data[0]: 'job' must be an integer, got None"),
    ("jsplib-bool", jsplib_record(1, machine=True), 1, "data[1]: 'machine' must be an integer, got True"),
    ("jsplib-job-outside", jsplib_record(3, job=2), 1, "data[3]: job 2 outside 0..1"),
    ("jsplib-machine-outside", jsplib_record(0, machine=3), 1, "data[0]: job 1 operation 0: machine 3 outside 0..2"),
    ("jsplib-negative-op", jsplib_record(0, operation=-1), 1, "data[0]: job 1 operation -1: operation numbers start"),
    ("jsplib-gap", jsplib_record(3, operation=3), 1, "data[3]: job 0 operation 3, but job 0 has 3 records"),
    ("jsplib-twice", jsplib_record(3, operation=1), 1, "data[3]: job 0 operation 1 given twice"),
    ("jsplib-duration", jsplib_record(1, duration=-4), 1, "data[1]: job 0 operation 1: duration -4 outside 0..1000"),
    ("jsplib-job-without-ops", jsplib_record(0, job=0, operation=3), 1, "job 1 has no operations"),
]


@pytest.mark.parametrize(
    ("content", "line", "fragment"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_general_file_raises_one_line_error(content, line, fragment):
    for data in (
        content,
        content.encode() if isinstance(content, str) else content,
        gzip.compress(str(content).encode()),
    ):
        with pytest.raises(InstanceFormatError) as caught:
            parse_instance(data, source=SOURCE)
        error = caught.value
        message = str(error)
        assert "\n" not in message and error.line == line, message
        assert message.startswith(f"{SOURCE}:{line}: " if line is not None else f"{SOURCE}: ")
        assert fragment in error.reason, message


def test_error_in_a_selected_orlib_instance_names_its_line_in_the_file():
    text = orlib_collection([benchmarks.load("ft06"), benchmarks.load("la01")])
    lines = text.splitlines()
    bad_line = lines.index(" instance la01") + 6  # rule, description, header, first job line (1-based)
    lines[bad_line - 1] += " 3"
    broken = "\n".join(lines) + "\n"
    assert parse_instance(broken, instance="ft06") == benchmarks.load("ft06")
    with pytest.raises(InstanceFormatError) as caught:
        parse_instance(broken, instance="la01", source="c.txt")
    assert (
        str(caught.value) == f"c.txt:{bad_line}: job 0 has 11 numbers, expected machine/duration pairs (an even count)"
    )


# ---------------------------------------------------------------------------------------------
# The numpy fast path reads exactly what the token parser reads
# ---------------------------------------------------------------------------------------------


def test_fast_path_and_token_parser_agree_on_every_benchmark_and_general_instance(benchmark_instances):
    for instance in [*benchmark_instances.values(), *general_instances()]:
        text = format_standard(instance)
        fast, slow = parse_instance(text), parse_instance(NON_ASCII_COMMENT + text)
        assert fast == slow == instance, instance.name


FUZZ_ALPHABET = "0123456789 -+\n\t\r#.e_"


def test_mutated_general_files_parse_the_same_on_both_paths_or_raise():
    """Whatever the fast path accepts, the token parser accepts identically (else it reports the error)."""
    rng = random.Random(11)
    header, *jobs = format_standard(random_general_instance(6, 4, seed=5)).splitlines()
    original = f"# general\n{header}\n" + "".join(f"{line} -1 -1\n" for line in jobs)
    parsed = rejected = 0
    for _ in range(400):
        characters = list(original)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(characters) + 1)
            kind = rng.choice(("delete", "insert", "replace"))
            if kind == "insert" or position == len(characters):
                characters.insert(position, rng.choice(FUZZ_ALPHABET))
            elif kind == "delete":
                del characters[position]
            else:
                characters[position] = rng.choice(FUZZ_ALPHABET)
        text = "".join(characters)
        try:
            fast = parse_instance(text, source="fuzz.txt")
        except InstanceFormatError as error:
            rejected += 1
            assert "\n" not in str(error) and str(error).startswith("fuzz.txt")
            with pytest.raises(InstanceFormatError):
                parse_instance(NON_ASCII_COMMENT + text)
        else:
            parsed += 1
            assert parse_instance(NON_ASCII_COMMENT + text) == fast, repr(text)
            assert parse_instance(format_standard(fast)) == fast
    assert parsed >= 40 and rejected >= 100, (parsed, rejected)


# ---------------------------------------------------------------------------------------------
# Da Col & Teppan's large instances, when present
# ---------------------------------------------------------------------------------------------


def large(name: str) -> Path:
    """A shipped ``tai`` file, or one of the 1000x1000 files when ``JSSP_LARGE_INSTANCES`` names their folder."""
    try:
        return benchmarks.instance_path(name)
    except benchmarks.InstanceNotAvailableError as error:
        pytest.skip(str(error))


def test_tai_10_10_1_is_a_classical_10x10_instance():
    instance = read_instance(large("tai_10_10_1"))
    assert instance.name == "tai_10_10_1" and instance.shape == "10x10" and instance.is_classical
    assert instance.route(0)[:3] == [(6, 324), (3, 70), (2, 639)]
    assert instance.trivial_lower_bound() <= 8219  # proven optimum (bounds.csv beside the file)


def test_tai_100_100_1_reads_the_same_on_both_paths():
    text = gzip.decompress(large("tai_100_100_1").read_bytes()).decode()
    fast = parse_instance(text)
    assert fast.shape == "100x100" and fast.is_classical
    assert parse_instance(NON_ASCII_COMMENT + text) == fast


def test_tai_1000_1000_1_takes_the_numpy_path(monkeypatch: pytest.MonkeyPatch):
    """A million operations go through the numpy path (token by token they take seconds; the time itself
    is measured by benchmarks/bench_scale.py, not asserted here)."""
    path = large("tai_1000_1000_1")

    def token_parser(*args: object) -> None:
        raise AssertionError("the token-by-token parser was used")

    monkeypatch.setattr(parsing, "_parse_standard", token_parser)
    instance = read_instance(path)
    assert instance.shape == "1000x1000" and instance.num_operations == 1_000_000 and instance.is_classical
