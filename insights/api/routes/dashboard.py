"""The dashboard: its page and files (public: they hold no data) and the overview aggregates it draws (token).

The page (insights/api/static/dashboard.html) asks the user for a bearer token (or takes the one `serve` put in
the URL fragment) and calls the API's own routes with it. Its files are read once per container; the page names
each file with a digest of them all (``?v=...``), so a file asked with the current digest is cached for a year
and the page itself is revalidated (ETag) on every visit.
"""

from __future__ import annotations

import hashlib
import html
import threading
from pathlib import Path
from typing import Any, cast

from aws_lambda_powertools.event_handler import Response

from insights.api import overview
from insights.api.error_codes import ALWAYS, AUTH
from insights.api.events import DASHBOARD, DASHBOARD_FILES, PREFIX, header
from insights.api.overview_responses import OverviewResponse
from insights.api.routes.kit import SECURITY, Recording
from insights.api.routes.kit import answers as _answers
from insights.api.runtime import ApiRuntime

__all__ = ["register", "STATIC_DIR", "CONTENT_TYPES", "page_and_files"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".LICENSE": "text/plain; charset=utf-8"}
_PAGE = "dashboard.html"
_VENDOR = ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE")  # uPlot 1.6.32 (MIT), vendored as published
# The page runs only its own files and talks only to this origin; nothing inline, nothing from elsewhere.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
}
_files: dict[str, tuple[str, str]] = {}  # name -> (text, etag); the page under _PAGE
_lock = threading.Lock()


def page_and_files() -> dict[str, tuple[str, str]]:
    """The page (digest filled in) and each file, as (text, ETag), read once from insights/api/static/."""
    with _lock:
        if not _files:
            texts = {name: _path(name).read_text(encoding="utf-8") for name in DASHBOARD_FILES}
            digest = hashlib.sha256("".join(texts[n] for n in DASHBOARD_FILES).encode()).hexdigest()[:12]
            page = _path(_PAGE).read_text(encoding="utf-8").replace("{{v}}", digest)
            for name, text in [*texts.items(), (_PAGE, page)]:
                _files[name] = (text, '"' + hashlib.sha256(text.encode()).hexdigest()[:16] + '"')
            _files["{{v}}"] = (digest, "")
        return dict(_files)


def _path(name: str) -> Path:
    return STATIC_DIR / ("vendor" if name in _VENDOR else "") / name


def _asked_path(event: dict[str, Any]) -> str:
    """The page's path as the browser asked it (stage included, no trailing slash): its files are beneath it."""
    context = event.get("requestContext") or {}
    raw = event.get("rawPath") if event.get("version") == "2.0" else context.get("path") or event.get("path")
    return str(raw or DASHBOARD).rstrip("/") or DASHBOARD


def _content_type(name: str) -> str:
    return CONTENT_TYPES[next(s for s in CONTENT_TYPES if name.endswith(s))]


def register(app: Recording, runtime: ApiRuntime) -> None:
    """Add the overview route, the dashboard page and its files to ``app``."""
    resolver = app.resolver

    @app.get(f"{PREFIX}/overview", tags=["customers"], security=SECURITY,
             responses=_answers("aggregates over every customer and the busiest products", *AUTH, *ALWAYS),
             summary="The store at a glance: customers, revenue, risk and CLV distributions, top products")
    def get_overview() -> OverviewResponse:
        return cast(OverviewResponse, overview.overview(runtime.snapshot()))

    def serve(name: str) -> Response[str]:
        files = page_and_files()
        text, etag = files[name]
        event = resolver.current_event
        if name == _PAGE:  # its files are named from the path it was asked at (a named stage prefixes it)
            text = text.replace("{{base}}", html.escape(_asked_path(event.raw_event), quote=True))
            etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:16] + '"'
            headers = {**_PAGE_HEADERS, "Cache-Control": "no-cache"}
        else:
            current = (event.query_string_parameters or {}).get("v") == files["{{v}}"][0]
            headers = {"X-Content-Type-Options": "nosniff",
                       "Cache-Control": "public, max-age=31536000, immutable" if current else "no-cache"}
        headers["ETag"] = etag
        if etag in [t.strip() for t in (header(event.raw_event, "if-none-match") or "").split(",")]:  # it has it
            return Response(304, None, "", headers=headers)
        return Response(200, _content_type(name), text, headers=headers)

    @app.get(DASHBOARD, include_in_schema=False, enable_validation=False)
    def get_dashboard() -> Response[str]:
        return serve(_PAGE)

    for file_name in DASHBOARD_FILES:
        def get_file(name: str = file_name) -> Response[str]:
            return serve(name)

        app.get(f"{DASHBOARD}/{file_name}", include_in_schema=False, enable_validation=False)(get_file)
