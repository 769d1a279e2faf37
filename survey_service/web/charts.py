"""Small charts drawn on the server as inline SVG: horizontal bars from numbers, no script
and no library, readable without colour (each bar carries its figure as text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ROW_HEIGHT = 28
LABEL_WIDTH = 150
BAR_WIDTH = 300
FIGURE_WIDTH = 160


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float  # the bar's length, as a share of ``scale`` (clipped to 0..scale)
    figure: str  # the text beside the bar, e.g. "12 / 20 (60%)"
    target: float | None = None  # a mark across the bar where it should reach (same scale)


def bar_chart(bars: Sequence[Bar], *, title: str, scale: float = 1.0) -> Markup:
    """An accessible SVG (``role="img"`` with a title; the table beside it has the data)."""
    height = ROW_HEIGHT * max(1, len(bars)) + 8
    width = LABEL_WIDTH + BAR_WIDTH + FIGURE_WIDTH
    parts = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * ROW_HEIGHT
        share = 0.0 if scale <= 0 else min(max(bar.value / scale, 0.0), 1.0)
        length = round(BAR_WIDTH * share, 1)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 18}" text-anchor="end" font-size="14" '
            f'fill="#1a1a1a">{escape(bar.label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{BAR_WIDTH}" height="18" fill="#e4e4df"/>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length}" height="18" fill="#1b5e20"/>'
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 18}" font-size="14" '
            f'fill="#1a1a1a">{escape(bar.figure)}</text>'
        )
        if bar.target is not None and scale > 0:
            at = LABEL_WIDTH + round(BAR_WIDTH * min(max(bar.target / scale, 0.0), 1.0), 1)
            parts.append(
                f'<line class="target" x1="{at}" y1="{y + 1}" x2="{at}" y2="{y + 25}" '
                'stroke="#b3261e" stroke-width="3"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)
