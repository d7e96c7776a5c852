"""Gantt charts: valid PNGs of the expected size, and bars, lines and labels where the schedule puts them."""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from jssp import benchmarks
from jssp.gantt import gantt_figure, job_colors, plot_gantt
from jssp.schedule import Schedule, schedule_from_sequences


def _jobs_in_index_order(name: str) -> Schedule:
    """Every machine processes the jobs in index order: feasible for any instance."""
    instance = benchmarks.load(name)
    sequences = np.tile(np.arange(instance.num_jobs), (instance.num_machines, 1))
    return schedule_from_sequences(instance, sequences, method="index-order")


@pytest.fixture(scope="module")
def ft06() -> Schedule:
    return _jobs_in_index_order("ft06")


@pytest.fixture(scope="module")
def ta71() -> Schedule:
    return _jobs_in_index_order("ta71")


def _read_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(path)


def test_ft06_png_has_the_figure_size_in_pixels(ft06: Schedule, tmp_path: Path) -> None:
    path = tmp_path / "ft06.png"
    plot_gantt(ft06, path, best_known=55, dpi=100)
    image = _read_png(path)
    width_in, height_in = gantt_figure(ft06).get_size_inches()
    assert image.shape[:2] == (round(height_in * 100), round(width_in * 100))
    assert 800 <= image.shape[1] <= 2400 and 250 <= image.shape[0] <= image.shape[1]
    # Something was drawn: the chart is not a blank canvas.
    assert np.unique(image.reshape(-1, image.shape[2]), axis=0).shape[0] > 10


def test_ta71_renders_quickly_and_gets_a_taller_figure(ft06: Schedule, ta71: Schedule, tmp_path: Path) -> None:
    path = tmp_path / "ta71.png"
    started = time.perf_counter()
    plot_gantt(ta71, path, best_known=5464)
    assert time.perf_counter() - started < 5.0
    image = _read_png(path)
    ft06_image = _read_png(_written(ft06, tmp_path / "ft06.png"))
    assert image.shape[0] > 2 * ft06_image.shape[0]
    assert image.shape[1] > ft06_image.shape[1]
    assert image.shape[:2] == tuple(round(size * 120) for size in gantt_figure(ta71).get_size_inches()[::-1])


def _written(schedule: Schedule, path: Path) -> Path:
    plot_gantt(schedule, path)
    return path


def test_one_bar_collection_per_machine_spanning_its_operations(ft06: Schedule) -> None:
    figure = gantt_figure(ft06)
    axes = figure.axes[0]
    lanes = [collection for collection in axes.collections if isinstance(collection, PolyCollection)]
    assert len(lanes) == ft06.instance.num_machines
    for machine, lane in enumerate(lanes):
        corners = [np.asarray(path.vertices) for path in lane.get_paths()]
        drawn = sorted((xy[:, 0].min(), xy[:, 0].max()) for xy in corners)
        expected = sorted((op["start"], op["end"]) for op in ft06.operations() if op["machine"] == machine)
        assert drawn == expected
        for xy in corners:
            assert (xy[:, 1].min() + xy[:, 1].max()) / 2 == pytest.approx(machine)
    assert [label.get_text() for label in axes.get_yticklabels()] == [f"M{m}" for m in range(6)]
    bottom, top = axes.get_ylim()
    assert top < bottom, "machine 0 must be the top lane"


def test_bar_labels_name_the_job_of_the_bar_they_sit_in(ft06: Schedule) -> None:
    axes = gantt_figure(ft06).axes[0]
    instance = ft06.instance
    labels = [text for text in axes.texts if text.get_text().isdigit()]
    assert len(labels) >= instance.num_operations // 2
    for label in labels:
        x, machine = label.get_position()
        job = int(label.get_text())
        op = int(np.flatnonzero(instance.machines[job] == machine)[0])
        assert x == pytest.approx(ft06.start_times[job, op] + instance.durations[job, op] / 2)


def test_makespan_and_best_known_lines_title_and_legend(ft06: Schedule) -> None:
    axes = gantt_figure(ft06, best_known=55).axes[0]
    lines = {line.get_linestyle(): np.asarray(line.get_xdata())[0] for line in axes.lines}
    assert lines == {"-": ft06.makespan, "--": 55}
    texts = {text.get_text().strip() for text in axes.texts}
    assert {f"Cmax = {ft06.makespan}", "best known = 55"} <= texts
    assert axes.get_title() == f"ft06 — index-order — makespan {ft06.makespan}"
    legend = axes.get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == [f"J{job}" for job in range(6)]

    plain = gantt_figure(ft06, title="custom").axes[0]
    assert plain.get_title() == "custom"
    assert [line.get_linestyle() for line in plain.lines] == ["-"]


def test_no_legend_beyond_twenty_jobs(ta71: Schedule) -> None:
    axes = gantt_figure(ta71).axes[0]
    assert axes.get_legend() is None
    assert len([c for c in axes.collections if isinstance(c, PolyCollection)]) == ta71.instance.num_machines


@pytest.mark.parametrize("num_jobs", [1, 6, 15, 20, 50, 100])
def test_job_colors_are_distinct_opaque_rgba(num_jobs: int) -> None:
    colors = job_colors(num_jobs)
    assert colors.shape == (num_jobs, 4)
    assert np.all(colors[:, 3] == 1.0) and np.all((colors >= 0) & (colors <= 1))
    assert np.unique(np.round(colors, 3), axis=0).shape[0] == num_jobs
