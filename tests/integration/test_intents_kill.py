"""A kernel process SIGKILLed mid-run restarts with restore() and converges exactly once."""

from __future__ import annotations

import asyncio
import signal
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from cex_helpers import adapter
from test_intents_kernel import ASK, take, until

from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges.intents import ExchangeKernel, IntentState

CHILD = Path(__file__).with_name("intents_kill_child.py")
MODES = ["oco-unsent", "oco-sent", "modify-unsent", "modify-sent", "cancel-sent"]


async def run_child(sim: ExchangeSimulator, account: Account, journal: Path, mode: str) -> str:
    """Run the child to its death (the simulator keeps serving in this process)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), sim.url, sim.stream_url, sim.ws_api_url,
        account.api_key, account.secret, str(journal), mode,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await child.communicate()
    assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
    return out.decode()


def ours(sim: ExchangeSimulator, account: Account) -> list[str]:
    return [o.client_order_id for o in sim.engine.orders.values() if o.account is account]


@pytest.mark.parametrize("mode", MODES)
async def test_killed_kernel_restores_and_converges_exactly_once(tmp_path: Path, mode: str) -> None:
    journal = tmp_path / "journal.db"
    async with ExchangeSimulator(seed=3) as sim:
        account = sim.create_account({"USDT": "100000", "ETH": "50"})
        out = await run_child(sim, account, journal, mode)
        lines = dict(line.split(" ", 1) for line in out.splitlines())
        single, first_leg = lines["SINGLE"], lines["OCO"]
        assert "NOT" not in lines
        op = adapter(sim, account, journal_path=str(journal), recv_window_ms=500)
        kernel = await ExchangeKernel(op, interval=0.05).start()
        try:
            intents = {i.intent_id: i for i in kernel.get_all_intents()}
            assert single in intents and first_leg in intents  # no intent lost
            group = [i for i in intents.values() if i.group_id is not None]
            assert len(group) == 2 and all(i.native_leg for i in group)

            if mode == "cancel-sent":
                await until(lambda: all(i.state is IntentState.CANCELED for i in group))
                await until(lambda: len(sim.engine.open_orders(account, "ETHUSDT")) == 1)
                legs = [o for i in group for o in kernel.get_order_state(i.intent_id)]
                assert all(o.state is OrderState.CANCELED for o in legs)
                [left] = sim.engine.open_orders(account, "ETHUSDT")
                assert left.price == Decimal("1999.70")  # the plain intent, modified before
                assert len(ours(sim, account)) == len(set(ours(sim, account)))
                return

            def converged() -> bool:
                """Desired equals actual: each intent has one open order at its price."""
                for intent in intents.values():
                    live = [
                        o for o in kernel.get_order_state(intent.intent_id) if not o.is_terminal
                    ]
                    if intent.state is not IntentState.WORKING or len(live) != 1:
                        return False
                    if live[0].state is not OrderState.OPEN or live[0].price != intent.price:
                        return False
                return True

            await until(converged, timeout=15)
            placed = ours(sim, account)
            assert len(placed) == len(set(placed))  # no client id reached the venue twice
            live = {o.client_order_id for o in sim.engine.open_orders(account, "ETHUSDT")}
            single_live = [o for o in kernel.get_order_state(single) if not o.is_terminal]
            assert len(single_live) == 1 and single_live[0].client_id in live
            if mode.startswith("modify"):
                # the desired price was journalled before the kill: the restored kernel keeps it
                assert single_live[0].price == Decimal("1999.70")
            legs = [o for i in group for o in kernel.get_order_state(i.intent_id)]
            assert {o.client_id for o in legs if not o.is_terminal} <= live
            assert len(live) == 3  # the plain order and both legs of one list
            # the take-profit fills: the stop leg goes, never both legs working
            take(sim, ASK, Decimal("0.01"))
            above = next(i for i in group if i.native_leg == "above")
            below = next(i for i in group if i.native_leg == "below")
            await until(lambda: above.state is IntentState.FILLED and below.is_terminal)
            assert below.state is IntentState.CANCELED
            assert {o.client_order_id for o in sim.engine.open_orders(account, "ETHUSDT")} == {
                single_live[0].client_id
            }
        finally:
            await kernel.stop()
            await op.close()
