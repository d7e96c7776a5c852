"""Gantt charts of schedules as PNG files: one lane per machine, one colour per job.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas, never through
``pyplot``, so plotting holds no global state and needs no display.
"""

from __future__ import annotations

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

from jssp.schedule import Schedule

# Jobs beyond this many get no legend: it would be taller than the chart and the colours
# of neighbouring entries could not be told apart anyway; bars carry the job index instead.
MAX_LEGEND_JOBS = 20

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


def gantt_figure(schedule: Schedule, title: str | None = None, best_known: int | None = None) -> Figure:
    """Draw ``schedule`` as a Gantt chart and return the figure (attached to an Agg canvas).

    Args:
        schedule: the schedule to draw; operations of zero duration are drawn as zero-width bars.
        title: figure title; defaults to ``"<instance> — <method> — makespan N"``.
        best_known: best known makespan of the instance; drawn as a dashed line when given.
    """
    instance = schedule.instance
    num_jobs, num_machines = instance.num_jobs, instance.num_machines
    makespan = schedule.makespan
    colors = job_colors(num_jobs)

    # Column m of these holds every job's operation on machine m.
    # op_on_machine, starts, durations: (num_jobs, num_machines)
    op_on_machine = np.argsort(instance.machines, axis=1)
    starts = np.take_along_axis(schedule.start_times, op_on_machine, axis=1)
    durations = np.take_along_axis(instance.durations, op_on_machine, axis=1)

    width_in = float(np.clip(8.0 + 0.12 * num_jobs, 10.0, 22.0))
    height_in = max(3.2, 1.4 + _LANE_HEIGHT_IN * num_machines)
    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    for machine in range(num_machines):
        axes.broken_barh(
            np.column_stack([starts[:, machine], durations[:, machine]]),  # type: ignore[arg-type]
            (machine - _BAR_HEIGHT / 2, _BAR_HEIGHT),
            facecolors=colors,
            edgecolors=_EDGE_COLOR,
            linewidths=0.4,
        )

    horizon = max(makespan, best_known or 0, 1)
    axes.set_xlim(0, horizon * 1.02)
    axes.set_ylim(num_machines - 0.5, -0.5)  # machine 0 at the top
    axes.set_yticks(range(num_machines), [f"M{machine}" for machine in range(num_machines)])
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
    _label_bars(axes, starts, durations, colors)
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
    axes: Axes, starts: npt.NDArray[np.int64], durations: npt.NDArray[np.int64], colors: npt.NDArray[np.float64]
) -> None:
    """Write the job index inside every bar wide enough to hold it (the layout must be final).

    Shapes:
        starts, durations: ``(num_jobs, num_machines)``, column m for machine m.
        colors: ``(num_jobs, 4)``.
    """
    axes_width_pt = axes.get_position().width * axes.get_figure().get_figwidth() * 72  # type: ignore[union-attr]
    x_min, x_max = axes.get_xlim()
    points_per_time = axes_width_pt / (x_max - x_min)
    num_jobs = starts.shape[0]
    digits = len(str(num_jobs - 1))
    # Digits of DejaVu Sans are 0.64 em wide; keep a little margin on each side.
    min_width_pt = digits * 0.64 * _LABEL_FONTSIZE + 3.0
    luminance = colors[:, :3] @ np.array([0.299, 0.587, 0.114])
    text_colors = np.where(luminance < 0.5, "white", "black")
    for job, machine in np.argwhere(durations * points_per_time >= min_width_pt):
        axes.text(
            starts[job, machine] + durations[job, machine] / 2, machine, str(job),
            ha="center", va="center", fontsize=_LABEL_FONTSIZE, color=text_colors[job], clip_on=True,
        )  # fmt: skip


def plot_gantt(
    schedule: Schedule,
    path: str | Path | BinaryIO,
    title: str | None = None,
    best_known: int | None = None,
    dpi: int = 120,
) -> None:
    """Write ``schedule`` as a Gantt chart PNG to ``path``, a file name or a binary stream (see :func:`gantt_figure`).

    The figure never enters pyplot's registry, so there is nothing to close: it is freed with
    the last reference to it.
    """
    figure = gantt_figure(schedule, title=title, best_known=best_known)
    figure.savefig(path, dpi=dpi, format="png")
