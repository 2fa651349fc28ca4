"""The keeper of one worker's leases or claims in a shared journal.

Every quarter of the expiry it renews the holder (and ends what finished meanwhile),
then looks for dead workers' leases or claims and takes them over. A failed renewal
is retried on the next beat; a failed takeover never stops the beats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from chainops.core.errors import ChainopsError
from chainops.core.journal import Journal

if TYPE_CHECKING:
    from chainops.core.journal.leases_pg import PostgresLeases

log = logging.getLogger("chainops.keeper")


def shared_store(journal: Journal, expiry: float) -> PostgresLeases | None:
    """The leases and claims of a shared (PostgreSQL) journal; None for an embedded one."""
    module = sys.modules.get("chainops.core.journal.postgres")  # loaded if one was opened
    if module is None or not isinstance(journal, module.PostgresJournal):
        return None
    from chainops.core.journal.leases_pg import PostgresLeases

    return PostgresLeases(journal, expiry=expiry)


class Keeper:
    """A background beat: ``renew()`` then ``sweep()``, four times per ``expiry``."""

    def __init__(
        self,
        *,
        what: str,
        holder: str,
        expiry: float,
        renew: Callable[[], None],
        sweep: Callable[[], Awaitable[object]],
    ) -> None:
        self.what = what
        self.holder = holder
        # Four beats per expiry: one late or lost beat does not cost the holder its work.
        self.period = expiry / 4
        self._renew = renew
        self._sweep = sweep
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                self._renew()
            except ChainopsError as exc:
                log.warning("%s heartbeat of %s failed: %s", self.what, self.holder, exc)
                continue
            try:
                await self._sweep()
            except Exception:  # the heartbeat must outlive any failure of a takeover
                log.warning("%s takeover by %s failed", self.what, self.holder, exc_info=True)
