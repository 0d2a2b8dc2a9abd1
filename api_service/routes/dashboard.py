"""The built dashboard at /static/ and a redirect from /; a clear 503 if it was never built."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api_service.deps import SettingsDep
from api_service.settings import Settings

log = logging.getLogger(__name__)


async def root() -> RedirectResponse:
    return RedirectResponse("/static/index.html")


async def not_built(path: str, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"detail": f"dashboard not built in {settings.dashboard_dir}: run `make setup`"},
    )


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    """Serve the build at /static/ when there is one, else answer there with a 503 saying how to build it."""
    app.add_api_route("/", root, methods=["GET"], include_in_schema=False)
    if (settings.dashboard_dir / "index.html").is_file():
        app.mount("/static", StaticFiles(directory=settings.dashboard_dir, html=True), name="static")
        return
    log.warning("no dashboard build in %s: run `make setup` (npm run build in dashboard/)", settings.dashboard_dir)
    app.add_api_route("/static/{path:path}", not_built, methods=["GET"], include_in_schema=False)
