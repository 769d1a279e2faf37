"""The landing page at ``/`` through HTTP on SQLite and PostgreSQL (issue 12, item 9): a
newcomer who opens the service's address finds where to go, and every address it names
answers."""

from __future__ import annotations

import re

from tests.conftest import Service
from tests.integration.web.helpers import assert_well_formed


async def test_the_address_of_the_service_shows_where_to_go(service: Service) -> None:
    response = await service.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_well_formed(response.text)
    assert "<h1>劳动关系调查服务</h1>" in response.text
    links = dict(re.findall(r'<a href="(/[^"?]*)">([^<]+)</a>', response.text))
    assert links == {
        "/admin": "管理员",
        "/e": "企业填报",
        "/analyst": "分析员",
        "/schema/openapi.json": "接口文档（OpenAPI）",
    }
    admin = await service.client.get("/admin")
    assert admin.headers["location"] == "/admin/signin"
    enterprise = await service.client.get("/e")
    assert enterprise.headers["location"] == "/e/signin"
    analyst = await service.client.get("/analyst")
    assert analyst.headers["location"] == "/analyst/signin"
    document = await service.client.get("/schema/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/forms" in document.json()["paths"]


async def test_the_landing_page_speaks_english_when_asked(service: Service) -> None:
    response = await service.client.get("/", params={"lang": "en"})
    assert response.status_code == 200
    assert '<a href="/admin">Administrators</a>' in response.text
    assert '<a href="/schema/openapi.json">API documentation (OpenAPI)</a>' in response.text
    assert "管理员" not in response.text
