"""A DEX swap as an Order: journalled before sending, executed by one Transaction,
filled from the receipt's Swap logs (fill id ``txhash:logIndex``), gas as its network fee.

The executor is the order's controller: ``await order.wait()`` waits for the transaction
and for the order to be filled from its receipt, or raises the typed error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

from chainops.core.assets import Fee
from chainops.core.errors import (
    ChainopsError,
    InsufficientFunds,
    Reverted,
    SlippageExceeded,
    UnknownOutcome,
)
from chainops.core.ids import ClientIdGenerator
from chainops.core.order import Fill, Order, OrderSide, OrderState, OrderType, OrderUpdate
from chainops.core.transaction import Transaction
from chainops.operators.dapps.context import DexContext
from chainops.operators.dapps.erc20 import Erc20
from chainops.operators.dapps.errors import SwapSlippageExceeded
from chainops.operators.dapps.quote import Quote, TradeKind
from chainops.operators.evm.requests import TxRequest

# A hop's decoded Swap log: (log index, amount into the pool, amount out of the pool).
HopLog = tuple[int, int, int]
LogParser = Callable[[Quote, list[dict[str, Any]]], list[HopLog]]
# The quote's route priced again now (same path, amount and pools), for the moved-price check.
Repricer = Callable[[Quote], Awaitable[Quote]]


class SwapExecutor:
    """Sends swaps for one DApp (router), and settles their orders from receipts."""

    def __init__(
        self, ctx: DexContext, router: str, parse_logs: LogParser, reprice: Repricer | None = None
    ) -> None:
        self.ctx = ctx
        self.router = router
        self.parse_logs = parse_logs
        self.reprice = reprice
        evm = ctx.evm
        self.ids = ClientIdGenerator("swap", last_issued=evm.journal.last_client_id("swap"))
        self._settling: dict[str, asyncio.Task[Order]] = {}

    def new_order(self, quote: Quote) -> Order:
        t_in, t_out = quote.symbols[0], quote.symbols[-1]
        exact_in = quote.kind is TradeKind.EXACT_IN
        return Order(
            client_id=self.ids.next(),
            platform=self.ctx.evm.chain.name,
            owner=self.ctx.evm.owner,
            trading_pair=f"{t_in}-{t_out}" if exact_in else f"{t_out}-{t_in}",
            side=OrderSide.SELL if exact_in else OrderSide.BUY,
            order_type=OrderType.MARKET,
            amount=(
                quote.token_in.from_raw(quote.amount_in)
                if exact_in
                else quote.token_out.from_raw(quote.amount_out)
            ),
            quote=quote.record(),
        )

    async def check_funds(self, quote: Quote) -> None:
        """The input is held (and, for tokens, approved): refused before anything is sent."""
        token = quote.token_in
        if quote.native_in:
            have = token.to_raw(await self.ctx.evm.balance())
        else:
            have = await Erc20(self.ctx.evm, token).balance_raw()
        if have < quote.max_in:
            raise InsufficientFunds(
                f"{self.ctx.evm.owner} holds {token.from_raw(have)} "
                f"{quote.symbols[0]}, the swap may need {token.from_raw(quote.max_in)}"
            )

    async def execute(self, quote: Quote, request: TxRequest, *, approve: bool = True) -> Order:
        """Check funds, ensure the allowance, journal the order, send; settle in background."""
        if not quote.native_in and approve:
            # Both reads go out in one batch; the approval (if any) only after funds are known.
            erc = Erc20(self.ctx.evm, quote.token_in)
            _, allowed = await asyncio.gather(
                self.check_funds(quote), erc.allowance_raw(self.router)
            )
            if allowed < quote.max_in:
                # The swap cannot be simulated before its approval: the price is checked
                # instead, so a swap that would be refused spends no approval gas.
                moved = await self._moved(quote)
                if moved is not None:
                    refused = self.new_order(quote)
                    refused.bind(self)
                    await self._fail(refused, moved, "price moved")
                await erc.ensure_allowance(self.router, raw=quote.max_in)
        else:
            await self.check_funds(quote)
        order = self.new_order(quote)
        order.bind(self)
        await self.ctx.evm.commits.save(order)
        try:
            tx = await self.ctx.send(request)
        except ChainopsError as exc:
            if type(exc) is Reverted and quote.kind is TradeKind.EXACT_OUT:
                # Approved exactly max_in, a dearer input fails at the token's transferFrom
                # ("STF") before the router's own check: the price tells which it was.
                moved = await self._moved(quote)
                if moved is not None:
                    moved.__cause__ = exc
                    exc = moved
            await self._fail(order, exc, "simulation")
        order.execution = tx.client_id
        order.apply(OrderUpdate(state=OrderState.OPEN, venue_id=str(tx.hash)))
        self.ctx.evm.commits.save_soon(order)
        task = asyncio.create_task(self._settle(order, tx, quote))
        task.add_done_callback(_retrieve)  # the outcome is on the order even if nobody waits
        self._settling[str(order.client_id)] = task
        return order

    async def _moved(self, quote: Quote) -> SlippageExceeded | None:
        """SlippageExceeded when the route, priced now, no longer meets the quote's limit."""
        if self.reprice is None:
            return None
        try:
            now = await self.reprice(quote)
        except ChainopsError:  # no price now (a read failed, the pools cannot fill it)
            return None  # the simulation decides, as without this check
        if quote.kind is TradeKind.EXACT_IN and now.amount_out < quote.limit:
            have, limit, side, token = now.amount_out, quote.limit, "gives", quote.token_out
        elif quote.kind is TradeKind.EXACT_OUT and now.amount_in > quote.limit:
            have, limit, side, token = now.amount_in, quote.limit, "costs", quote.token_in
        else:
            return None
        bound = "minimum" if quote.kind is TradeKind.EXACT_IN else "maximum"
        return SlippageExceeded(
            f"the price moved: the route now {side} {token.from_raw(have)} {token.symbol}, "
            f"past the quote's {bound} of {token.from_raw(limit)} (block {now.block}); "
            "nothing was sent: quote again"
        )

    async def _fail(self, order: Order, exc: ChainopsError, reason: str) -> NoReturn:
        """Journal ``order`` FAILED with ``exc`` and raise it (slippage: SwapSlippageExceeded)."""
        order.apply(OrderUpdate(state=OrderState.FAILED, error=exc, reason=reason))
        await self.ctx.evm.commits.save(order)
        if isinstance(exc, SlippageExceeded):
            raise SwapSlippageExceeded(str(exc), order=order) from exc
        raise exc

    def wait(
        self, operation: Any, /, *, timeout: float | None = None, **options: Any
    ) -> Awaitable[Order]:
        """OperationController: until the order is FILLED from its receipt, or its error.

        ``timeout`` None waits as long as the transaction's own wait does (the chain
        operator's default bound); a timeout raises UnknownOutcome.
        """
        return self._wait(operation, timeout)

    async def _wait(self, order: Order, timeout: float | None) -> Order:
        task = self._settling.get(str(order.client_id))
        if task is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                raise UnknownOutcome(
                    f"{order.client_id} is {order.state.name} after {timeout}s: "
                    "still pending, not failed"
                ) from None
        if order.state is OrderState.FAILED and order.error is not None:
            raise order.error.to_exception()
        if not order.is_terminal:
            raise UnknownOutcome(
                f"{order.client_id} is {order.state.name} and this executor is not settling "
                "it (sent by another process?): reconcile it from its transaction"
            )
        return order

    async def _settle(self, order: Order, tx: Transaction, quote: Quote) -> Order:
        try:
            return await self._fill(order, tx, quote)
        finally:
            self._settling.pop(str(order.client_id), None)

    async def _fill(self, order: Order, tx: Transaction, quote: Quote) -> Order:
        try:
            await tx.wait()
        except ChainopsError as exc:
            order.apply(OrderUpdate(state=OrderState.FAILED, error=exc, reason="transaction"))
            self.ctx.evm.commits.save_soon(order)
            raise
        receipt = await self.ctx.receipt(tx)
        hops = self.parse_logs(quote, receipt["logs"])
        fills = _fills(str(tx.hash), quote, hops)
        gas = int(receipt["gasUsed"], 16) * int(receipt.get("effectiveGasPrice", "0x0"), 16)
        block = int(receipt["blockNumber"], 16)
        order.apply(
            OrderUpdate(
                state=OrderState.FILLED,
                fills=fills,
                network_fee=Fee.from_raw(self.ctx.evm.native, gas),
                sequence=block,
                reason="receipt",
            )
        )
        self.ctx.evm.commits.save_soon(order)
        return order


def _retrieve(task: asyncio.Task[Order]) -> None:
    if not task.cancelled():
        task.exception()


def _fills(tx_hash: str, quote: Quote, hops: Sequence[HopLog]) -> tuple[Fill, ...]:
    """One fill per swap: what we paid (first hop in) for what we got (last hop out).

    A multi-hop swap is one trade for its owner; its id is the last Swap log's.
    Exact-in swaps pay exactly the quoted input (also with fee-on-transfer tokens,
    whose pool receives less than was paid).
    """
    if not hops:
        return ()
    paid = quote.amount_in if quote.kind is TradeKind.EXACT_IN else hops[0][1]
    got = hops[-1][2]
    t_in, t_out = quote.token_in, quote.token_out
    base_token, quote_token = (t_in, t_out) if quote.kind is TradeKind.EXACT_IN else (t_out, t_in)
    base_raw, quote_raw = (paid, got) if quote.kind is TradeKind.EXACT_IN else (got, paid)
    base, counter = base_token.from_raw(base_raw), quote_token.from_raw(quote_raw)
    return (
        Fill(
            fill_id=f"{tx_hash}:{hops[-1][0]}",
            price=counter / base,
            base_amount=base,
            quote_amount=counter,
        ),
    )
