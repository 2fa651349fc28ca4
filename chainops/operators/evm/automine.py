"""A local automining node that leaves an executable transaction in its pool.

Anvil mines a block when a transaction becomes ready; rarely (a transaction
promoted from the future queue while a block is being built) the notice is
lost and the transaction waits for the next one: on an automining devnet with
no other sender, forever. The watchdog, seeing the account's next nonce pooled
and unmined across two looks, asks the node whether it is automining and, only
then, for one block. A node whose miner the user stopped is left alone.
"""

from __future__ import annotations

import logging

from chainops.core.errors import ChainopsError
from chainops.operators.evm.parts import NodeRpc

log = logging.getLogger("chainops.evm.automine")

# Anvil answers both; Hardhat the second. Ganache has neither: never nudged.
_AUTOMINE_QUERIES = ("anvil_getAutomine", "hardhat_getAutomine")


async def automining(rpc: NodeRpc) -> bool:
    """True if the node says it mines a block for every ready transaction."""
    for method in _AUTOMINE_QUERIES:
        try:
            answer = await rpc.call(method, [])
        except ChainopsError:
            continue
        return answer is True
    return False


async def mine_if_automining(rpc: NodeRpc, why: str) -> bool:
    """Mine one block if the node automines (it should have mined already); True if mined."""
    if not await automining(rpc):
        return False
    try:
        await rpc.call("evm_mine", [])
    except ChainopsError as exc:
        log.info("evm_mine for %s refused: %s", why, exc)
        return False
    log.warning("the automining node left %s unmined in its pool: mined one block", why)
    return True
