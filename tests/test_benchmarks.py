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
from jssp.parsing import format_json, format_taillard, parse_instance


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
    for name in benchmarks.catalogue():
        (folder / f"{name}.txt").symlink_to(source / f"{name}.txt")
    code = "from jssp import benchmarks; print(benchmarks.identify(benchmarks.load('la07').renamed('x')).name)"
    environment = {**os.environ, "JSSP_INSTANCES": str(folder)}
    command = [sys.executable, "-c", code]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    assert completed.stdout.strip() == "la07"
