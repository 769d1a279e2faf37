"""The pay spread of a wage table's groups drawn on the server as inline SVG: per group a
line from P10 to P90, a box from P25 to P75 and a mark at P50, on one axis from zero; a
hidden group gets its word instead of a bar. No script; every figure is also in the table
beside it, and the chart's title and each group's text say what it shows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ROW_HEIGHT = 30
LABEL_WIDTH = 190
PLOT_WIDTH = 360
FIGURE_WIDTH = 150
AXIS_HEIGHT = 26
TICKS = 4


@dataclass(frozen=True, slots=True)
class Spread:
    label: str
    # P10, P25, P50, P75, P90; None for a hidden group.
    quantiles: tuple[float, float, float, float, float] | None
    hidden_text: str = ""  # what a hidden group shows instead ("保密")


def _nice_top(value: float) -> float:
    """A round axis end at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _money(value: float) -> str:
    return f"{value:,.0f}"


def spread_chart(spreads: Sequence[Spread], *, title: str, median_word: str) -> Markup:
    """An accessible SVG (``role="img"`` with a title; the table beside it has the data)."""
    top = _nice_top(max((s.quantiles[4] for s in spreads if s.quantiles), default=0.0))
    height = AXIS_HEIGHT + ROW_HEIGHT * max(1, len(spreads)) + 8
    width = LABEL_WIDTH + PLOT_WIDTH + FIGURE_WIDTH

    def x(value: float) -> float:
        return round(LABEL_WIDTH + PLOT_WIDTH * min(max(value / top, 0.0), 1.0), 1)

    parts = [
        f'<svg class="spread" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(TICKS + 1):
        value = top * i / TICKS
        parts.append(
            f'<line x1="{x(value)}" y1="{AXIS_HEIGHT - 4}" x2="{x(value)}" y2="{height - 4}" '
            f'stroke="#d5d5d0"/><text x="{x(value)}" y="{AXIS_HEIGHT - 8}" font-size="12" '
            f'text-anchor="middle" fill="#555">{_money(value)}</text>'
        )
    for i, spread in enumerate(spreads):
        y = AXIS_HEIGHT + i * ROW_HEIGHT
        middle = y + ROW_HEIGHT / 2
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle + 5}" text-anchor="end" font-size="13" '
            f'fill="#1a1a1a">{escape(spread.label)}</text>'
        )
        if spread.quantiles is None:
            parts.append(
                f'<text x="{LABEL_WIDTH + 6}" y="{middle + 5}" font-size="13" fill="#b3261e" '
                f'class="hidden-group">{escape(spread.hidden_text)}</text>'
            )
            continue
        p10, p25, p50, p75, p90 = spread.quantiles
        parts.append(
            f'<line x1="{x(p10)}" y1="{middle}" x2="{x(p90)}" y2="{middle}" stroke="#1b5e20" '
            f'stroke-width="2"/>'
            f'<rect x="{x(p25)}" y="{middle - 7}" width="{round(x(p75) - x(p25), 1)}" '
            f'height="14" fill="#a5d6a7" stroke="#1b5e20"/>'
            f'<line x1="{x(p50)}" y1="{middle - 9}" x2="{x(p50)}" y2="{middle + 9}" '
            f'stroke="#1a1a1a" stroke-width="3"/>'
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{middle + 5}" font-size="13" '
            f'fill="#1a1a1a">{escape(median_word)} {_money(p50)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)
