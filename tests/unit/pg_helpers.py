"""A PostgreSQL server for the journal tests: its URL, and a fresh schema per test."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

ENV = "CHAINOPS_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_url() -> str:
    return os.environ.get(ENV, DEFAULT_URL)


def pg_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when the server answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: pip install -e '.[postgres]'"
    try:
        psycopg.connect(pg_url(), connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL at {pg_url()} ({exc}); set {ENV} to a server's URL"
    return None


def require_pg() -> None:
    reason = pg_reason()
    if reason is not None:
        pytest.skip(reason)


def new_schema() -> str:
    """A schema name no other test run uses."""
    return f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def schema_fixture() -> Iterator[str]:
    """Body of a fixture: a fresh schema, dropped afterwards."""
    require_pg()
    schema = new_schema()
    try:
        yield schema
    finally:
        drop_schema(schema)


class NetworkCut:
    """A TCP relay to the PostgreSQL server that the test can cut and reconnect.

    The journal connects through it (``url``); ``cut()`` closes every relayed
    connection and refuses new ones, as a network failure would; ``heal()`` lets
    connections through again on the same port.
    """

    def __init__(self) -> None:
        import socket
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(pg_url())
        self._target = (target.hostname or "127.0.0.1", target.port or 5432)
        self._socket = socket
        self._threading = threading
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        netloc = f"{target.username + '@' if target.username else ''}127.0.0.1:{self.port}"
        self.url = target._replace(netloc=netloc).geturl()
        self.heal()

    def heal(self) -> None:
        listener = self._socket.socket()
        listener.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        self._threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                    self._listener.shutdown(self._socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(self._socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    close = cut

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = self._socket.create_connection(self._target)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                self._threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: Any, sink: Any) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(2)


def until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``check`` until true; False after ``timeout`` (the server sees a session end
    a moment after the client closes it)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
