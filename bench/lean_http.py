"""A load client that costs little next to the server it measures.

On a 2-core machine the benchmark client shares the CPUs with track_service: httpx spent ~3.5 ms of
CPU per request here, more than the server, so it, not the service, set the rate of small batches.
This sender writes HTTP/1.1 requests by hand over keep-alive connections (asyncio streams) and reads
only the status and the counts of each answer. It speaks just enough HTTP for track_service: plain
http, answers with Content-Length.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import msgspec

from tools.loadgen import Sender, Tally

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LeanHttpSender(Sender):
    def __init__(self, url: str, single: bool, api_key: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"LeanHttpSender needs http://host:port, got {url}")
        self.host, self.port = parts.hostname, parts.port
        self.single = single
        # The write key, sent as X-API-Key on every request (where TRACK_API_KEYS or Compose set one).
        self._key_header = b"X-API-Key: %s\r\n" % api_key.encode() if api_key else b""
        self._idle: list[_Connection] = []
        self._open: list[_Connection] = []

    async def send(self, batch: list[dict[str, Any]], tally: Tally) -> None:
        if self.single:
            for event in batch:
                status, _ = await self._timed_post(b"/track", msgspec.json.encode(event), tally)
                tally.count_track_answer(status)
            return
        status, body = await self._timed_post(b"/track/batch", msgspec.json.encode({"events": batch}), tally)
        tally.count_batch_answer(status, body, len(batch))

    async def _timed_post(self, path: bytes, body: bytes, tally: Tally) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            answer = await self._post(path, body)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            return 0, b""  # counted as failed by the caller
        tally.latencies_s.append(time.perf_counter() - started)
        return answer

    async def _post(self, path: bytes, body: bytes) -> tuple[int, bytes]:
        reader, writer = self._idle.pop() if self._idle else await self._connect()
        writer.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
                     % (path, self.host.encode(), self._key_header, len(body)))
        writer.write(body)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            answer = await reader.readexactly(length)
        except BaseException:
            writer.close()
            self._open.remove((reader, writer))
            raise
        self._idle.append((reader, writer))
        return status, answer

    async def _connect(self) -> _Connection:
        connection = await asyncio.open_connection(self.host, self.port)
        self._open.append(connection)
        return connection

    async def close(self, tally: Tally) -> None:
        for _, writer in self._open:
            writer.close()
        self._open.clear()
        self._idle.clear()
