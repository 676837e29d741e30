"""The interactive API documentation at /schema, served from this machine only.

Litestar's render plugins load their scripts, styles and favicon from public CDNs (some at
``@latest``): offline the page is blank, and what it runs is whatever the CDN serves that day.
Here Swagger UI's files come from an installed package (swagger-ui-py, pinned by the
installation like any other dependency) through a static files route beside the document.

swagger-ui-bundle, the better-known package, was not taken: it ships Swagger UI 4.15, which
refuses to render an OpenAPI 3.1 document ("Supported version fields are ... openapi: 3.0.n"),
and Litestar writes 3.1. Scalar, the previous page at /schema, has no Python package at all.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

DOCS_PATH = "/schema"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# Everything the page loads; the static route serves only the package's folder.
_SCRIPT = f"{ASSETS_PATH}/swagger-ui-bundle.js"
_PRESET = f"{ASSETS_PATH}/swagger-ui-standalone-preset.js"
_STYLE = f"{ASSETS_PATH}/swagger-ui.css"
_ICON = f"{ASSETS_PATH}/favicon-32x32.png"


def swagger_assets() -> Path:
    """The folder of Swagger UI's built files inside the installed package.

    Found without importing the package: its ``__init__`` loads web framework adapters
    and Jinja templates that this app has no use for.
    """
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        raise RuntimeError("swagger-ui-py is not installed: reinstall workflow-automation")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def docs_page() -> SwaggerRenderPlugin:
    """Swagger UI at /schema and /schema/swagger, every file it loads from ASSETS_PATH."""
    return SwaggerRenderPlugin(
        path=["/", "/swagger"],
        js_url=_SCRIPT,
        css_url=_STYLE,
        standalone_preset_js_url=_PRESET,
        favicon=f"<link rel='icon' type='image/png' href='{_ICON}'>",
    )


def docs_assets() -> Router:
    """The static route behind the page's script, style sheet and icon."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[swagger_assets()],
        include_in_schema=False,
        # The files change only with the installed package; a day keeps reloads cheap.
        cache_control=CacheControlHeader(max_age=86400, public=True),
        name="schema-assets",
    )
