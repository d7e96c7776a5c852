"""Gantt charts of blocking schedules: processing, blocked time and down intervals are separate, labelled layers."""

from __future__ import annotations

import io

from jssp.blocking import Calendar
from jssp.blocking.gantt import blocking_gantt_figure, plot_blocking_gantt
from jssp.blocking.rules import dispatch
from jssp.instance import Instance


def test_chart_draws_processing_blocked_time_and_shutdowns_distinctly() -> None:
    # The 2x2 swap example with machine 1 down over [3, 6): both jobs are blocked from 3 to 6.
    instance = Instance.from_routes([[(0, 3), (1, 2)], [(1, 3), (0, 2)]], name="swap")
    schedule = dispatch(instance, "spt", calendar=Calendar.fixed([[], [(3, 6)]]))
    figure = blocking_gantt_figure(schedule, best_known=5)
    axes = figure.axes[0]
    by_hatch: dict[str | None, list[list[tuple[float, float]]]] = {}
    for collection in axes.collections:
        spans = [(path.vertices[:, 0].min(), path.vertices[:, 0].max()) for path in collection.get_paths()]
        by_hatch.setdefault(collection.get_hatch(), []).append(spans)
    assert by_hatch["xx"] == [[(3.0, 6.0)]]  # machine 1 down
    assert sorted(span for spans in by_hatch["///"] for span in spans) == [(3.0, 6.0), (3.0, 6.0)]  # both blocked
    assert sorted(span for spans in by_hatch[None] for span in spans) == [(0, 3), (0, 3), (6, 8), (6, 8)]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["processing", "blocked", "machine down", "J0", "J1"]
    assert "swap — spt — makespan 8 — shutdown rate 0" in axes.get_title()
    stream = io.BytesIO()
    plot_blocking_gantt(schedule, stream)
    assert stream.getvalue().startswith(b"\x89PNG")
