"""A TCP proxy a test can cut and restore: a database outage without stopping the database.

The machine's PostgreSQL is shared by every test (and may be the developer's own), so
a test never stops it. Servers under test reach it through this proxy instead; `cut()`
closes the listening port and every open connection, exactly what clients see when the
server goes down, and `restore()` listens again on the same port.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Optional, Set

from harness.servers import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` in a background thread."""

    def __init__(self, target_host: str, target_port: int, port: Optional[int] = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: Set[asyncio.StreamWriter] = set()

    def _call(self, coroutine) -> None:  # noqa: ANN001 - a coroutine object
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    def restore(self) -> None:
        """Listen (again) on the same port."""
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening and drop every open connection at once."""
        self._call(self._close())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
