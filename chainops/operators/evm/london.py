"""Is the chain past London? What nodes say about a pre-London (legacy) chain.

Nodes show a chain without EIP-1559 in different ways: Hardhat refuses
``eth_feeHistory`` ("eth_feeHistory is disabled ..."), Ganache reports a null base
fee (and, once blocks exist, fails the call outright), Anvil reports base fees of
zero. The latest block settles it: a pre-London block has no ``baseFeePerGas``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from chainops.core.errors import RpcError, RpcPermanentError
from chainops.operators.evm.node_errors import NodeErrorKind, classify

RpcCall = Callable[[str, list[Any]], Awaitable[Any]]


class NoBaseFee(RpcError):
    """The node reports blocks without a base fee: the chain runs a pre-London hardfork."""


def says_pre_london(exc: BaseException) -> bool:
    """True if an error itself says the chain has no EIP-1559."""
    return isinstance(exc, NoBaseFee) or classify(str(exc)) is NodeErrorKind.NO_EIP1559


def may_be_pre_london(exc: BaseException) -> bool:
    """True for a refusal of ``eth_feeHistory`` worth checking against the latest block
    (the node answered, with an error no retry changes)."""
    return isinstance(exc, RpcPermanentError)


def base_fees(reply: object) -> list[Any]:
    """The ``baseFeePerGas`` list of an ``eth_feeHistory`` reply (empty if absent)."""
    if isinstance(reply, Mapping) and isinstance(reply.get("baseFeePerGas"), list):
        return list(reply["baseFeePerGas"])
    return []


def history_doubtful(reply: object) -> bool | None:
    """True: the reply shows no base fee (pre-London); None: only zeros, check the block;
    False: a real base fee."""
    fees = base_fees(reply)
    if None in fees:
        return True
    if fees and all(fee in ("0x0", 0) for fee in fees):
        return None
    return False


async def latest_block_has_base_fee(rpc: RpcCall) -> bool:
    """True if the latest block carries ``baseFeePerGas`` (London or later)."""
    block = await rpc("eth_getBlockByNumber", ["latest", False])
    return isinstance(block, Mapping) and block.get("baseFeePerGas") is not None
