"""Charts for the PDF reports, drawn by matplotlib as SVG.

Text stays text in the SVG (``svg.fonttype: none``): WeasyPrint sets it in the report's own
CJK font, so the labels are searchable and the font is embedded once for the whole PDF.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.figure import Figure

FONT = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
INK = "#1f2933"
ACCENT = "#1c5d99"
MUTED = "#9aa5b1"
RC: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "survey-service",  # the same chart gives the same bytes
    "font.family": "sans-serif",
    "font.sans-serif": FONT,
    "font.size": 8,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
}


@dataclass(frozen=True, slots=True)
class Spread:
    """One bar of a pay-spread chart: P10, P25, P50, P75, P90."""

    label: str
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float


@cache
def _matplotlib() -> tuple[ModuleType, ModuleType]:
    """matplotlib, imported when the first chart is drawn: 30 MB that a server process
    which makes no report never needs."""
    import matplotlib as mpl

    mpl.use("svg")
    import matplotlib.pyplot as plt

    return mpl, plt


def _svg(figure: Figure) -> str:
    _, plt = _matplotlib()
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return out.getvalue()


def pay_spread(spreads: Sequence[Spread], *, unit: str = "元") -> str:
    """Horizontal box-like bars: a thin line from P10 to P90, a box from P25 to P75 and a
    mark at the median, one row per occupation."""
    mpl, plt = _matplotlib()
    with mpl.rc_context(RC):
        height = 0.9 + 0.32 * len(spreads)
        figure, axes = plt.subplots(figsize=(6.6, height))
        for y, s in enumerate(reversed(spreads)):
            axes.hlines(y, s.p10, s.p90, color=MUTED, linewidth=1)
            axes.barh(y, s.p75 - s.p25, left=s.p25, height=0.5, color=ACCENT, alpha=0.85)
            axes.vlines(s.p50, y - 0.3, y + 0.3, color="white", linewidth=1.6)
        axes.set_yticks(range(len(spreads)), [s.label for s in reversed(spreads)])
        axes.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axes.set_xlabel(f"年度应发工资（{unit}）  P10–P90 线，P25–P75 框，白线为中位数")
        axes.grid(axis="x", color="#e4e7eb", linewidth=0.6)
        axes.set_axisbelow(True)
        return _svg(figure)


def rate_bars(labels: Sequence[str], rates: Sequence[float | None], target: float | None) -> str:
    """One bar per district (rates 0..1) with the target as a line; a district without a
    rate (none of its enterprises is concerned) has no bar and "—", as in the table."""
    mpl, plt = _matplotlib()
    with mpl.rc_context(RC):
        figure, axes = plt.subplots(figsize=(6.6, 0.8 + 0.34 * len(labels)))
        ys = range(len(labels))
        axes.barh(list(ys), [(r or 0) * 100 for r in rates], color=ACCENT, height=0.55)
        for y, rate in zip(ys, rates, strict=True):
            text = "—" if rate is None else f"{rate:.0%}"
            x = 1 if rate is None else rate * 100 + 1
            axes.text(x, y, text, va="center", fontsize=7, color=MUTED if rate is None else INK)
        if target is not None:
            axes.axvline(target * 100, color="#c0392b", linewidth=1, linestyle="--")
            axes.text(target * 100, len(labels) - 0.4, f"目标 {target:.0%}", color="#c0392b",
                      fontsize=7, ha="center")  # fmt: skip
        axes.set_yticks(list(ys), list(labels))
        axes.invert_yaxis()
        axes.set_xlim(0, 110)
        axes.set_xlabel("%")
        return _svg(figure)


def duty_bars(labels: Sequence[str], values: Sequence[float], *, maximum: float) -> str:
    """Scores per duty against their maximum (the enterprise report)."""
    mpl, plt = _matplotlib()
    with mpl.rc_context(RC):
        figure, axes = plt.subplots(figsize=(6.2, 0.8 + 0.34 * len(labels)))
        ys = list(range(len(labels)))
        axes.barh(ys, [maximum] * len(ys), color="#e4e7eb", height=0.55)
        axes.barh(ys, list(values), color=ACCENT, height=0.55)
        for y, value in zip(ys, values, strict=True):
            axes.text(value + maximum * 0.01, y, f"{value:g}", va="center", fontsize=7)
        axes.set_yticks(ys, list(labels))
        axes.invert_yaxis()
        axes.set_xlim(0, maximum * 1.08)
        return _svg(figure)
