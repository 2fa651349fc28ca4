"""Uniswap swaps through a queue: the swap's Order and its fill come back, a refused swap
raises the same typed error as in-process, and a redelivered command never swaps twice."""

from __future__ import annotations

import asyncio

import pytest
from dex_helpers import balance, dex_context

from chainops.core.errors import InsufficientFunds, SlippageExceeded, ValidationError
from chainops.core.order import Order, OrderState
from chainops.devnet.world import World
from chainops.operators.dapps import UniswapV2, UniswapV3
from chainops.operators.dapps.errors import SwapSlippageExceeded
from chainops.queues.commands import COMMANDS, OrderReply, Swap
from chainops.queues.operator_events import OrderEventMessage, TxEventMessage
from chainops.queues.remote import OperatorClient
from chainops.queues.swap_service import SwapService
from tests.integration.queue_helpers import connect_or_skip, unique

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["memory", "redis", "nats"])
async def test_swaps_through_the_queue(backend: str, devnet: World) -> None:
    transport = await connect_or_skip(backend)
    cmds, evts = unique("sw.cmd"), unique("sw.evt")
    client = OperatorClient(transport, commands=cmds, events=evts, name="strategy")
    stop = asyncio.Event()
    try:
        async with dex_context(devnet, index=7) as ctx:
            me = ctx.evm.owner
            service = SwapService(
                ctx.evm, [UniswapV2(ctx), UniswapV3(ctx)], transport, commands=cmds, events=evts
            )
            tasks = [asyncio.create_task(x.run(stop)) for x in (service, client)]
            try:
                usdc_before = balance(devnet, "USDC", me)
                order = await client.swap("uniswap-v2", ["WETH", "USDC"], "0.5")
                assert order.state is OrderState.OPEN and order.venue_id is not None
                filled = await client.wait_event(
                    OrderEventMessage,
                    lambda e: e.event == "OrderFilled" and e.client_id == order.client_id,
                    timeout=60,
                )
                fill = filled.to_fill()
                assert fill is not None and fill.fill_id.startswith(f"{order.venue_id}:")
                mined = await client.wait_event(
                    TxEventMessage, lambda e: e.tx_hash == order.venue_id and e.state == "CONFIRMED"
                )
                assert mined.client_id == order.execution
                got = balance(devnet, "USDC", me) - usdc_before
                assert ctx.token("USDC").to_raw(fill.quote_amount) == got > 0

                with pytest.raises(SwapSlippageExceeded) as refused:
                    await client.swap("uniswap-v3", ["WETH", "USDC"], "0.1", min_out="1000000")
                assert isinstance(refused.value, SlippageExceeded)
                assert refused.value.order is not None
                assert refused.value.order.state is OrderState.FAILED
                with pytest.raises(InsufficientFunds):
                    await client.swap("uniswap-v2", ["WETH", "USDC"], "1000000")
                with pytest.raises(ValidationError, match="unknown dex"):
                    await client.swap("sushiswap", ["WETH", "USDC"], "0.1")

                # The first swap's command delivered again: answered from the journal.
                again = Swap(dex="uniswap-v2", path=["WETH", "USDC"], amount_in="0.25")
                first = await client.request(again, timeout=60)
                assert isinstance(first, OrderReply) and not first.duplicate
                mid = balance(devnet, "WETH", me)
                await transport.publish(cmds, again.id + "-retry", COMMANDS.encode(again))
                dup = await client.wait_answer(again.id, lambda a: getattr(a, "duplicate", False))
                assert isinstance(dup, OrderReply)
                first_id = Order.from_json(first.order).client_id
                assert Order.from_json(dup.order).client_id == first_id
                assert service.swapped == 2
                await asyncio.sleep(0.3)
                assert balance(devnet, "WETH", me) == mid
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                await service.close()
    finally:
        await transport.close()
