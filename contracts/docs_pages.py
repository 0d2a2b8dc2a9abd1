"""How both HTTP services serve their interactive docs, Swagger UI at /docs and ReDoc at /redoc, so that the
pages work without internet: the scripts, styles and favicon come from the pinned `fastapi-offline` package
and are served by the service itself (no CDN, no web fonts), and a Content-Security-Policy keeps the pages
from asking anything of another host (ReDoc's sidebar would otherwise fetch its logo from a CDN)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH = "/docs-assets"
# Only this service: the pages' inline start-up script and styles, data: images, ReDoc's search worker (blob:).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
# Swagger UI would otherwise ask validator.swagger.io to check the document.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def add_offline_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc for an app made with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png", swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png", with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
