"""The one form renderer through HTTP on SQLite and PostgreSQL: every widget the builder
offers is drawn with its limits, and a page posted without JavaScript (sections, table
rows, several choices, a hidden show-if field) comes back as the document the schema
describes; and the session secret is kept in var/."""

from __future__ import annotations

import re
import stat
from typing import Any

from sqlalchemy import select

from survey_service.app import create_app
from survey_service.db.models import PollResponse
from survey_service.settings import Settings
from tests.conftest import Service
from tests.factories import open_poll
from tests.integration.web.helpers import assert_well_formed

EVERY_WIDGET: list[dict[str, Any]] = [
    {"type": "text", "name": "note", "label": {"zh": "说明"}, "max_length": 30},
    {"type": "number", "name": "staff", "label": {"zh": "人数"}, "integer": True, "minimum": 1},
    {"type": "money", "name": "bonus", "label": {"zh": "奖金"}, "maximum": 100000},
    {
        "type": "date",
        "name": "signed",
        "label": {"zh": "签订日期"},
        "min_date": "2020-01-01",
        "max_date": "2030-12-31",
    },
    {
        "type": "single_choice",
        "name": "union",
        "label": {"zh": "有工会吗"},
        "required": True,
        "choices": [
            {"value": "yes", "label": {"zh": "有"}},
            {"value": "no", "label": {"zh": "没有"}},
        ],
    },
    {
        "type": "multiple_choice",
        "name": "topics",
        "label": {"zh": "协商议题"},
        "choices": [
            {"value": "pay", "label": {"zh": "工资"}},
            {"value": "hours", "label": {"zh": "工时"}},
            {"value": "safety", "label": {"zh": "安全"}},
        ],
    },
    {
        "type": "likert",
        "name": "trust",
        "label": {"zh": "信任工会"},
        "scale": 5,
        "low_label": {"zh": "完全不"},
        "high_label": {"zh": "完全"},
    },
    {
        "type": "text",
        "name": "union_name",
        "label": {"zh": "工会名称"},
        "show_if": {"field": "union", "equals": "yes"},
    },
    {
        "type": "table",
        "name": "members",
        "label": {"zh": "委员"},
        "columns": [
            {"type": "text", "name": "role", "label": {"zh": "职务"}, "required": True},
            {"type": "number", "name": "years", "label": {"zh": "任职年数"}},
        ],
    },
    {
        "type": "section",
        "name": "contact",
        "label": {"zh": "联系人"},
        "fields": [
            {"type": "text", "name": "name", "label": {"zh": "姓名"}},
            {"type": "text", "name": "phone", "label": {"zh": "电话"}},
        ],
    },
]


async def _poll_of(service: Service, fields: list[dict[str, Any]]) -> str:
    created = await service.client.post(
        "/api/v1/forms",
        json={"key": "every-widget", "kind": "poll", "title": {"zh": "全部题型"}, "fields": fields},
        headers=service.admin,
    )
    assert created.status_code == 201, created.text
    published = await service.client.post(
        "/api/v1/forms/every-widget/versions/1/publish", headers=service.admin
    )
    assert published.status_code == 200
    _, slug = await open_poll(service, form_key="every-widget", title="全部题型")
    return slug


async def test_every_builder_widget_is_drawn_with_its_limits(service: Service) -> None:
    slug = await _poll_of(service, EVERY_WIDGET)
    service.client.cookies.clear()
    page = await service.client.get(f"/p/{slug}")
    assert page.status_code == 200
    html = page.text
    assert_well_formed(html)
    assert '<input id="q0" name="note" type="text" value="" maxlength="30"' in html
    assert 'name="staff" type="number" value="" inputmode="numeric" step="1" min="1"' in html
    assert 'name="bonus" type="number" value="" inputmode="decimal" step="0.01" min="0"' in html
    assert 'max="100000"' in html
    assert "<span>元</span>" in html
    assert 'name="signed" type="date" value="" min="2020-01-01" max="2030-12-31"' in html
    assert html.count('type="radio" name="union"') == 2
    assert 'type="radio" name="union" value="yes" required' in html
    assert html.count('type="checkbox" name="topics"') == 3
    assert html.count('type="radio" name="trust"') == 5
    assert "1 = 完全不，5 = 完全" in html
    assert 'data-show-if="union" data-show-values="[&#34;yes&#34;]"' in html
    assert "仅当“有工会吗”为“有”时作答。" in html
    assert 'name="members.0.role"' in html
    assert 'name="members.__i__.role"' in html  # the row template for the script
    assert 'value="add_row:members"' in html
    assert '<fieldset class="question section" id="q9"' in html
    assert 'name="contact.phone"' in html


async def test_a_page_posted_without_javascript_becomes_the_document(service: Service) -> None:
    slug = await _poll_of(service, EVERY_WIDGET)
    service.client.cookies.clear()
    posted = await service.client.post(
        f"/p/{slug}",
        data={
            "note": "  第一行 ",
            "staff": "12",
            "bonus": "1200.50",
            "signed": "2024-03-01",
            "union": "no",
            "topics": ["pay", "safety"],
            "trust": "4",
            "union_name": "不该保存：这一题没有显示",
            "members.0.role": "主席",
            "members.0.years": "3",
            "members.1.role": "",
            "members.1.years": "",
            "members.7.role": "委员",
            "contact.name": "李娟",
            "contact.phone": "",
        },
    )
    assert posted.status_code == 303, posted.text
    async with service.db.read() as session:
        [row] = list(await session.scalars(select(PollResponse)))
    assert row.data == {
        "note": "第一行",
        "staff": 12,
        "bonus": 1200.5,
        "signed": "2024-03-01",
        "union": "no",
        "topics": ["pay", "safety"],
        "trust": 4,
        "members": [{"role": "主席", "years": 3}, {"role": "委员"}],
        "contact": {"name": "李娟"},
    }


async def test_a_refused_post_keeps_the_rows_and_marks_the_cell(service: Service) -> None:
    slug = await _poll_of(service, EVERY_WIDGET)
    service.client.cookies.clear()
    refused = await service.client.post(
        f"/p/{slug}",
        data={"union": "yes", "members.0.years": "2", "signed": "2019-12-31", "bonus": "1.005"},
    )
    assert refused.status_code == 422
    html = refused.text
    assert_well_formed(html)
    assert 'name="members.0.years" type="number" value="2"' in html
    assert '<p class="error" id="q8-r0-0-error">此题必答</p>' in html  # the row's role
    # The error summary names the row as well as the column (issue 12, item 7).
    assert re.search(r'<a href="#q8-r0-0">此题必答：第 1 行 [^<]+</a>', html), html
    assert "不能早于 2020-01-01" in html
    assert 'name="union" value="yes" checked' in html


def test_the_session_secret_is_generated_once_into_var(tmp_path: Any) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    create_app(settings)
    secret = tmp_path / "var" / "session-secret"
    first = secret.read_text()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(first.strip()) >= 40
    create_app(settings)
    assert secret.read_text() == first
