"""Uniswap V3 swap calls for both routers: SwapRouter (the original periphery) and
SwapRouter02 (the router deployed on mainnet chains).

SwapRouter's structs carry the deadline; SwapRouter02's do not, so every swap there goes
through ``multicall(deadline, data)``. ETH in is ``msg.value`` (``refundETH`` returns what
an exact-output swap did not spend); ETH out is swapped to the router and paid out by
``unwrapWETH9(amountMinimum, recipient)``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chainops.core.errors import ValidationError
from chainops.core.ids import EvmAddress
from chainops.operators.dapps.quote import Quote, TradeKind
from chainops.operators.dapps.uniswap.v3.path import encode_path
from chainops.operators.evm.requests import ContractHandle, TxRequest

SWAP_ROUTER = "SwapRouter"
SWAP_ROUTER_02 = "SwapRouter02"
ROUTERS = (SWAP_ROUTER, SWAP_ROUTER_02)


def choose_router(requested: str | None, contracts: dict[str, str]) -> str:
    """The router to use: ``requested``, else SwapRouter where the book has one, else 02."""
    if requested is not None:
        if requested not in ROUTERS:
            raise ValidationError(f"router must be one of {', '.join(ROUTERS)}, not {requested!r}")
        return requested
    # Canonical mainnet deployments only list SwapRouter02; the devnet has both.
    return SWAP_ROUTER if SWAP_ROUTER in contracts else SWAP_ROUTER_02


def swap_call(router: ContractHandle, quote: Quote, to: str, deadline: int | None) -> bytes:
    """The exactInput(Single)/exactOutput(Single) call of ``quote`` paying ``to``.

    ``deadline`` goes into the struct (SwapRouter); None leaves it out (SwapRouter02).
    """
    dl: tuple[int, ...] = () if deadline is None else (deadline,)
    single = len(quote.fees) == 1
    t_in, t_out = quote.path[0].address, quote.path[-1].address
    args: Any
    if quote.kind is TradeKind.EXACT_IN:
        if single:
            args = (t_in, t_out, quote.fees[0], to, *dl, quote.amount_in, quote.limit, 0)
            return router.encode("exactInputSingle", args)
        path = encode_path(quote.path, quote.fees)
        return router.encode("exactInput", (path, to, *dl, quote.amount_in, quote.limit))
    if single:
        args = (t_in, t_out, quote.fees[0], to, *dl, quote.amount_out, quote.limit, 0)
        return router.encode("exactOutputSingle", args)
    # Exact output paths run from the output token back to the input.
    path = encode_path(quote.path[::-1], quote.fees[::-1])
    return router.encode("exactOutput", (path, to, *dl, quote.amount_out, quote.limit))


def build_swap(name: str, router: ContractHandle, quote: Quote, recipient: str) -> TxRequest:
    """The call of ``quote`` on router ``name``: one swap, or a multicall with the
    ETH legs (``unwrapWETH9`` for ETH out, ``refundETH`` for exact-output ETH in)."""
    me = EvmAddress(recipient)
    # ETH out: the router receives the WETH, then unwrapWETH9 pays the recipient in ETH.
    to = router.address if quote.native_out else me
    router02 = name == SWAP_ROUTER_02
    calls = [swap_call(router, quote, str(to), None if router02 else quote.deadline)]
    if quote.native_out:
        calls.append(router.encode("unwrapWETH9", quote.min_out, me))
    if quote.native_in and quote.kind is TradeKind.EXACT_OUT:
        calls.append(router.encode("refundETH"))  # the unspent part of max_in comes back
    value = quote.token_in.from_raw(quote.max_in) if quote.native_in else Decimal(0)
    if router02:
        return router.request("multicall", quote.deadline, calls, value=value)
    if len(calls) == 1:
        return TxRequest(to=router.address, data=calls[0], value=value, abi=router.abi)
    return router.request("multicall", calls, value=value)
