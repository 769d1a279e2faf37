"""The dashboard's participation charts: per measure, each district's rate as a bar with
the city's target marked across it (the table beside them has the same figures)."""

from __future__ import annotations

from markupsafe import Markup

from survey_service.analytics.participation import ParticipationOut, ParticipationRow
from survey_service.reference.codes import districts
from survey_service.web.charts import Bar, bar_chart
from survey_service.web.i18n import Lang

# (rate, target, counted, of) fields of a row, and the chart's title in both languages.
MEASURES = (
    ("participation_rate", "participation_target", "participating", "enterprises",
     "参与率", "Took part"),
    ("above_designated_size_rate", "above_designated_size_target",
     "above_designated_size_participating", "above_designated_size",
     "规上企业参与率", "Above designated size, took part"),
    ("unionized_rate", "unionized_target", "unionized_participating", "unionized",
     "建会企业参与率", "Unionized, took part"),
    ("collective_contract_rate", "collective_contract_target", "collective_contracts",
     "unionized_large", "集体合同签订率（建会且百人以上）",
     "Collective contracts (unionized, 100+ staff)"),
)  # fmt: skip


def _bar(row: ParticipationRow, measure: tuple[str, ...], lang: Lang) -> Bar:
    rate_field, target_field, part_field, whole_field = measure[:4]
    rate: float | None = getattr(row, rate_field)
    part: int = getattr(row, part_field)
    whole: int = getattr(row, whole_field)
    known = districts().get(row.district) if row.district else None
    if known is not None:
        label = known.name if lang == "zh" else known.name_en
    else:
        label = row.district or ("全市" if lang == "zh" else "City")
    figure = f"{part} / {whole}" + (f" ({rate:.0%})" if rate is not None else "")
    return Bar(label, rate or 0.0, figure, getattr(row, target_field))


def participation_charts(figures: ParticipationOut, lang: Lang) -> list[tuple[str, Markup]]:
    """One chart per measure with its title, the districts in the table's order and the
    city last."""
    rows = [*figures.districts, figures.city]
    charts = []
    for measure in MEASURES:
        title = measure[4] if lang == "zh" else measure[5]
        target = getattr(figures.city, measure[1])
        if target is not None:
            title += f"（目标 {target:.0%}）" if lang == "zh" else f" (target {target:.0%})"
        charts.append((title, bar_chart([_bar(row, measure, lang) for row in rows], title=title)))
    return charts
