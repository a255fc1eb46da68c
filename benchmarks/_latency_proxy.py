"""A TCP proxy on loopback that delays each request by a fixed time (not a benchmark itself).

    with LatencyProxy("http://127.0.0.1:8765", 0.020) as url: ...   # every client through url

What a client sends is forwarded ``delay`` seconds after it arrived (a request is one read
here: they are small); the answers
come back at once. So each request/response exchange takes ``delay`` longer, for every client
alike (httpx, or snowflake-core's urllib3): a network between a notebook and a cloud region,
which the local server on loopback does not have. The proxy runs in a process of its own, so it
shares no GIL with the clients measured.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any
from urllib.parse import urlsplit


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    try:
        while data := await reader.read(65536):
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve(host: str, port: int, delay: float, ready: Any) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, port)
        await asyncio.gather(_pipe(client_r, server_w, delay), _pipe(server_r, client_w, 0.0))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready.put(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _run(host: str, port: int, delay: float, ready: Any) -> None:
    asyncio.run(_serve(host, port, delay, ready))


class LatencyProxy:
    """Start the proxy in a child process; yields its URL; stops it on exit."""

    def __init__(self, target_url: str, delay: float) -> None:
        parts = urlsplit(target_url)
        self.host, self.port, self.delay = parts.hostname or "127.0.0.1", parts.port, delay
        self._process: Any = None

    def __enter__(self) -> str:
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        self._process = context.Process(target=_run, args=(self.host, self.port, self.delay,
                                                           ready), daemon=True)
        self._process.start()
        return f"http://127.0.0.1:{ready.get(timeout=30)}"

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(10)
