"""The benchmark catalogue: the committed fingerprint index matches the files, and recognises any layout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jssp import benchmarks
from jssp.instance import Instance
from jssp.parsing import format_json, format_standard, format_taillard, parse_instance


def test_committed_fingerprint_index_equals_the_one_recomputed_from_the_files(
    benchmark_instances: dict[str, Instance],
) -> None:
    path = benchmarks.instances_dir() / benchmarks.FINGERPRINTS_FILE
    document = json.loads(path.read_text())
    assert document["format"] == benchmarks.FINGERPRINTS_FORMAT
    recomputed = {instance.fingerprint(): name for name, instance in benchmark_instances.items()}
    assert len(recomputed) == 242  # no two benchmarks share their content
    assert document["instances"] == recomputed, "run: python -m jssp.benchmarks --write-fingerprints"


def test_write_fingerprints_rewrites_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "fingerprints.json"
    assert benchmarks.write_fingerprints(path) == 242
    committed = benchmarks.instances_dir() / benchmarks.FINGERPRINTS_FILE
    assert path.read_text() == committed.read_text()
    assert [entry.name for entry in tmp_path.iterdir()] == ["fingerprints.json"]  # no temporary file left


@pytest.mark.parametrize("name", ["ft06", "orb07", "ta42", "dmu80"])
def test_identify_recognises_a_benchmark_in_another_layout_and_name(
    benchmark_instances: dict[str, Instance], name: str
) -> None:
    instance = benchmark_instances[name]
    for text in (format_taillard(instance), format_json(instance.renamed("mine"))):
        info = benchmarks.identify(parse_instance(text, name="mine"))
        assert info is not None and info.name == name
    swapped = Instance(instance.machines, np.roll(instance.durations, 1, axis=0))
    assert benchmarks.identify(swapped) is None


def test_fingerprint_is_the_little_endian_hash_of_shape_machines_and_durations() -> None:
    instance = Instance(np.array([[0, 1], [1, 0]]), np.array([[3, 2], [4, 1]]))
    expected = hashlib.sha256()
    for values in ([2, 2], [0, 1, 1, 0], [3, 2, 4, 1]):
        expected.update(b"".join(value.to_bytes(8, "little", signed=True) for value in values))
    assert instance.fingerprint() == expected.hexdigest()


def test_identify_without_an_index_falls_back_to_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "instances"
    folder.mkdir()
    source = benchmarks.instances_dir()
    (folder / "bounds.json").write_text((source / "bounds.json").read_text())
    for name in benchmarks.select("all"):
        (folder / f"{name}.txt").symlink_to(source / f"{name}.txt")
    code = "from jssp import benchmarks; print(benchmarks.identify(benchmarks.load('la07').renamed('x')).name)"
    environment = {**os.environ, "JSSP_INSTANCES": str(folder)}
    command = [sys.executable, "-c", code]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    assert completed.stdout.strip() == "la07"


# ---------------------------------------------------------------------------------------------
# The very large family (Da Col & Teppan 2022): tai_J_M_K
# ---------------------------------------------------------------------------------------------

LARGE_SIZES = [(jobs, machines) for jobs in (10, 100, 1000) for machines in (10, 100, 1000)]


def test_catalogue_holds_the_90_large_instances_with_bounds_and_published_results() -> None:
    large = {name: info for name, info in benchmarks.catalogue().items() if info.family == "tai"}
    assert len(large) == 90
    assert sorted({(info.num_jobs, info.num_machines) for info in large.values()}) == LARGE_SIZES
    assert all(info.lower_bound <= info.best_known for info in large.values())
    info = large["tai_100_100_1"]
    assert (info.best_known, info.published["optalcp_2026.2_60s"]) == (76926, 89293)
    assert "cpsat_9.15_600s" not in large["tai_1000_1000_1"].published  # CP-SAT found nothing in 600 s


def test_selectors_of_the_large_family() -> None:
    assert benchmarks.select("tai:100x100") == [f"tai_100_100_{k}" for k in range(1, 11)]
    assert len(benchmarks.select("tai")) == 90
    assert benchmarks.select("tai")[:3] == ["tai_10_10_1", "tai_10_10_2", "tai_10_10_3"]
    assert benchmarks.select("tai_1000_100_9-tai_1000_100_10") == ["tai_1000_100_9", "tai_1000_100_10"]
    assert not any(name.startswith("tai") for name in benchmarks.select("all"))  # 'all' stays the classical 242


def test_shipped_large_files_match_their_checksums_and_fingerprints() -> None:
    folder = benchmarks.instances_dir() / "large"
    sums = dict(reversed(line.split()) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert len(sums) == 90
    shipped = sorted(folder.glob("tai_*.txt.gz"))
    assert len(shipped) == 80  # all but the ten 1000x1000 files
    for path in shipped:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[path.name], path.name
    index = json.loads((folder / benchmarks.FINGERPRINTS_FILE).read_text())["instances"]
    assert len(index) == 90
    for name in ("tai_10_10_1", "tai_100_100_7", "tai_1000_10_3"):
        instance = benchmarks.load(name)
        assert index[instance.fingerprint()] == name
        assert benchmarks.identify(instance.renamed("upload")).name == name


def test_a_large_instance_that_is_not_shipped_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(benchmarks.LARGE_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(benchmarks.InstanceNotAvailableError, match="JSSP_LARGE_INSTANCES"):
        benchmarks.load("tai_1000_1000_4")
    # A file in the folder the variable names is used (and wins over a shipped copy).
    small = benchmarks.load("tai_10_10_2")
    (tmp_path / "tai_10_10_2.txt").write_text(format_standard(small))
    assert benchmarks.instance_path("tai_10_10_2") == tmp_path / "tai_10_10_2.txt"
    assert benchmarks.load("tai_10_10_2") == small
