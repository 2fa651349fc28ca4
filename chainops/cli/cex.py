"""``chainops cex``: balances, orders and books on a Binance-compatible venue (or the simulator)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from chainops.core.errors import ChainopsError
from chainops.core.orders import Order
from chainops.operators.exchanges.binance import BinanceSpot
from chainops.operators.exchanges.orderbook import OrderBook

cex_app = typer.Typer(help="Trade on a Binance-compatible exchange (default: the local simulator).")
order_app = typer.Typer(help="Place and cancel orders.")
cex_app.add_typer(order_app, name="order")
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

URL = typer.Option(
    "http://127.0.0.1:8090", "--url", envvar="CHAINOPS_CEX_URL", help="REST base URL."
)
KEY = typer.Option(..., "--api-key", envvar="CHAINOPS_CEX_API_KEY", help="API key.")
SECRET = typer.Option(..., "--api-secret", envvar="CHAINOPS_CEX_API_SECRET", help="API secret.")
# orders are journalled so a later `order cancel` (another process) knows them
JOURNAL = typer.Option(
    Path.home() / ".chainops" / "cex-journal.sqlite", "--journal", envvar="CHAINOPS_CEX_JOURNAL"
)
JSON = typer.Option(False, "--json", help="Print JSON.")
FUND = typer.Option(["USDT=10000", "ETH=10"], "--fund", help="ASSET=AMOUNT, repeatable")


def _adapter(url: str, key: str, secret: str, journal: Path | None) -> BinanceSpot:
    stream = url.replace("https://", "wss://").replace("http://", "ws://")
    local = url.startswith("http://")  # the simulator serves streams on the REST port
    return BinanceSpot.connect(
        key,
        secret,
        base_url=url,
        stream_url=stream if local else None,
        ws_api_url=f"{stream}/ws-api/v3" if local else None,
        user_stream=False,
        journal_path=journal,
    )


def _run(
    url: str,
    key: str,
    secret: str,
    journal: Path | None,
    job: Callable[[BinanceSpot], Awaitable[T]],
) -> T:
    async def main() -> T:
        async with _adapter(url, key, secret, journal) as cex:
            return await job(cex)

    try:
        return asyncio.run(main())
    except ChainopsError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc


def _emit(data: Any, as_json: bool, table: Table | str) -> None:
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        console.print(table)


def _order_dict(order: Order) -> dict[str, Any]:
    return {
        "client_id": str(order.client_id),
        "venue_id": None if order.venue_id is None else str(order.venue_id),
        "pair": str(order.trading_pair),
        "side": order.side.name,
        "type": order.order_type.name,
        "amount": str(order.amount),
        "price": None if order.price is None else str(order.price),
        "state": order.state.name,
        "filled": str(order.filled_base),
        "average_price": None if order.average_price is None else str(order.average_price),
    }


def _order_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("client id", "pair", "side", "type", "amount", "price", "state", "filled")
    for r in rows:
        table.add_row(
            r["client_id"],
            r["pair"],
            r["side"],
            r["type"],
            r["amount"],
            str(r["price"]),
            r["state"],
            r["filled"],
        )
    return table


@cex_app.command("balance")
def balance(
    url: str = URL, api_key: str = KEY, api_secret: str = SECRET, as_json: bool = JSON
) -> None:
    """Free and locked balances."""
    found = _run(url, api_key, api_secret, None, lambda cex: cex.balances())
    data = {a: {"free": str(b.free), "locked": str(b.locked)} for a, b in sorted(found.items())}
    table = Table("asset", "free", "locked")
    for asset, row in data.items():
        table.add_row(asset, row["free"], row["locked"])
    _emit(data, as_json, table)


@order_app.command("place")
def order_place(
    pair: str = typer.Argument(..., help="e.g. ETH-USDT"),
    side: str = typer.Argument(..., help="buy or sell"),
    amount: str = typer.Argument(..., help="base amount, e.g. 0.5"),
    price: str | None = typer.Option(None, "--price", help="limit price (not for market)"),
    order_type: str = typer.Option("limit", "--type", help="limit, market or limit_maker"),
    tif: str | None = typer.Option(None, "--tif", help="GTC, IOC or FOK"),
    url: str = URL,
    api_key: str = KEY,
    api_secret: str = SECRET,
    journal: Path = JOURNAL,
    as_json: bool = JSON,
) -> None:
    """Place an order and print it."""

    async def job(cex: BinanceSpot) -> Order:
        return await cex.place(
            pair,
            side.upper(),
            order_type.upper(),
            Decimal(amount),
            None if price is None else Decimal(price),
            time_in_force=None if tif is None else tif.upper(),
        )

    order = _run(url, api_key, api_secret, journal, job)
    data = _order_dict(order)
    _emit(data, as_json, _order_table([data]))


@order_app.command("cancel")
def order_cancel(
    client_id: str = typer.Argument(..., help="client id printed by `order place`"),
    url: str = URL,
    api_key: str = KEY,
    api_secret: str = SECRET,
    journal: Path = JOURNAL,
    as_json: bool = JSON,
) -> None:
    """Cancel an order placed from this journal."""
    order = _run(url, api_key, api_secret, journal, lambda cex: cex.cancel(client_id))
    data = _order_dict(order)
    _emit(data, as_json, _order_table([data]))


@cex_app.command("orders")
def orders(
    pair: str | None = typer.Argument(None, help="only this pair"),
    url: str = URL,
    api_key: str = KEY,
    api_secret: str = SECRET,
    as_json: bool = JSON,
) -> None:
    """Open orders at the venue."""
    found = _run(url, api_key, api_secret, None, lambda cex: cex.open_orders(pair))
    data = [
        {
            "client_id": o.client_id,
            "pair": str(o.trading_pair),
            "side": o.side.name,
            "type": o.order_type.name,
            "amount": str(o.amount),
            "price": None if o.price is None else str(o.price),
            "state": o.update.state.name if o.update.state else "?",
            "filled": str(o.executed),
        }
        for o in found
    ]
    _emit(data, as_json, _order_table(data))


@cex_app.command("book")
def book(
    pair: str = typer.Argument(..., help="e.g. ETH-USDT"),
    depth: int = typer.Option(10, "--depth", min=1, max=1000),
    url: str = URL,
    api_key: str = KEY,
    api_secret: str = SECRET,
    as_json: bool = JSON,
) -> None:
    """The order book (best levels first) with mid price."""

    async def job(cex: BinanceSpot) -> OrderBook:
        snapshot = await cex._venue_snapshot(cex.rule(pair).trading_pair)
        result = OrderBook(cex.rule(pair).trading_pair)
        result.apply_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks)
        return result

    found = _run(url, api_key, api_secret, None, job)
    bids = [[str(p), str(q)] for p, q in found.bids(depth)]
    asks = [[str(p), str(q)] for p, q in found.asks(depth)]
    mid = None if found.mid is None else str(found.mid)
    data = {
        "pair": str(found.trading_pair),
        "last_update_id": found.last_update_id,
        "mid": mid,
        "bids": bids,
        "asks": asks,
    }
    table = Table("bid amount", "bid", "ask", "ask amount", title=f"{found.trading_pair} mid {mid}")
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else ["", ""]
        a = asks[i] if i < len(asks) else ["", ""]
        table.add_row(b[1], b[0], a[0], a[1])
    _emit(data, as_json, table)


@cex_app.command("serve")
def serve(
    port: int = typer.Option(8090, "--port", help="0 picks a free port"),
    seed: int = typer.Option(0, "--seed", help="seeds the market maker's book and the faults"),
    fund: list[str] = FUND,
    accounts: int = typer.Option(1, "--accounts", min=1, max=1000, help="funded accounts"),
) -> None:
    """Run the exchange simulator (a paper-trading venue) until Ctrl-C.

    Prints one JSON line: the URLs, the key and secret of the first funded
    account and, under ``accounts``, every account's key and secret.
    """
    from chainops.devnet.exchange import ExchangeSimulator

    try:
        funds = {a.strip().upper(): Decimal(v) for a, v in (f.split("=", 1) for f in fund)}
    except (ValueError, ArithmeticError) as exc:
        raise typer.BadParameter(f"--fund takes ASSET=AMOUNT: {exc}") from exc

    async def main() -> None:
        async with ExchangeSimulator(seed=seed, port=port) as sim:
            made = [sim.create_account(dict(funds)) for _ in range(accounts)]
            keys = [{"api_key": a.api_key, "api_secret": a.secret} for a in made]
            info = {
                "url": sim.url,
                "stream_url": sim.stream_url,
                "ws_api_url": sim.ws_api_url,
                **keys[0],
                "accounts": keys,
            }
            print(json.dumps(info), flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
