"""The reference of the single-event benchmark: a bare FastAPI app that parses a JSON body and answers 202.

    ECHO_PORT=18001 [ECHO_WORKERS=2] .venv/bin/python -m bench.echo_app

What a team would write first, with none of track_service's guarantees (no validation, no Kafka, no dedup,
no limits), served by uvicorn with the same options as `python -m track_service` (`SERVER_OPTIONS`).
"""

from __future__ import annotations

import os
import uuid

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from track_service.__main__ import SERVER_OPTIONS

app = FastAPI()


@app.post("/track", status_code=202)
async def track(request: Request) -> JSONResponse:
    event = await request.json()
    event_id = event.get("event_id") or uuid.uuid4().hex
    return JSONResponse({"status": "accepted", "event_id": event_id, "duplicate": False}, 202)


def main() -> None:
    workers = int(os.environ.get("ECHO_WORKERS", "1"))
    uvicorn.run("bench.echo_app:app" if workers > 1 else app, host="127.0.0.1", port=int(os.environ["ECHO_PORT"]),
                workers=workers, log_level="warning", **SERVER_OPTIONS)


if __name__ == "__main__":
    main()
