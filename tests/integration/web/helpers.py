"""What the page tests share: reading the CSRF token off a page, signing in as an enterprise
or an admin, and checking that a page is well formed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tests.conftest import Service

_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


async def sign_in(service: Service, token: str, *, admin: bool = False) -> httpx.Response:
    """Sign in through the page: fetch the form (a session with its CSRF token), post it."""
    base = "/admin" if admin else "/e"
    form = await service.client.get(f"{base}/signin")
    assert form.status_code == 200, form.text
    return await service.client.post(
        f"{base}/signin", data={"token": token, "_csrf": csrf_of(form.text)}
    )


async def page_csrf(service: Service, path: str) -> str:
    page = await service.client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


class _Balance(HTMLParser):
    """Fails on a closing tag that does not match the open one; records what is left open."""

    VOID = frozenset({"meta", "input", "br", "hr", "img", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1:] == [tag], f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def assert_well_formed(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert parser.stack == []


class _Text(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


# Words a Chinese page may show: file formats, names of standards and the product's own.
_ALLOWED = frozenset({"CSV", "JSON", "Excel", "PDF", "API", "English", "xlsx", "csv", "GB", "UTC"})


def english_words(html: str) -> list[str]:
    """Latin words of three letters or more in the visible text of a page."""
    reader = _Text()
    reader.feed(html)
    words = re.findall(r"[A-Za-z]{3,}", " ".join(reader.parts))
    return [w for w in words if w not in _ALLOWED]
