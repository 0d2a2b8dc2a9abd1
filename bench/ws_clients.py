"""WebSocket clients for bench.bench_api, in a process of their own (the load generator must not share the
API's or the publisher's process): connects N clients to /live-metrics, says READY on stdout once every
snapshot is read, then records when each client received each window and writes JSON lines
`{"window_start": ..., "received_s": [...]}`... to --out once every client has --messages messages.

    python -m bench.ws_clients --url ws://127.0.0.1:8000 --event-type bench-fan --clients 100 --messages 200 --out F
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect


async def receive(url: str, event_type: str, clients: int, messages: int, timeout_s: float) -> dict[int, list[float]]:
    """When (time.time()) each client received each window_start, once every client has `messages`."""
    sockets: list[ClientConnection] = []
    for _ in range(clients):
        sockets.append(await connect(f"{url}/live-metrics?event_type={event_type}", max_queue=None))
    for socket in sockets:  # the snapshot: the newest window of the series, written before the clients came
        await asyncio.wait_for(socket.recv(), 30)
    received: dict[int, list[float]] = defaultdict(list)

    async def read(socket: ClientConnection) -> None:
        for _ in range(messages):
            raw = await socket.recv()
            received[json.loads(raw)["window_start"]].append(time.time())

    print("READY", flush=True)
    await asyncio.wait_for(asyncio.gather(*(read(socket) for socket in sockets)), timeout_s)
    for socket in sockets:
        await socket.close()
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="ws://host:port of the API")
    parser.add_argument("--event-type", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--messages", type=int, required=True, help="windows each client waits for")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    received = asyncio.run(receive(args.url, args.event_type, args.clients, args.messages, args.timeout))
    args.out.write_text("".join(json.dumps({"window_start": start, "received_s": times}) + "\n"
                                for start, times in received.items()))


if __name__ == "__main__":
    main()
