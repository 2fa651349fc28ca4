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

from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.parts import NonceBook, PipelineVerbs


class Recovery:
    """The EVM side of ``restore()``."""

    def __init__(self, nonces: NonceBook, pipeline: PipelineVerbs) -> None:
        self.nonces = nonces
        self.pipeline = pipeline

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
