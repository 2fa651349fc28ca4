"""Recovery on start: finish what the journal says is unfinished, fill burnt nonces.

After a crash a transaction may be signed but not sent, sent but not mined, or
mined while we were down. The restore template (:mod:`chainops.operators.chain`)
tracks every non-terminal transaction of the account and looks all its attempts
up by hash in one monitor turn; this part supplies the EVM steps around it:
each journalled nonce is adopted, nonces reserved but never journalled are
filled, and one the chain still does not know is re-sent with its journalled
bytes. Nothing is rebuilt or re-signed.
"""

from __future__ import annotations

import logging

from chainops.core.errors import JournalMismatch
from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.history_check import OWN_JOURNAL, missing_history
from chainops.operators.evm.parts import NodeRpc, NonceBook, PipelineVerbs

log = logging.getLogger("chainops.evm")


class Recovery:
    """The EVM side of ``restore()``.

    ``rpc``, ``chain_id`` and ``local`` serve the check that the node holds the
    journal's history (:mod:`.history_check`); without ``rpc`` it is skipped.
    """

    def __init__(
        self,
        nonces: NonceBook,
        pipeline: PipelineVerbs,
        *,
        rpc: NodeRpc | None = None,
        chain_id: int = 0,
        local: bool = False,
    ) -> None:
        self.nonces = nonces
        self.pipeline = pipeline
        self.rpc = rpc
        self.chain_id = chain_id
        self.local = local

    async def screen(self, journalled: list[Transaction]) -> frozenset[str]:
        """The client ids a restore must leave alone: none while the node holds the
        journal's history. Without it, on a local chain (restarted: another chain) all of
        them, kept in the journal with a warning; on any other, JournalMismatch."""
        reason = await self._missing(journalled)
        if reason is None:
            return frozenset()
        if not self.local:
            raise JournalMismatch(f"{reason} {OWN_JOURNAL}")
        self.nonces.forget_high_water()  # the old chain's nonces: not gaps to fill here
        log.warning(
            "%s Its %d open transactions of this account are set aside: kept in the "
            "journal, neither restored nor sent again on this chain.",
            reason,
            len(journalled),
        )
        return frozenset(str(tx.client_id) for tx in journalled)

    async def refuse_other_chain(self, journalled: list[Transaction]) -> None:
        """JournalMismatch unless the node holds the journal's history (local or not)."""
        reason = await self._missing(journalled)
        if reason is not None:
            raise JournalMismatch(f"{reason} {OWN_JOURNAL}")

    async def _missing(self, journalled: list[Transaction]) -> str | None:
        if self.rpc is None or not any(tx.state is TxState.CONFIRMED for tx in journalled):
            return None  # no witness to check: no read
        count = await self.nonces.sync()
        return await missing_history(
            self.rpc, journalled, count, chain_id=self.chain_id, local=self.local
        )

    async def adopt(self, tx: Transaction) -> None:
        """Take a journalled transaction's nonce back into the allocator."""
        if tx.nonce is not None:
            await self.nonces.adopt(tx.nonce)

    async def fill_gaps(self, restored: list[Transaction]) -> list[Transaction]:
        """Fill nonces reserved but never journalled (a crash between the two) with 0-value
        self-transfers: left empty, each blocks every later transaction of the account.

        Run at start, when no other process is mid-send for this account.
        """
        known = {tx.nonce for tx in restored if tx.nonce is not None}
        chain = await self.nonces.sync()
        fills: list[Transaction] = []
        for nonce in range(chain, self.nonces.high_water()):
            if nonce in known:
                continue
            await self.nonces.adopt(nonce)
            fills.append(await self.pipeline.fill(nonce))
        return fills

    async def resume(self, restored: list[Transaction]) -> None:
        """After the first turn: re-send the journalled bytes of what is still unmined."""
        for tx in restored:
            latest = tx.latest_attempt
            if tx.state in (TxState.SIGNED, TxState.BROADCAST) and latest is not None:
                await self.pipeline.broadcast(tx, latest, restoring=True)
