"""The simulator on its own thread and event loop: for sync code, the CLI and pytest fixtures."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.server import ExchangeSimulator

__all__ = ["BackgroundSimulator"]

T = TypeVar("T")


class BackgroundSimulator:
    """Runs an :class:`ExchangeSimulator` on a daemon thread; ``call`` runs code on its loop."""

    def __init__(self, **options: Any) -> None:
        self.sim = ExchangeSimulator(**options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sim.start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self.sim.stop(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the simulator loop (its state is not thread-safe); return its value."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    def create_account(
        self, balances: dict[str, Decimal | str | int] | None = None, **options: Any
    ) -> Account:
        """As :meth:`ExchangeSimulator.create_account` (``key_type="ed25519"`` and the like)."""
        return self.call(lambda: self.sim.create_account(balances, **options))

    @property
    def url(self) -> str:
        return self.sim.url

    @property
    def stream_url(self) -> str:
        return self.sim.stream_url

    @property
    def ws_api_url(self) -> str:
        return self.sim.ws_api_url

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
