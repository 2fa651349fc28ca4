"""The intents layer under the simulator's fault switches: nothing doubled, nothing lost."""

from __future__ import annotations

from pathlib import Path

from cex_helpers import AMOUNT, ETH, venue
from test_intents_kernel import ASK, BID, STEP, live_on_venue, take, until

from chainops.core.order import OrderState
from chainops.operators.exchanges.intents import ExchangeKernel, IntentState


def placed_once(requests: dict[str, int]) -> bool:
    return all(n == 1 for n in requests.values())


async def test_dropped_reply_after_execution_is_resolved_by_client_id() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(user_stream=False), interval=0.05).start()
        sim.faults.drop_after_execute = 1
        intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        [order] = kernel.get_order_state(intent_id)
        assert order.state is OrderState.UNKNOWN
        await until(lambda: kernel.get_order_intent(intent_id).state is IntentState.WORKING)
        assert len(kernel.get_order_state(intent_id)) == 1
        assert live_on_venue(sim, account) == [order.client_id] and placed_once(sim.order_requests)
        await kernel.stop()


async def test_reply_delayed_past_the_timeout_is_not_placed_twice() -> None:
    async with venue() as (sim, account, make):
        op = make(order_entry="rest", request_timeout=0.3)
        kernel = await ExchangeKernel(op, interval=0.05).start()
        sim.faults.delay_seconds = 0.5
        intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        sim.faults.delay_seconds = 0
        await until(lambda: kernel.get_order_intent(intent_id).state is IntentState.WORKING)
        assert len(live_on_venue(sim, account)) == 1 and placed_once(sim.order_requests)
        await kernel.stop()


async def test_a_5xx_that_never_executed_is_placed_again_after_the_receive_window() -> None:
    async with venue() as (sim, account, make):
        op = make(order_entry="rest", recv_window_ms=200)
        kernel = await ExchangeKernel(op, interval=0.05).start()
        sim.faults.server_errors = 1
        intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        await until(lambda: kernel.get_order_intent(intent_id).state is IntentState.WORKING)
        first, second = kernel.get_order_state(intent_id)
        assert first.state is OrderState.FAILED and second.state is OrderState.OPEN
        assert live_on_venue(sim, account) == [second.client_id]
        await kernel.stop()


async def test_modify_with_a_lost_cancel_reply_never_leaves_two_live_orders() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(user_stream=False), interval=0.05).start()
        intent_id = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT * 2, ASK)
        sim.faults.drop_after_execute = 1  # the cancel(-replace) executes, its reply is lost
        await kernel.modify_order(intent_id, price=ASK + STEP)
        assert len(live_on_venue(sim, account)) <= 1
        await until(lambda: len(kernel.get_order_state(intent_id)) == 2)

        def settled() -> bool:
            orders = kernel.get_order_state(intent_id)
            return all(o.is_terminal or o.state is OrderState.OPEN for o in orders)

        await until(settled)
        assert kernel.get_order_intent(intent_id).state is IntentState.WORKING
        assert len(live_on_venue(sim, account)) == 1
        [live] = [o for o in kernel.get_order_state(intent_id) if not o.is_terminal]
        assert live.price == ASK + STEP and live.amount == AMOUNT * 2
        await kernel.stop()


async def test_oco_leg_filled_during_a_websocket_cut_cancels_the_other_leg() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=30).start()  # only the reconnect can tell
        upper, lower = await kernel.place_order_group(
            [
                {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK + STEP},
                {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK},
            ]
        )
        assert await sim.disconnect_websockets(market=False) == 1
        take(sim, ASK, AMOUNT)
        await until(lambda: kernel.get_order_intent(upper).state is IntentState.CANCELED)
        assert kernel.get_order_intent(lower).state is IntentState.FILLED
        assert live_on_venue(sim, account) == []
        health = await kernel.health_check()  # the cut is seen: opened twice, up again
        assert health["connections"]["user_stream"] == {"connected": True, "connects": 2}
        assert health["healthy"]
        await kernel.stop()


async def test_intents_survive_a_restart_and_converge(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.db")
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(journal_path=journal)).start()
        single = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        upper, lower = await kernel.place_order_group(
            [
                {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK + STEP},
                {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK},
            ]
        )
        await kernel.stop()
        await kernel.operator.close()  # the process dies; its orders stay on the venue
        take(sim, ASK, AMOUNT)  # a leg fills while nobody watches
        restored = await ExchangeKernel(make(journal_path=journal)).start()
        assert {i.intent_id for i in restored.get_all_intents()} == {single, upper, lower}
        await until(lambda: restored.get_order_intent(upper).state is IntentState.CANCELED)
        assert restored.get_order_intent(lower).state is IntentState.FILLED
        assert restored.get_order_intent(single).state is IntentState.WORKING
        assert len(live_on_venue(sim, account)) == 1 and placed_once(sim.order_requests)
        history = [what for _, what in restored.get_order_intent(upper).history]
        assert history[0] == "created" and "the other leg of the group filled" in history
        await restored.stop()


async def test_a_client_id_journalled_but_never_sent_is_replaced_once(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.db")
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(journal_path=journal, recv_window_ms=200)).start()
        intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        await kernel.cancel_order(intent_id)
        # the process stops between journalling an intent's next client id and sending it
        intent = kernel.get_order_intent(intent_id)
        intent.state, intent.wanted = IntentState.PENDING, True
        intent.orders.append(kernel.operator.ids.next())
        kernel.records.save(intent)
        await kernel.stop()
        await kernel.operator.close()
        restored = await ExchangeKernel(make(journal_path=journal, recv_window_ms=200)).start()
        await until(lambda: restored.get_order_intent(intent_id).state is IntentState.WORKING)
        first, never_sent, placed = restored.get_order_state(intent_id)
        assert first.state is OrderState.CANCELED and never_sent.state is OrderState.FAILED
        assert never_sent.client_id not in sim.order_requests
        assert live_on_venue(sim, account) == [placed.client_id]
        await restored.stop()
