"""Gantt charts of schedules as PNG files: one lane per machine (the busiest 100 beyond that), one colour per job.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas, never through
``pyplot``, so plotting holds no global state and needs no display.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch

from jssp.files import write_atomically
from jssp.schedule import Schedule

# Jobs beyond this many get no legend: it would be taller than the chart and the colours
# of neighbouring entries could not be told apart anyway; bars carry the job index instead.
MAX_LEGEND_JOBS = 20
MAX_GANTT_MACHINES = 100
"""Most machine lanes a chart draws (a 100-lane chart is about 40 inches tall); beyond it, the busiest machines."""

_LANE_HEIGHT_IN = 0.38  # height of one machine lane, inches
_BAR_HEIGHT = 0.8  # fraction of a lane filled by the bars
_LABEL_FONTSIZE = 7.0  # points, job index inside a bar
_GOLDEN_RATIO_CONJUGATE = 0.618033988749895
_MAKESPAN_COLOR = "#c0392b"
_BEST_KNOWN_COLOR = "#2c3e50"
_EDGE_COLOR = "0.15"


def job_colors(num_jobs: int) -> npt.NDArray[np.float64]:
    """One RGBA colour per job, as distinguishable as the number of jobs allows.

    Up to 10 jobs use ``tab10`` and up to 20 ``tab20`` (qualitative maps). Beyond that hues are
    spread by the golden ratio, so that consecutive jobs get far-apart hues, and three
    saturation/brightness levels are cycled so that jobs whose hues land close still differ.

    Shapes:
        returns ``(num_jobs, 4)``.
    """
    if num_jobs <= 20:
        palette = colormaps["tab10" if num_jobs <= 10 else "tab20"].colors  # type: ignore[attr-defined]
        return to_rgba_array(palette[:num_jobs])
    jobs = np.arange(num_jobs)
    hue = (jobs * _GOLDEN_RATIO_CONJUGATE) % 1.0
    saturation = np.array([0.55, 0.80, 0.40])[jobs % 3]
    value = np.array([0.95, 0.80, 0.88])[jobs % 3]
    rgb = hsv_to_rgb(np.column_stack([hue, saturation, value]))
    return np.column_stack([rgb, np.ones(num_jobs)])


def busiest_machines(schedule: Schedule, count: int) -> npt.NDArray[np.int64]:
    """The ``count`` machines with the most processing time (ties: lower index), in index order."""
    loads = schedule.instance.machine_loads()
    chosen = np.argsort(-loads, kind="stable")[:count]
    return np.sort(chosen).astype(np.int64)


def gantt_figure(
    schedule: Schedule,
    title: str | None = None,
    best_known: int | None = None,
    max_machines: int = MAX_GANTT_MACHINES,
) -> Figure:
    """Draw ``schedule`` as a Gantt chart and return the figure (attached to an Agg canvas).

    One lane per machine holds every operation on it, whatever the routes: a job that visits a
    machine several times has several bars in its lane, and a machine no job visits has an empty
    lane. Lanes stay readable up to about :data:`MAX_GANTT_MACHINES` machines; beyond
    ``max_machines`` only the busiest machines (most processing time) get a lane, in index order
    and labelled with their own index, and a second title line says how many of how many are shown.

    Args:
        schedule: the schedule to draw; operations of zero duration are drawn as zero-width bars.
        title: figure title; defaults to ``"<instance> — <method> — makespan N"``.
        best_known: best known makespan of the instance; drawn as a dashed line when given.
        max_machines: most machine lanes drawn.
    """
    instance = schedule.instance
    num_jobs, num_machines = instance.num_jobs, instance.num_machines
    makespan = schedule.makespan
    colors = job_colors(num_jobs)
    shown = np.arange(num_machines) if num_machines <= max_machines else busiest_machines(schedule, max_machines)
    # lane_of: (num_machines,) lane of each machine, -1 for a machine left out
    lane_of = np.full(num_machines, -1, dtype=np.int64)
    lane_of[shown] = np.arange(len(shown))

    # One entry per operation drawn, grouped by lane (the order of the bar collections).
    # jobs, lanes, starts, durations: (num_operations_drawn,)
    jobs, ops = np.nonzero(instance.valid)
    lanes = lane_of[instance.machines[jobs, ops]]
    order = np.argsort(lanes, kind="stable")
    order = order[lanes[order] >= 0]
    jobs, ops, lanes = jobs[order], ops[order], lanes[order]
    starts, durations = schedule.start_times[jobs, ops], instance.durations[jobs, ops]
    bounds = np.searchsorted(lanes, np.arange(len(shown) + 1))

    width_in = float(np.clip(8.0 + 0.12 * num_jobs, 10.0, 22.0))
    height_in = max(3.2, 1.4 + _LANE_HEIGHT_IN * len(shown))
    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    for lane in range(len(shown)):
        bars = slice(bounds[lane], bounds[lane + 1])
        axes.broken_barh(
            np.column_stack([starts[bars], durations[bars]]),  # type: ignore[arg-type]
            (lane - _BAR_HEIGHT / 2, _BAR_HEIGHT),
            facecolors=colors[jobs[bars]],
            edgecolors=_EDGE_COLOR,
            linewidths=0.4,
        )

    horizon = max(makespan, best_known or 0, 1)
    axes.set_xlim(0, horizon * 1.02)
    axes.set_ylim(len(shown) - 0.5, -0.5)  # first lane at the top
    axes.set_yticks(range(len(shown)), [f"M{machine}" for machine in shown])
    axes.set_xlabel("time")
    axes.grid(axis="x", color="0.85", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.tick_params(axis="y", length=0)

    # The label of the later line goes to its right, the other to its left, so they never overlap.
    makespan_is_later = best_known is None or makespan >= best_known
    _mark_time(axes, makespan, f"Cmax = {makespan}", makespan_is_later, _MAKESPAN_COLOR)
    if best_known is not None:
        best_label = f"best known = {best_known}"
        _mark_time(axes, best_known, best_label, not makespan_is_later, _BEST_KNOWN_COLOR, dashed=True)

    if title is None:
        parts = [instance.name, schedule.method, f"makespan {makespan}"]
        title = " — ".join(part for part in parts if part)
    if len(shown) < num_machines:
        title += f"\nonly the {len(shown)} busiest of {num_machines} machines are shown (most processing time)"
    axes.set_title(title, pad=14)

    if num_jobs <= MAX_LEGEND_JOBS:
        rows_that_fit = max(1, int((height_in - 1.2) * 72 / (9 * 1.5)))
        handles = [Patch(facecolor=color, edgecolor=_EDGE_COLOR, linewidth=0.4) for color in colors]
        axes.legend(
            handles=handles, labels=[f"J{job}" for job in range(num_jobs)],
            loc="upper left", bbox_to_anchor=(1.005, 1.0), ncols=math.ceil(num_jobs / rows_that_fit),
            fontsize=8, title="job", title_fontsize=8, frameon=False, handlelength=1.2, columnspacing=0.8,
        )  # fmt: skip

    # Lay out once, before the bar labels, with an engine left unattached: labels are chosen by
    # bar width in points, so the axes must not move afterwards, and an attached engine would
    # make savefig run a second, full layout pass over every label.
    ConstrainedLayoutEngine().execute(figure)
    _label_bars(axes, jobs, lanes, starts, durations, colors)
    return figure


def _mark_time(axes: Axes, time: int, label: str, label_right: bool, color: str, dashed: bool = False) -> None:
    """Vertical line at ``time`` with ``label`` just above the axes, to its right or left."""
    axes.axvline(time, color=color, linewidth=1.2 if dashed else 1.6, linestyle="--" if dashed else "-")
    axes.text(
        time, 1.0, f" {label} " if label_right else f"{label} ", transform=axes.get_xaxis_transform(),
        ha="left" if label_right else "right", va="bottom", color=color, fontsize=9,
        fontweight="normal" if dashed else "bold",
    )  # fmt: skip


def _label_bars(
    axes: Axes,
    jobs: npt.NDArray[np.int64],
    lanes: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    durations: npt.NDArray[np.int64],
    colors: npt.NDArray[np.float64],
) -> None:
    """Write the job index inside every bar wide enough to hold it (the layout must be final).

    Shapes:
        jobs, lanes, starts, durations: ``(num_bars,)``, one entry per bar.
        colors: ``(num_jobs, 4)``.
    """
    axes_width_pt = axes.get_position().width * axes.get_figure().get_figwidth() * 72  # type: ignore[union-attr]
    x_min, x_max = axes.get_xlim()
    points_per_time = axes_width_pt / (x_max - x_min)
    digits = len(str(colors.shape[0] - 1))
    # Digits of DejaVu Sans are 0.64 em wide; keep a little margin on each side.
    min_width_pt = digits * 0.64 * _LABEL_FONTSIZE + 3.0
    luminance = colors[:, :3] @ np.array([0.299, 0.587, 0.114])
    text_colors = np.where(luminance < 0.5, "white", "black")
    for bar in np.flatnonzero(durations * points_per_time >= min_width_pt):
        job = int(jobs[bar])
        axes.text(
            starts[bar] + durations[bar] / 2, lanes[bar], str(job),
            ha="center", va="center", fontsize=_LABEL_FONTSIZE, color=text_colors[job], clip_on=True,
        )  # fmt: skip


def plot_gantt(
    schedule: Schedule,
    path: str | Path | BinaryIO,
    title: str | None = None,
    best_known: int | None = None,
    dpi: int = 120,
    max_machines: int = MAX_GANTT_MACHINES,
) -> None:
    """Write ``schedule`` as a Gantt chart PNG to ``path``, a file name or a binary stream (see :func:`gantt_figure`).

    The figure never enters pyplot's registry, so there is nothing to close: it is freed with
    the last reference to it.
    """
    figure = gantt_figure(schedule, title=title, best_known=best_known, max_machines=max_machines)
    save_png(figure, path, dpi)


def save_png(figure: Figure, path: str | Path | BinaryIO, dpi: int) -> None:
    """Write ``figure`` as PNG to a binary stream, or to a file through :func:`~jssp.files.write_atomically`
    (a kill never leaves half a chart; a FIFO or device is written into)."""
    if not isinstance(path, (str, Path)):
        figure.savefig(path, dpi=dpi, format="png")
        return
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format="png")
    write_atomically(Path(path), buffer.getvalue())
