"""Gantt charts: valid PNGs of the expected size, and bars, lines and labels where the schedule puts them."""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from jssp import benchmarks
from jssp.gantt import MAX_GANTT_MACHINES, gantt_figure, job_colors, plot_gantt
from jssp.generators import random_general_instance
from jssp.instance import Instance
from jssp.rules import dispatch
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


# ---------------------------------------------------------------- general routes and many machines


def _lanes(axes) -> list[list[tuple[float, float]]]:
    """The (start, end) of every bar, lane by lane from the top."""
    lanes = [collection for collection in axes.collections if isinstance(collection, PolyCollection)]
    return [
        sorted(
            (float(xy[:, 0].min()), float(xy[:, 0].max())) for xy in (np.asarray(p.vertices) for p in lane.get_paths())
        )
        for lane in lanes
    ]


def _bars_of(schedule: Schedule, machine: int) -> list[tuple[float, float]]:
    return sorted((op["start"], op["end"]) for op in schedule.operations() if op["machine"] == machine)


@pytest.fixture(scope="module")
def general() -> Schedule:
    """Re-entrant and partial routes; machine 4 is visited by no job and keeps an empty lane."""
    routes = [[(0, 30), (1, 20), (0, 25)], [(1, 40)], [(2, 10), (0, 15), (2, 35), (3, 5)], [(3, 50), (3, 45)]]
    instance = Instance.from_routes(routes, name="reentrant", num_machines=5)
    return dispatch(instance, "mwkr")


def test_general_routes_draw_every_operation_in_its_machine_lane(general: Schedule) -> None:
    axes = gantt_figure(general).axes[0]
    assert _lanes(axes) == [_bars_of(general, machine) for machine in range(5)]
    assert len(_lanes(axes)[3]) == 3 and _lanes(axes)[4] == []  # job 3 twice on machine 3; machine 4 idle
    assert [label.get_text() for label in axes.get_yticklabels()] == [f"M{m}" for m in range(5)]
    assert axes.get_title() == f"reentrant — mwkr — makespan {general.makespan}"
    instance = general.instance
    labels = [text for text in axes.texts if text.get_text().isdigit()]
    assert len(labels) == instance.num_operations  # every bar is wide enough at this scale
    for label in labels:
        x, lane = label.get_position()
        job = int(label.get_text())
        centres = [
            general.start_times[job, op] + instance.durations[job, op] / 2
            for op in range(int(instance.lengths[job]))
            if instance.machines[job, op] == lane
        ]
        assert any(x == pytest.approx(centre) for centre in centres)


def test_general_schedule_png(general: Schedule, tmp_path: Path) -> None:
    path = tmp_path / "general.png"
    plot_gantt(general, path, dpi=80)
    assert _read_png(path).shape[:2] == tuple(
        round(size * 80) for size in gantt_figure(general).get_size_inches()[::-1]
    )


def test_beyond_max_machines_only_the_busiest_are_drawn_with_a_note(general: Schedule) -> None:
    # Loads: machine 0: 70, 1: 60, 2: 45, 3: 100, 4: 0.
    axes = gantt_figure(general, max_machines=3).axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["M0", "M1", "M3"]
    assert _lanes(axes) == [_bars_of(general, machine) for machine in (0, 1, 3)]
    assert axes.get_title().endswith("\nonly the 3 busiest of 5 machines are shown (most processing time)")
    assert all(text.get_position()[1] in (0, 1, 2) for text in axes.texts if text.get_text().isdigit())


def test_a_150_machine_schedule_draws_its_100_busiest_machines() -> None:
    instance = random_general_instance(12, MAX_GANTT_MACHINES + 50, seed=3, route_lengths=(20, 40))
    schedule = dispatch(instance, "mwkr")
    loads = instance.machine_loads()
    expected = np.sort(np.argsort(-loads, kind="stable")[:MAX_GANTT_MACHINES])
    assert loads[expected].min() >= np.delete(loads, expected).max()
    figure = gantt_figure(schedule)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == [f"M{machine}" for machine in expected]
    assert _lanes(axes) == [_bars_of(schedule, int(machine)) for machine in expected]
    assert "only the 100 busiest of 150 machines are shown" in axes.get_title()
    assert figure.get_size_inches()[1] == pytest.approx(1.4 + 0.38 * MAX_GANTT_MACHINES)


def test_exactly_max_machines_are_all_drawn() -> None:
    instance = random_general_instance(5, MAX_GANTT_MACHINES, seed=4, route_lengths=(30, 40))
    axes = gantt_figure(dispatch(instance, "spt")).axes[0]
    assert len(axes.get_yticklabels()) == MAX_GANTT_MACHINES and "\n" not in axes.get_title()
