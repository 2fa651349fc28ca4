"""Property: random sequences of intents, fills and faults always converge.

After the faults stop, desired equals actual: each working intent has exactly
one live order on the venue, no order is open that no intent wants, no OCO has
two working legs, no client id was sent twice and no intent was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Any

from cex_helpers import AMOUNT, ETH, venue
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_intents_kernel import ASK, BID, STEP, live_on_venue, take, until

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges.intents import ExchangeKernel, IntentFinished, IntentState

STOP = Decimal("1999.50")  # the seeded best bid: native OCO stop legs trigger there
LEVEL = st.integers(min_value=0, max_value=2)
LOTS = st.integers(min_value=1, max_value=3)
ACTIONS = st.one_of(
    st.tuples(st.just("place"), st.sampled_from(["BUY", "SELL"]), LEVEL, LOTS),
    st.tuples(st.just("oco"), LEVEL, LOTS),
    st.tuples(st.just("native_oco"), LEVEL, LOTS),
    st.tuples(
        st.just("sell_to_stop"),
    ),
    st.tuples(st.just("fill"), st.sampled_from(["BUY", "SELL"]), LEVEL, LOTS),
    st.tuples(st.just("modify"), st.integers(0, 5), LEVEL),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("fault"), st.sampled_from(["drop", "5xx", "cut", "lose"])),
)


def price(side: str, level: int) -> Decimal:
    return ASK + level * STEP if side == "SELL" else BID - level * STEP


async def apply(
    kernel: ExchangeKernel, sim: ExchangeSimulator, account: Account, action: tuple[Any, ...]
) -> None:
    ids = [i.intent_id for i in kernel.get_all_intents()]
    match action:
        case ("place", side, level, lots):
            await kernel.place_order(ETH, side, "LIMIT", AMOUNT * lots, price(side, level))
        case ("oco", level, lots):
            leg = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT * lots}
            await kernel.place_order_group(
                [leg | {"price": price("SELL", level)}, leg | {"price": price("SELL", 3)}]
            )
        case ("native_oco", level, lots):
            leg = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT * lots}
            stop = {"order_type": "STOP_LOSS_LIMIT", "stop_price": STOP, "price": STOP - 1}
            await kernel.place_order_group(
                [leg | {"order_type": "LIMIT_MAKER", "price": price("SELL", level)}, leg | stop]
            )
        case ("sell_to_stop",):
            # another account sells into the bids down to STOP: every stop leg triggers
            seller = sim.create_account({"ETH": "10"})
            sim.place_direct(
                seller, "ETHUSDT", side="SELL", type="LIMIT", tif="IOC", price=STOP,
                qty=Decimal("0.3"), client_id="s",
            )  # fmt: skip
        case ("fill", side, level, lots):
            # a taker on the other side, at our level (the seeded maker is farther away)
            taker = "BUY" if side == "SELL" else "SELL"
            take(sim, price(side, level), AMOUNT * lots, side=taker)
        case ("modify", n, level) if ids:
            intent = kernel.get_order_intent(ids[n % len(ids)])
            if not intent.is_terminal and intent.wanted and intent.group_id is None:
                with contextlib.suppress(IntentFinished):  # it filled before the kernel saw it
                    await kernel.modify_order(
                        intent.intent_id, price=price(intent.side.value, level)
                    )
        case ("cancel", n) if ids:
            await kernel.cancel_order(ids[n % len(ids)])
        case ("fault", "drop"):
            sim.faults.drop_after_execute = 1
        case ("fault", "5xx"):
            sim.faults.server_errors = 1
        case ("fault", "cut"):
            await sim.disconnect_websockets(market=False)
        case ("fault", "lose"):
            open_orders = sim.engine.open_orders(account, "ETHUSDT")
            if open_orders:
                sim.engine.cancel(open_orders[0], sim.now_ms())  # silently gone
        case _:
            pass


def converged(kernel: ExchangeKernel, sim: ExchangeSimulator, account: Account) -> bool:
    wanted = set()
    for intent in kernel.get_all_intents():
        live = [o.client_id for o in kernel.get_order_state(intent.intent_id) if not o.is_terminal]
        if intent.is_terminal:
            if live:
                return False
        elif intent.state is not IntentState.WORKING or len(live) != 1:
            return False
        wanted.update(live)
    return set(live_on_venue(sim, account)) == wanted


async def scenario(actions: list[tuple[Any, ...]]) -> None:
    async with venue() as (sim, account, make):
        op = make(order_entry="rest", recv_window_ms=200)
        kernel = await ExchangeKernel(op, interval=0.05).start()
        placed = 0
        for action in actions:
            await apply(kernel, sim, account, action)
            placed += {"place": 1, "oco": 2, "native_oco": 2}.get(action[0], 0)
        sim.faults.drop_after_execute = sim.faults.server_errors = 0
        async with asyncio.timeout(20):
            while not await kernel.force_reconciliation():
                await asyncio.sleep(0.05)
        await until(lambda: converged(kernel, sim, account))
        assert len(kernel.get_all_intents()) == placed  # no intent lost
        assert all(n == 1 for n in sim.order_requests.values())  # no order sent twice
        ours = [o.client_order_id for o in sim.engine.orders.values() if o.account is account]
        assert len(ours) == len(set(ours))  # list legs and replacements included
        groups: dict[str, list[tuple[bool, bool]]] = {}
        for intent in kernel.get_all_intents():
            if intent.group_id is not None:
                traded = any(o.filled_base for o in kernel.get_order_state(intent.intent_id))
                working = intent.state is IntentState.WORKING
                groups.setdefault(intent.group_id, []).append((traded, working))
        for legs in groups.values():  # once a leg traded, no other leg keeps working
            if any(traded for traded, _ in legs):
                assert sum(working for _, working in legs) <= 1
                assert all(traded or not working for traded, working in legs)
        await kernel.stop()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failing run prints its example
)
@given(st.lists(ACTIONS, min_size=1, max_size=8))
def test_random_intents_fills_and_faults_converge(actions: list[tuple[Any, ...]]) -> None:
    asyncio.run(scenario(actions))
