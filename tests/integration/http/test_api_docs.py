"""/schema works offline: every page loads only files this server answers, and says what it does."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

# Every page that renders the document (the not-found page of /schema/* aside).
UI_PAGES = ["/schema", "/schema/swagger", "/schema/oauth2-redirect.html"]
EXPECTED_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


class _Referenced(HTMLParser):
    """The URLs an HTML page makes the browser fetch: scripts, style sheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            value = found.get(name)
            if value and (tag != "a" or name != "href"):
                self.urls.append(value)


def referenced(html: str) -> list[str]:
    parser = _Referenced()
    parser.feed(html)
    # Also URLs written in inline scripts or styles (import(...), url(...), fetch("...")).
    parser.urls += re.findall(r"""(?:https?:)?//[^\s'"<>)]+""", html)
    return parser.urls


@pytest.mark.parametrize("page", UI_PAGES)
async def test_each_ui_page_references_only_local_files(api, page):
    api.client.headers.pop("Authorization")  # the documentation needs no key
    response = await api.client.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    urls = referenced(response.text)
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url}"


async def test_the_page_loads_its_script_style_and_icon_from_this_server(api):
    api.client.headers.pop("Authorization")
    urls = referenced((await api.client.get("/schema")).text)
    # Swagger UI needs all three; a page without them renders nothing.
    assert {u.rsplit("/", 1)[-1] for u in urls} >= {
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
    }
    for url in urls:
        answer = await api.client.get(url)
        assert answer.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert answer.headers["content-type"].startswith(EXPECTED_TYPES[suffix]), url
        assert len(answer.content) > 100, url
    bundle = await api.client.get(next(u for u in urls if u.endswith("swagger-ui-bundle.js")))
    # Swagger UI 5 renders OpenAPI 3.1, which Litestar writes; version 4 refuses it.
    assert "SwaggerUIBundle" in bundle.text
    assert "isOAS31" in bundle.text


async def test_the_assets_route_serves_files_not_the_filesystem(api):
    api.client.headers.pop("Authorization")
    for escape in ("/schema/assets/../api_docs.py", "/schema/assets/%2e%2e/%2e%2e/etc/passwd"):
        assert (await api.client.get(escape)).status_code == 404


async def test_every_operation_says_what_it_does(api):
    spec = (await api.client.get("/schema/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            description = operation.get("description", "")
            assert len(description) >= 20, f"{method.upper()} {path} has no description"
    assert not [p for p in spec["paths"] if p.startswith("/schema")]
