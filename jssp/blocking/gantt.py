"""Gantt charts of blocking schedules: processing, blocked time and down intervals drawn distinctly.

One lane per machine (the busiest :data:`jssp.gantt.MAX_GANTT_MACHINES` beyond that). In a lane,
a machine's down intervals are grey hatched bands behind everything; each operation's processing
segments are solid bars in its job's colour; the time its job then holds the machine, blocked,
waiting for the next one, is a pale bar of the same colour with a hatch. Built on a bare
:class:`matplotlib.figure.Figure` with an Agg canvas, like :mod:`jssp.gantt`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch

from jssp.blocking.schedule import BlockingSchedule
from jssp.gantt import MAX_GANTT_MACHINES, MAX_LEGEND_JOBS, job_colors, save_png

_LANE_HEIGHT_IN = 0.38
_BAR_HEIGHT = 0.8
_BLOCKED_ALPHA = 0.35
_DOWN_COLOR = "0.55"
_EDGE_COLOR = "0.15"
_MAKESPAN_COLOR = "#c0392b"
_BEST_KNOWN_COLOR = "#2c3e50"


def blocking_gantt_figure(
    schedule: BlockingSchedule,
    title: str | None = None,
    best_known: int | None = None,
    max_machines: int = MAX_GANTT_MACHINES,
) -> Figure:
    """Draw ``schedule`` and return the figure (attached to an Agg canvas).

    Args:
        schedule: the schedule to draw.
        title: figure title; defaults to ``"<instance> — <method> — makespan N — shutdown rate p"``.
        best_known: a reference makespan (the shutdown-free best value) drawn as a dashed line.
        max_machines: most machine lanes drawn; beyond, the machines with most processing time.
    """
    instance = schedule.instance
    num_jobs, num_machines = instance.num_jobs, instance.num_machines
    makespan = schedule.makespan
    colors = job_colors(num_jobs)
    loads = instance.machine_loads()
    shown = (
        np.arange(num_machines)
        if num_machines <= max_machines
        else np.sort(np.argsort(-loads, kind="stable")[:max_machines])
    )
    lane_of = np.full(num_machines, -1, dtype=np.int64)
    lane_of[shown] = np.arange(len(shown))

    width_in = float(np.clip(8.0 + 0.12 * num_jobs, 10.0, 22.0))
    height_in = max(3.2, 1.6 + _LANE_HEIGHT_IN * len(shown))
    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bar = (-_BAR_HEIGHT / 2, _BAR_HEIGHT)

    for machine in shown.tolist():
        rows = schedule.down_intervals[machine]
        rows = rows[rows[:, 0] < makespan]
        if len(rows):
            axes.broken_barh(
                np.column_stack([rows[:, 0], np.minimum(rows[:, 1], makespan) - rows[:, 0]]),  # type: ignore[arg-type]
                (lane_of[machine] - 0.5, 1.0), facecolors=_DOWN_COLOR, edgecolors="none", alpha=0.45, hatch="xx",
                zorder=0,
            )  # fmt: skip

    jobs, ops = np.nonzero(instance.valid)
    lanes = lane_of[instance.machines[jobs, ops]]
    drawn = lanes >= 0
    jobs, ops, lanes = jobs[drawn], ops[drawn], lanes[drawn]
    blocked_from = schedule.processing_end[jobs, ops]
    blocked_to = schedule.leave[jobs, ops]
    blocked = blocked_to > blocked_from
    rows = zip(jobs[blocked], lanes[blocked], blocked_from[blocked], blocked_to[blocked], strict=True)
    for job, lane, start, end in rows:
        axes.broken_barh(
            [(start, end - start)], (lane + bar[0], bar[1]), facecolors=colors[job], edgecolors=colors[job],
            alpha=_BLOCKED_ALPHA, hatch="///", linewidths=0.4, zorder=1,
        )  # fmt: skip

    segments = schedule.segments
    segment_lanes = lane_of[instance.machines[segments[:, 0], segments[:, 1]]]
    for lane in range(len(shown)):
        rows = segments[segment_lanes == lane]
        if len(rows):
            axes.broken_barh(
                np.column_stack([rows[:, 2], rows[:, 3] - rows[:, 2]]),  # type: ignore[arg-type]
                (lane + bar[0], bar[1]), facecolors=colors[rows[:, 0]], edgecolors=_EDGE_COLOR, linewidths=0.4,
                zorder=2,
            )  # fmt: skip

    horizon = max(makespan, best_known or 0, 1)
    axes.set_xlim(0, horizon * 1.02)
    axes.set_ylim(len(shown) - 0.5, -0.5)
    axes.set_yticks(range(len(shown)), [f"M{machine}" for machine in shown])
    axes.set_xlabel("time")
    axes.grid(axis="x", color="0.85", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.tick_params(axis="y", length=0)
    axes.axvline(makespan, color=_MAKESPAN_COLOR, linewidth=1.6)
    axes.text(makespan, 1.0, f" Cmax = {makespan} ", transform=axes.get_xaxis_transform(), ha="left", va="bottom",
              color=_MAKESPAN_COLOR, fontsize=9, fontweight="bold")  # fmt: skip
    if best_known is not None:
        axes.axvline(best_known, color=_BEST_KNOWN_COLOR, linewidth=1.2, linestyle="--")
        axes.text(best_known, 1.0, f"best at rate 0 = {best_known} ", transform=axes.get_xaxis_transform(),
                  ha="right", va="bottom", color=_BEST_KNOWN_COLOR, fontsize=9)  # fmt: skip

    if title is None:
        rate = schedule.interruptions.get("rate") or 0.0
        parts = [instance.name, schedule.method, f"makespan {makespan}", f"shutdown rate {rate:g}"]
        title = " — ".join(part for part in parts if part)
    if len(shown) < num_machines:
        title += f"\nonly the {len(shown)} busiest of {num_machines} machines are shown (most processing time)"
    axes.set_title(title, pad=14)

    # One legend (constrained layout makes room for it): what the bars mean, then the jobs' colours.
    handles = [
        Patch(facecolor="0.35", edgecolor=_EDGE_COLOR, linewidth=0.4),
        Patch(facecolor="0.35", alpha=_BLOCKED_ALPHA, hatch="///"),
        Patch(facecolor=_DOWN_COLOR, alpha=0.45, hatch="xx"),
    ]
    labels = ["processing", "blocked", "machine down"]
    if num_jobs <= MAX_LEGEND_JOBS:
        handles += [Patch(facecolor=color, edgecolor=_EDGE_COLOR, linewidth=0.4) for color in colors]
        labels += [f"J{job}" for job in range(num_jobs)]
    rows_that_fit = max(1, int((height_in - 1.2) * 72 / (9 * 1.5)))
    axes.legend(
        handles=handles, labels=labels, loc="upper left", bbox_to_anchor=(1.005, 1.0),
        ncols=math.ceil(len(handles) / rows_that_fit), fontsize=8, frameon=False, handlelength=1.6,
        columnspacing=0.8,
    )  # fmt: skip
    ConstrainedLayoutEngine().execute(figure)
    return figure


def plot_blocking_gantt(
    schedule: BlockingSchedule,
    path: str | Path | BinaryIO,
    title: str | None = None,
    best_known: int | None = None,
    dpi: int = 120,
) -> None:
    """Write ``schedule`` as a Gantt chart PNG to ``path`` (see :func:`blocking_gantt_figure`)."""
    save_png(blocking_gantt_figure(schedule, title=title, best_known=best_known), path, dpi)
