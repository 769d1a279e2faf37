"""A demo city: ``python -m survey_service demo`` fills an empty database with a synthetic
campaign year of Tongchuan's five districts, so that every table, chart and report has
something to show.

What it writes, all drawn from one seed (``survey_service.demo.synthetic``) and all through the
service functions the API uses (registry upsert, campaigns, invitations, submissions with
their wage rows, poll links and anonymous answers):

- a few hundred enterprises across districts, industries and sizes;
- last year's salary survey (closed) and this year's (open), with every worker's row;
- this year's worker-satisfaction poll, answered through each union's poll link;
- this year's self-assessment, a few with veto items.

It refuses a database that already holds enterprises or campaigns (``force`` adds the demo
beside them: enterprises with the same codes are updated, the campaigns are new).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics import guidelines
from survey_service.analytics.guidelines import GuidelineIn
from survey_service.analytics.releases import audit_release, create_release
from survey_service.auth import Principal
from survey_service.collection import campaigns, contracts, enterprises, polls, submissions
from survey_service.collection.schemas import CampaignIn, EnterpriseIn, PollLinkIn
from survey_service.db.engine import Database
from survey_service.db.models import AccessToken, Campaign, Enterprise, PollLink, utcnow
from survey_service.demo.synthetic import (
    SEED,
    Firm,
    city,
    firm_salary_document,
    make_rng,
    poll_answer,
    self_assessment,
)
from survey_service.forms.validation import compile_schema, validate_document

DEFAULT_ENTERPRISES = 300
DEFAULT_YEAR = 2023
# The largest enterprises report their first this many workers: enough for every table,
# and the demo stays under a minute.
MAX_ROWS_PER_SURVEY = 600
MAX_ANSWERS_PER_LINK = 250
SUBMISSIONS_PER_TRANSACTION = 25
ANSWERS_PER_TRANSACTION = 2000


class DemoRefused(Exception):
    """The database is not empty and ``force`` was not given."""


@dataclass
class CampaignFigures:
    id: int
    title: str
    form_key: str
    submitted: int = 0
    drafts: int = 0
    worker_rows: int = 0
    answers: int = 0
    links: int = 0
    release: int | None = None  # the number of the release the demo made


@dataclass
class DemoSummary:
    seed: int
    year: int
    enterprises: int
    campaigns: list[CampaignFigures] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def worker_rows(self) -> int:
        return sum(c.worker_rows for c in self.campaigns)


async def existing_data(db: Database) -> tuple[int, int]:
    """How many enterprises and campaigns the database holds."""
    async with db.read() as session:
        n_enterprises = await session.scalar(select(func.count()).select_from(Enterprise))
        n_campaigns = await session.scalar(select(func.count()).select_from(Campaign))
    return n_enterprises or 0, n_campaigns or 0


def _take_part(rng: random.Random, firm: Firm, base: float) -> bool:
    """Whether the firm answers a campaign: big, unionized, well-run firms more often."""
    chance = (
        base
        + 0.22 * firm.above_designated_size
        + 0.12 * firm.has_union
        + 0.12 * firm.climate
        - 0.12 * (firm.staff_count < 20)
    )
    return rng.random() < min(0.98, max(0.05, chance))


async def _campaign(db: Database, form_key: str, title: str, year: int) -> CampaignFigures:
    now = utcnow()
    body = CampaignIn(
        form_key=form_key,
        title=title,
        year=year,
        campaign_year=year,  # the demo's campaigns speak of the year they belong to
        opens_at=(now - timedelta(days=20)).isoformat(),
        closes_at=(now + timedelta(days=40)).isoformat(),
    )
    async with db.transaction() as session:
        out = await campaigns.create_campaign(session, body, ZoneInfo("UTC"))
    return CampaignFigures(id=out.id, title=title, form_key=form_key)


async def _invite(db: Database, figures: CampaignFigures, firms: Sequence[Firm]) -> dict[str, int]:
    """Invite every firm; returns each firm's invitation token id by enterprise code."""
    async with db.transaction() as session:
        campaign, _, _ = await campaigns.load_campaign(session, figures.id)
        await campaigns.invite(session, campaign, [f.uscc for f in firms], None)
        rows = await session.execute(
            select(Enterprise.uscc, AccessToken.id)
            .join(AccessToken, AccessToken.enterprise_id == Enterprise.id)
            .where(AccessToken.campaign_id == figures.id, AccessToken.revoked_at.is_(None))
        )
        return {uscc: token_id for uscc, token_id in rows}


async def _submit(
    db: Database,
    figures: CampaignFigures,
    tokens: dict[str, int],
    documents: Sequence[tuple[Firm, dict[str, Any], str]],
) -> None:
    """Store (firm, document, status) through the submission service, a batch of
    submissions per transaction."""
    async with db.read() as session:
        ids = {u: i for u, i in await session.execute(select(Enterprise.uscc, Enterprise.id))}
    for start in range(0, len(documents), SUBMISSIONS_PER_TRANSACTION):
        async with db.transaction() as session:
            campaign, version, form = await campaigns.load_campaign(session, figures.id)
            context = submissions.FormContext(form, version, compile_schema(version.schema))
            for firm, document, status in documents[start : start + SUBMISSIONS_PER_TRANSACTION]:
                principal = Principal(tokens[firm.uscc], "enterprise", ids[firm.uscc], figures.id)
                await submissions.create_submission(
                    session,
                    principal,
                    campaign,
                    context,
                    submission_id=None,
                    data=document,
                    status=status,
                )
                if status == "submitted":
                    figures.submitted += 1
                    figures.worker_rows += len(document.get("employees") or [])
                else:
                    figures.drafts += 1


async def _salary_survey(
    db: Database,
    rng: random.Random,
    figures: CampaignFigures,
    firms: Sequence[Firm],
    *,
    year: int,
    base: float,
    pay_factor: Callable[[Firm], float],
) -> None:
    tokens = await _invite(db, figures, firms)
    documents = []
    for firm in firms:
        if not _take_part(rng, firm, base):
            continue
        status = "draft" if rng.random() < 0.06 else "submitted"
        rows = min(firm.staff_count, MAX_ROWS_PER_SURVEY)
        document = firm_salary_document(
            rng, firm, year=year, n_rows=rows, pay_factor=pay_factor(firm)
        )
        documents.append((firm, document, status))
    await _submit(db, figures, tokens, documents)


async def _self_assessments(
    db: Database, rng: random.Random, figures: CampaignFigures, firms: Sequence[Firm], year: int
) -> None:
    tokens = await _invite(db, figures, firms)
    async with db.read() as session:
        _, version, _ = await campaigns.load_campaign(session, figures.id)
    documents = [
        (firm, self_assessment(rng, firm, version.rules, year=year), "submitted")
        for firm in firms
        if _take_part(rng, firm, 0.5)
    ]
    await _submit(db, figures, tokens, documents)


async def _poll(
    db: Database, rng: random.Random, figures: CampaignFigures, firms: Sequence[Firm]
) -> None:
    """A link for each union that takes part, answered by a share of its workers."""
    answering = [f for f in firms if f.has_union and _take_part(rng, f, 0.55)]
    async with db.transaction() as session:
        campaign, version, form = await campaigns.load_campaign(session, figures.id)
        for firm in answering:
            await polls.issue_link(session, campaign, form, PollLinkIn(enterprise=firm.uscc))
        links = {
            uscc: (link_id, enterprise_id)
            for uscc, link_id, enterprise_id in await session.execute(
                select(Enterprise.uscc, PollLink.id, PollLink.enterprise_id)
                .join(Enterprise, PollLink.enterprise_id == Enterprise.id)
                .where(PollLink.campaign_id == figures.id)
            )
        }
    validator = compile_schema(version.schema)
    answers: list[polls.Answer] = []
    for firm in answering:
        link_id, enterprise_id = links[firm.uscc]
        count = min(MAX_ANSWERS_PER_LINK, round(firm.staff_count * rng.uniform(0.15, 0.65)))
        for _ in range(count):
            data = poll_answer(rng, version.schema, firm.climate)
            errors = validate_document(validator, data, schema=version.schema)
            if errors:
                raise ValueError(f"the generator wrote an invalid answer: {errors[:3]}")
            answers.append(polls.Answer(link_id, figures.id, enterprise_id, False, data, None))
    for start in range(0, len(answers), ANSWERS_PER_TRANSACTION):
        async with db.transaction() as session:
            await polls.store_answers(session, answers[start : start + ANSWERS_PER_TRANSACTION])
    figures.links, figures.answers = len(answering), len(answers)


def example_guidelines(year: int) -> list[GuidelineIn]:
    """Shaanxi's guideline lines for the demo's two years: example figures, marked as such
    (the province's published ones are for the bureau to enter)."""
    return [
        GuidelineIn(
            year=y, region="610000", base_pct=base, upper_pct=base + 3, lower_pct=base - 3,
            source="演示用示例数值，并非正式发布的工资指导线", example=True,
        )
        for y, base in ((year - 1, 6.5), (year, 6.0))
    ]  # fmt: skip


async def _contracts(session: AsyncSession, firms: Sequence[Firm], rng: random.Random) -> int:
    """The bureau's records of the firms' contracts (a generator of its own, so the rest of
    the demo stays as it was): a three-year contract signed in the last three years for
    each firm with one, a mechanism alone for a few others with a union."""
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    count = 0
    for firm in firms:
        if firm.has_collective_contract:
            item = contracts.ContractIn(
                uscc=firm.uscc,
                has_mechanism=True,
                signed_on=today - timedelta(days=rng.randrange(30, 3 * 365 - 30)),
                term_months=36,
                coverage_workers=max(1, round(firm.staff_count * rng.uniform(0.8, 1.0))),
                wage_growth_pct=round(rng.uniform(4.0, 8.0), 1),
            )
        elif firm.has_union and rng.random() < 0.2:
            item = contracts.ContractIn(uscc=firm.uscc, has_mechanism=True)
        else:
            continue
        await contracts.record_contract(session, item, district=None, by="demo", today=today)
        count += 1
    return count


async def fill_demo(
    db: Database,
    *,
    enterprises_count: int = DEFAULT_ENTERPRISES,
    seed: int = SEED,
    year: int = DEFAULT_YEAR,
    force: bool = False,
    releases: bool = True,
    say: Callable[[str], None] = print,
) -> DemoSummary:
    """Fill ``db`` (migrated, shipped forms loaded) with the demo city and (``releases``)
    release every campaign once, as the bureau would before analysts read it."""
    held = await existing_data(db)
    if any(held) and not force:
        raise DemoRefused(
            f"The database already holds {held[0]} enterprises and {held[1]} campaigns; the "
            "demo fills an empty one only. Point SURVEY_DATABASE_URL (or SURVEY_VAR_DIR) at "
            "a new database, or pass --force to add the demo beside what is there."
        )
    started = time.perf_counter()
    rng = make_rng(seed)
    firms = city(rng, enterprises_count)
    summary = DemoSummary(seed=seed, year=year, enterprises=len(firms))
    async with db.transaction() as session:
        await enterprises.upsert_enterprises(
            session, [EnterpriseIn(**firm.registry()) for firm in firms]
        )
    say(f"{len(firms)} enterprises registered")
    async with db.transaction() as session:
        recorded = await _contracts(session, firms, make_rng(seed + 1))
    say(f"{recorded} collective-contract records")
    async with db.transaction() as session:
        await guidelines.upsert_guidelines(session, example_guidelines(year))
    say("example wage guidelines recorded (marked as examples)")

    last = await _campaign(db, "salary-survey", f"{year - 1}年企业薪酬调查", year - 1)
    await _salary_survey(
        db, rng, last, firms, year=year - 1, base=0.45, pay_factor=lambda f: 1 / (1 + f.wage_growth)
    )
    summary.campaigns.append(last)
    say(f"{last.title}: {last.submitted} surveys, {last.worker_rows:,} worker rows")

    salary = await _campaign(db, "salary-survey", f"{year}年企业薪酬调查", year)
    await _salary_survey(db, rng, salary, firms, year=year, base=0.55, pay_factor=lambda f: 1.0)
    summary.campaigns.append(salary)
    say(f"{salary.title}: {salary.submitted} surveys, {salary.worker_rows:,} worker rows")

    poll = await _campaign(db, "worker-satisfaction", f"{year}年职工满意度调查", year)
    await _poll(db, rng, poll, firms)
    summary.campaigns.append(poll)
    say(f"{poll.title}: {poll.answers:,} answers through {poll.links} links")

    assessment = await _campaign(db, "enterprise-self-assessment", f"{year}年企业“六有”自评", year)
    await _self_assessments(db, rng, assessment, firms, year)
    summary.campaigns.append(assessment)
    say(f"{assessment.title}: {assessment.submitted} self-assessments")

    # Last year's survey is over: its window moves a year back (no API edits a campaign).
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(
            update(Campaign)
            .where(Campaign.id == last.id)
            .values(opens_at=now - timedelta(days=380), closes_at=now - timedelta(days=320))
        )
    if releases:
        # Last year's first: this year's wage release reads it for the year-on-year change.
        for figures in summary.campaigns:
            started_release = time.perf_counter()
            info = await create_release(
                db, figures.id, during_collection=True, note="demo", created_by=None,
                audit=audit_release(None),
            )  # fmt: skip
            figures.release = info.number
            say(
                f"{figures.title}: release {info.number} in "
                f"{time.perf_counter() - started_release:.1f} s"
                + (" (during collection)" if info.during_collection else "")
            )
    summary.seconds = time.perf_counter() - started
    return summary
