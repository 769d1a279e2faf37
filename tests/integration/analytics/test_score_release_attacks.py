"""The attacks of issue 11 on the score releases, as an analyst through HTTP on SQLite and
PostgreSQL, each confirmed against the admin's live view or the answers the test sent.

The attacker knows the enterprise register (which district and industry each enterprise is
in, so which district x industry cells hold answers) and every figure an analyst can read:
each group's respondents, and the distributions of the groups a release publishes. The
unknowns are the cells' counts per scale point (one release, or two with the one answer
between them); scipy's HiGHS gives the interval each protected figure can still take.
A figure is *pinned* when that interval is a point; the only pins allowed are those a
published group holding the figure whole gives itself (nobody in the city answered 1, so
nobody in any district did)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linprog

from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.score_helpers import (
    LIKERT,
    answer_through_link,
    answers,
    assessment_document,
    poll,
    release,
)
from tests.samples import enterprise

Cell = tuple[str, str]  # (district, industry group)
WANGYI, YINTAI, YAOZHOU, YIJUN = "610202", "610203", "610204", "610222"


class Attacker:
    """A linear system over nonnegative unknowns: equalities (within a tolerance) of what
    was published, and the interval a linear figure can take."""

    def __init__(self) -> None:
        self.low: list[float] = []
        self.high: list[float | None] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def unknown(self, low: float = 0.0, high: float | None = None) -> int:
        self.low.append(low)
        self.high.append(high)
        return len(self.low) - 1

    def equal(self, terms: dict[int, float], value: float, tolerance: float = 0.0) -> None:
        self.rows.append((terms, value - tolerance, value + tolerance))

    def interval(self, terms: dict[int, float]) -> tuple[float, float]:
        n = len(self.low)
        a_ub, b_ub, a_eq, b_eq = [], [], [], []
        for row_terms, low, high in self.rows:
            row = np.zeros(n)
            for j, v in row_terms.items():
                row[j] += v
            if low == high:
                a_eq.append(row)
                b_eq.append(low)
            else:
                a_ub += [row, -row]
                b_ub += [high, -low]
        objective = np.zeros(n)
        for j, v in terms.items():
            objective[j] += v
        ends = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * objective,
                A_ub=np.array(a_ub) if a_ub else None,
                b_ub=np.array(b_ub) if b_ub else None,
                A_eq=np.array(a_eq) if a_eq else None,
                b_eq=np.array(b_eq) if b_eq else None,
                bounds=list(zip(self.low, self.high, strict=True)),
                method="highs",
            )
            assert result.status == 0, result.message
            ends.append(sign * float(result.fun))
        return ends[0], ends[1]


def _industry(n: int) -> str:
    return "C30" if n % 2 else "F52"


async def _view(service: Service, campaign_id: int, headers: dict[str, str], query: str) -> Any:
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/satisfaction?{query}", headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _published(
    service: Service, campaign_id: int, headers: dict[str, str], number: int | None = None
) -> dict[str, dict[str, Any]]:
    """Every group an analyst can read of a release: ``city``, ``district:X``, ``industry:Y``."""
    pick = f"&release={number}" if number is not None else ""
    groups = {"city": (await _view(service, campaign_id, headers, pick.lstrip("&")))["overall"]}
    for by in ("district", "industry"):
        body = await _view(service, campaign_id, headers, f"by={by}{pick}")
        assert body["release"] is not None
        groups |= {f"{by}:{g['key']}": g for g in body["groups"]}
    return groups


def _cells_of(group: str, cells: Iterable[Cell]) -> set[Cell]:
    if group == "city":
        return set(cells)
    by, _, key = group.partition(":")
    return {c for c in cells if c[0 if by == "district" else 1] == key}


def _distribution(group: dict[str, Any], question: str) -> dict[str, int] | None:
    if group["suppressed"]:
        return None
    if question == "recommend":
        score = group["recommend"]
        n = score["n"]
        return {band: round(score[band] * n) for band in ("detractors", "passives", "promoters")}
    return next(q["distribution"] for q in group["questions"] if q["key"] == question)


def _points(question: str) -> list[str]:
    if question == "recommend":
        return ["detractors", "passives", "promoters"]
    return [str(v) for v in range(1, 6)]


def assert_nothing_pinned(
    releases: Sequence[dict[str, dict[str, Any]]],
    cells: Sequence[Sequence[Cell]],
    added: Cell | None = None,
) -> None:
    """Per question, the attacker's system over one release (or two, the second with one
    answer more in cell ``added``) pins no hidden group's count of a scale point, nor the
    added answer's."""
    for question in [*LIKERT, "recommend"]:
        points = _points(question)
        attacker = Attacker()
        unknowns = [
            {(c, p): attacker.unknown() for c in release_cells for p in points}
            for release_cells in cells
        ]
        new_answer = {}
        if added is not None:
            new_answer = {p: attacker.unknown(0.0, 1.0) for p in points}
            attacker.equal(dict.fromkeys(new_answer.values(), 1.0), 1.0)
            for c in cells[1]:
                for p in points:
                    terms = {unknowns[1][c, p]: 1.0, unknowns[0].get((c, p), -1): -1.0}
                    terms.pop(-1, None)
                    if c == added:
                        terms[new_answer[p]] = -1.0
                    attacker.equal(terms, 0.0)
        for r, groups in enumerate(releases):
            for name, group in groups.items():
                inside = _cells_of(name, cells[r])
                attacker.equal(
                    {unknowns[r][c, p]: 1.0 for c in inside for p in points},
                    group["respondents"],
                )
                shown = _distribution(group, question)
                for p, count in (shown or {}).items():
                    attacker.equal({unknowns[r][c, p]: 1.0 for c in inside}, count)
        for r, groups in enumerate(releases):
            for name, group in groups.items():
                if not group["suppressed"] or not group["respondents"]:
                    continue
                inside = _cells_of(name, cells[r])
                if added not in inside and any(
                    not other[name]["suppressed"] for other in releases if name in other
                ):
                    continue  # unchanged, and published in the other release
                for p in points:
                    if _implied(groups, cells[r], inside, question, p):
                        continue
                    low, high = attacker.interval({unknowns[r][c, p]: 1.0 for c in inside})
                    assert high - low >= 1 - 1e-6, (r, name, question, p, low, high)
        for p, j in new_answer.items():
            low, high = attacker.interval({j: 1.0})
            assert high - low >= 1 - 1e-6, ("the added answer", question, p, low, high)


def _implied(
    groups: dict[str, dict[str, Any]],
    cells: Sequence[Cell],
    inside: set[Cell],
    question: str,
    point: str,
) -> bool:
    """Does a published group holding these cells whole have none or all of its answers at
    the point? (Then so does every part of it: its own figure says so.)"""
    for name, group in groups.items():
        shown = _distribution(group, question)
        if shown is None or not inside <= _cells_of(name, cells):
            continue
        if shown[point] in (0, sum(shown.values())):
            return True
    return False


async def test_overall_minus_published_groups_pins_no_hidden_groups_answers(
    service: Service,
) -> None:
    # Wangyi and Yintai have three enterprises each; Yaozhou one enterprise with 3 answers;
    # Yijun one enterprise with 6 answers (per-enterprise figures, were it published).
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI, 4: YINTAI, 5: YINTAI, 6: YINTAI}
    districts |= {7: YAOZHOU, 8: YIJUN}
    sizes = {1: 6, 2: 6, 3: 5, 4: 7, 5: 5, 6: 5, 7: 3, 8: 6}
    campaign_id, _ = await poll(service, sizes, districts)
    await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    seen = await _published(service, campaign_id, analyst)

    assert seen[f"district:{YAOZHOU}"]["suppressed"] is True
    assert seen[f"district:{YIJUN}"]["suppressed"] is True  # one enterprise: never shown
    assert seen[f"district:{YIJUN}"]["respondents"] == 6
    # What is shown is the live figure, as the admin sees it.
    live = {
        g["key"]: g
        for g in (await _view(service, campaign_id, service.admin, "by=district"))["groups"]
    }
    for name, group in seen.items():
        if name.startswith("district:") and not group["suppressed"]:
            assert group["questions"] == live[name.partition(":")[2]]["questions"]
    cells = sorted({(districts[n], _industry(n)) for n in sizes})
    assert_nothing_pinned([seen], [cells])


async def test_a_hidden_pair_with_no_answer_at_a_point_is_not_pinned_by_nonnegativity(
    service: Service,
) -> None:
    # Yaozhou's and Yijun's answers (one enterprise each) never say 1 to the first question,
    # while Wangyi's do: overall minus Wangyi would be 0 at 1 for the two hidden districts.
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI, 4: YAOZHOU, 5: YIJUN}
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(
        service, *(enterprise(n, d, industry="C3011") for n, d in districts.items())
    )
    rng = random.Random(11)
    first = LIKERT[0]
    for n in districts:
        sent = answers(rng, 5, n)
        for i, answer in enumerate(sent):
            answer[first] = 1 if districts[n] == WANGYI and i < 2 else 4
        await answer_through_link(service, campaign_id, n, sent)
    await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    seen = await _published(service, campaign_id, analyst)
    assert seen[f"district:{YAOZHOU}"]["suppressed"] is True
    cells = sorted({(d, "C30") for d in districts.values()})
    assert_nothing_pinned([seen], [cells])


async def test_comments_only_for_the_whole_city_never_per_group(service: Service) -> None:
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI, 4: YINTAI, 5: YINTAI, 6: YINTAI}
    # Yintai has 6 answers per enterprise, Wangyi 12 per enterprise.
    sizes = {1: 12, 2: 12, 3: 12, 4: 2, 5: 2, 6: 2}
    campaign_id, sent = await poll(service, sizes, districts)
    await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    for query in ("", "by=district", "by=industry"):
        body = await _view(service, campaign_id, analyst, query)
        assert all(g["comments"] is None for g in body["groups"])
        everyone = sorted(a["comment"] for n in sent for a in sent[n] if "comment" in a)
        assert body["overall"]["comments"] == {"comment": everyone}


async def test_a_city_under_the_comments_threshold_shows_no_comment(service: Service) -> None:
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI}
    campaign_id, _ = await poll(service, {1: 3, 2: 3, 3: 3}, districts)
    await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    body = await _view(service, campaign_id, analyst, "")
    assert body["overall"]["respondents"] == 9
    assert body["overall"]["comments"] is None


async def test_two_releases_around_one_answer_do_not_give_it_back(service: Service) -> None:
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI, 4: YINTAI, 5: YINTAI, 6: YINTAI}
    districts |= {7: YAOZHOU, 8: YAOZHOU, 9: YAOZHOU}
    sizes = dict.fromkeys(districts, 5)
    campaign_id, _ = await poll(service, sizes, districts)
    first = await release(service, campaign_id)
    one = answers(random.Random(99), 1, 99)
    await answer_through_link(service, campaign_id, 4, one)
    second = await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    before = await _published(service, campaign_id, analyst, first)
    after = await _published(service, campaign_id, analyst, second)
    latest = await _published(service, campaign_id, analyst)
    assert latest == after
    # Every group the answer went into shows its count only now; nothing else changed.
    for name in ("city", f"district:{YINTAI}", "industry:F52"):
        assert after[name]["suppressed"] is True
        assert after[name]["respondents"] == before[name]["respondents"] + 1
    for name, group in after.items():
        if not group["suppressed"] and not before[name]["suppressed"]:
            assert group == before[name]
    assert after["city"]["comments"] is None
    cells = sorted({(districts[n], _industry(n)) for n in sizes})
    assert_nothing_pinned([before, after], [cells, cells], added=(YINTAI, "F52"))
    # The admin's live view has it.
    live = await _view(service, campaign_id, service.admin, "")
    assert live["release"] is None
    assert live["overall"]["respondents"] == sum(sizes.values()) + 1


async def test_analysts_need_a_release_and_may_pick_one(service: Service) -> None:
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI}
    campaign_id, _ = await poll(service, dict.fromkeys(districts, 5), districts)
    analyst = bearer(await service.token("analyst", label="analyst"))
    path = f"/api/v1/campaigns/{campaign_id}/satisfaction"
    missing = await service.client.get(path, headers=analyst)
    assert missing.status_code == 409
    assert missing.json()["detail"] == f"campaign {campaign_id} has no release yet"
    assert (await service.client.get(f"{path}?release=live", headers=analyst)).status_code == 403
    number = await release(service, campaign_id)
    body = await _view(service, campaign_id, analyst, f"release={number}")
    assert set(body["release"]) == {"number", "created_at", "content_hash", "during_collection"}
    assert len(body["release"]["content_hash"]) == 64
    assert (await service.client.get(f"{path}?release=7", headers=analyst)).status_code == 404
    # The admin reads the live view by default, a release when asked.
    assert (await _view(service, campaign_id, service.admin, ""))["release"] is None
    frozen = await _view(service, campaign_id, service.admin, f"release={number}")
    assert frozen == body
    by_enterprise = await service.client.get(
        f"{path}?by=enterprise&release={number}", headers=service.admin
    )
    assert by_enterprise.status_code == 422


# --- self-assessment -----------------------------------------------------------------------------


async def _assessments(
    service: Service, campaign_id: int, headers: dict[str, str], query: str = ""
) -> dict[str, Any]:
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/assessments?{query}", headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _varied(n: int) -> dict[str, Any]:
    """Enterprise ``n``'s self-assessment, its points set apart by ``n``."""
    rate = 100 - 3 * (n % 9)
    growth = ("8_or_more", "5_to_8", "0_to_5")[n % 3]
    return assessment_document(
        n,
        {
            "contracts": {"signing_rate": rate},
            "wages": {"average_wage_growth": growth},
            "social_insurance": {"coverage_rate": 100 - 4 * (n % 7)},
            "rights": {"annual_leave_rate": 100 - 5 * (n % 5)},
        },
    )


async def _assessed(service: Service, districts: dict[int, str]) -> tuple[int, dict[int, str]]:
    await register_enterprises(service, *(enterprise(n, d) for n, d in districts.items()))
    campaign_id = await create_campaign(service, "enterprise-self-assessment")
    tokens = await invite(service, campaign_id, *sorted(districts))
    for n in districts:
        await submit(service, campaign_id, tokens[n], _varied(n))
    return campaign_id, tokens


def _sums(body: dict[str, Any]) -> dict[str | None, tuple[int, float | None]]:
    """Per district (None: the city) its enterprises and published total points."""
    out: dict[str | None, tuple[int, float | None]] = {}
    for d in [*body["districts"], body["city"]]:
        mean = d["mean_total"]
        out[d["district"]] = (
            d["enterprises"],
            mean * d["enterprises"] if mean is not None else None,
        )
    return out


def _total_interval(
    views: Sequence[dict[str, Any]], target: str, added: str | None = None
) -> tuple[float, float]:
    """The points a hidden district's enterprises (or, over two releases, the one added to
    district ``added``) can have, from the published means (rounded to 0.01)."""
    attacker = Attacker()
    sums = [_sums(v) for v in views]
    unknown = [{d: attacker.unknown(0.0, 100.0 * n) for d, (n, _) in s.items() if d} for s in sums]
    new = attacker.unknown(0.0, 100.0) if added else None
    if added is not None and new is not None:
        for d, j in unknown[1].items():
            terms = {j: 1.0}
            if d in unknown[0]:
                terms[unknown[0][d]] = -1.0
            if d == added:
                terms[new] = -1.0
            attacker.equal(terms, 0.0)
    for r, s in enumerate(sums):
        for d, (n, total) in s.items():
            if total is None or not n:
                continue
            inside = unknown[r] if d is None else {d: unknown[r][d]}
            attacker.equal(dict.fromkeys(inside.values(), 1.0), total, 0.005 * n + 1e-9)
    if new is not None:
        return attacker.interval({new: 1.0})
    return attacker.interval({unknown[-1][target]: 1.0})


async def test_district_ranks_and_means_place_no_hidden_district_within_its_protection(
    service: Service,
) -> None:
    districts = dict.fromkeys((1, 2, 3), WANGYI) | dict.fromkeys((4, 5, 6, 7), YINTAI)
    districts |= dict.fromkeys((8, 9, 10, 11), YIJUN) | {12: YAOZHOU}
    campaign_id, _ = await _assessed(service, districts)
    await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    seen = await _assessments(service, campaign_id, analyst)
    by_code = {d["district"]: d for d in seen["districts"]}
    assert by_code[YAOZHOU]["counts_only"] is True
    assert by_code[YAOZHOU]["rank"] is None
    published = [d for d in seen["districts"] if not d["counts_only"] and d["enterprises"]]
    hidden = [d for d in seen["districts"] if d["counts_only"]]
    assert len(hidden) >= 2  # never a single hidden district
    # Ranks run over the published districts only, by their means.
    ranked = sorted(published, key=lambda d: -d["mean_total"])
    assert [d["rank"] for d in ranked] == list(range(1, len(ranked) + 1))
    assert all(d["rank"] is None for d in hidden)
    # The hidden enterprise's points cannot be placed within 20 of 100 (p = 10%).
    low, high = _total_interval([seen], YAOZHOU)
    assert high - low >= 20 - 1e-6, (low, high)
    live = await _assessments(service, campaign_id, service.admin)
    truth = {d["district"]: d["mean_total"] for d in live["districts"]}[YAOZHOU]
    assert low - 1e-6 <= truth <= high + 1e-6
    for d in published:
        assert (
            d["mean_total"]
            == {x["district"]: x for x in live["districts"]}[d["district"]]["mean_total"]
        )


async def test_two_releases_around_one_enterprise_do_not_give_its_score(service: Service) -> None:
    districts = dict.fromkeys((1, 2, 3), WANGYI) | dict.fromkeys((4, 5, 6), YINTAI)
    districts |= dict.fromkeys((7, 8, 9), YIJUN)
    campaign_id, _ = await _assessed(service, districts)
    first = await release(service, campaign_id)
    await register_enterprises(service, enterprise(10, YINTAI))
    token = (await invite(service, campaign_id, 10))[10]
    await submit(service, campaign_id, token, assessment_document(10))
    second = await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    before = await _assessments(service, campaign_id, analyst, f"release={first}")
    after = await _assessments(service, campaign_id, analyst, f"release={second}")
    assert (await _assessments(service, campaign_id, analyst)) == after
    by_code = {d["district"]: d for d in after["districts"]}
    assert by_code[YINTAI]["enterprises"] == 4
    assert by_code[YINTAI]["counts_only"] is True
    low, high = _total_interval([before, after], YINTAI, added=YINTAI)
    assert high - low >= 20 - 1e-6, (low, high)
    # Grade counts: the city's and the districts' published in both say nothing either.
    for d_before, d_after in zip(
        sorted(before["districts"], key=lambda d: d["district"]),
        sorted(after["districts"], key=lambda d: d["district"]),
        strict=True,
    ):
        if not d_before["counts_only"] and not d_after["counts_only"]:
            assert d_before["grades"] == d_after["grades"]
    if not before["city"]["counts_only"] and not after["city"]["counts_only"]:
        raise AssertionError("the city is published in both releases around one enterprise")
