"""``chainops cex``: balances, orders and books on a Binance-compatible venue (or the simulator).

The venue is ``--url`` (``$CHAINOPS_CEX_URL``; default the local paper exchange that
``chainops devnet up`` and ``chainops cex serve`` run), the account its API key and
secret (``--api-key``/``--api-secret`` or ``$CHAINOPS_CEX_API_KEY``/``_API_SECRET``), or
for an Ed25519 or RSA key its private key (``--private-key``/``$CHAINOPS_CEX_PRIVATE_KEY``:
the PEM file or its text; ``$CHAINOPS_CEX_PRIVATE_KEY_PASSPHRASE`` if it is encrypted).
Orders are journalled (the exchange journal in the data folder, or ``--journal``) so a
later ``order cancel`` in another process knows them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from chainops.cli.format import decimal_text, plain, price_text
from chainops.cli.options import Venue, command
from chainops.cli.runtime import Runtime, out, parse_amount

if TYPE_CHECKING:
    from chainops.core.errors import ChainopsError
    from chainops.core.order import Order
    from chainops.operators.exchanges.binance import BinanceSpot

cex_app = typer.Typer(
    help="Trade on a Binance-compatible exchange (default: the local paper exchange).",
    no_args_is_help=True,
)
order_app = typer.Typer(help="Place and cancel orders.", no_args_is_help=True)
cex_app.add_typer(order_app, name="order")
T = TypeVar("T")
# the port `chainops cex serve` and `chainops devnet up` give the paper exchange
PAPER_URL = "http://127.0.0.1:8090"
URL = typer.Option(PAPER_URL, "--url", envvar="CHAINOPS_CEX_URL", help="REST base URL.")
KEY = typer.Option(..., "--api-key", envvar="CHAINOPS_CEX_API_KEY", help="API key.")
SECRET = typer.Option(
    None, "--api-secret", envvar="CHAINOPS_CEX_API_SECRET", help="API secret (an HMAC key)."
)
PRIVATE_KEY = typer.Option(
    None,
    "--private-key",
    envvar="CHAINOPS_CEX_PRIVATE_KEY",
    help="Ed25519 or RSA private key, instead of --api-secret: its PEM file or text "
    "($CHAINOPS_CEX_PRIVATE_KEY_PASSPHRASE if encrypted).",
    show_envvar=False,  # the key's text must not be echoed by --help
)
# kept out of the command line: a passphrase there would stay in the shell's history
PASSPHRASE_ENV = "CHAINOPS_CEX_PRIVATE_KEY_PASSPHRASE"
# public market data: the credentials are accepted (scripts pass them everywhere), never needed
PUBLIC_KEY = typer.Option(
    None, "--api-key", envvar="CHAINOPS_CEX_API_KEY", help="Not needed: public data."
)
PUBLIC_SECRET = typer.Option(
    None, "--api-secret", envvar="CHAINOPS_CEX_API_SECRET", help="Not needed: public data."
)


class Side(StrEnum):
    """The order sides ``order place`` takes."""

    BUY = "buy"
    SELL = "sell"


class Kind(StrEnum):
    """The order types ``order place`` takes."""

    LIMIT = "limit"
    MARKET = "market"
    LIMIT_MAKER = "limit_maker"


class KeyKind(StrEnum):
    """The API key types ``serve`` makes accounts with."""

    HMAC = "hmac"
    ED25519 = "ed25519"
    RSA = "rsa"


class Tif(StrEnum):
    """Time in force."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


SIDE = typer.Argument(..., case_sensitive=False, help="buy or sell")
KIND = typer.Option(Kind.LIMIT, "--type", case_sensitive=False, help="order type")
TIF = typer.Option(None, "--tif", case_sensitive=False, help="time in force")
KEY_TYPE = typer.Option(
    KeyKind.HMAC, "--key-type", case_sensitive=False, help="the accounts' API key type"
)
FUND = typer.Option(["USDT=10000", "ETH=10"], "--fund", help="ASSET=AMOUNT, repeatable")


def _is_local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))


@dataclass(frozen=True)
class Keys:
    """An API key and what signs for it: an HMAC secret or a private key (PEM text or path)."""

    api_key: str
    secret: str | None = None
    private_key: str | None = None


def _keys(api_key: str | None, secret: str | None, private_key: str | None) -> Keys:
    """Signed commands: the key and one signer, checked before any summary or request."""
    from chainops.core.errors import ConfigurationError

    if not api_key or not (secret or private_key):
        raise ConfigurationError(
            "this command needs an API key and its secret or private key: pass --api-key "
            "and --api-secret (HMAC) or --private-key (Ed25519, RSA), or set "
            "CHAINOPS_CEX_API_KEY and CHAINOPS_CEX_API_SECRET or CHAINOPS_CEX_PRIVATE_KEY"
        )
    if secret and private_key:
        raise ConfigurationError("give --api-secret or --private-key, not both")
    if private_key and "-----BEGIN" not in private_key and not os.path.isfile(private_key):
        # not echoed: a key pasted without its PEM lines would be printed
        raise ConfigurationError(
            "--private-key names no file and holds no PEM text (give the PEM file's path, "
            "or its text)"
        )
    return Keys(api_key, secret or None, private_key or None)


def _venue(rt: Runtime, url: str, keys: Keys | None, journal: bool) -> BinanceSpot:
    """The adapter; ``keys`` None: public data only (no key sent, no order entry)."""
    from chainops.operators.exchanges.binance import BinanceSpot

    public = keys is None
    signer: dict[str, Any] = {"api_secret": "public"}  # public endpoints never send it
    if keys is not None and keys.private_key:
        signer = {
            "private_key": keys.private_key,
            "private_key_passphrase": os.environ.get(PASSPHRASE_ENV) or None,
        }
    elif keys is not None:
        signer = {"api_secret": keys.secret}
    stream = url.replace("https://", "wss://").replace("http://", "ws://")
    local = url.startswith("http://")  # the simulator serves streams on the REST port
    return BinanceSpot.connect(
        "public" if keys is None else keys.api_key,
        **signer,
        base_url=url,
        stream_url=stream if local else None,
        ws_api_url=f"{stream}/ws-api/v3" if local and not public else None,
        user_stream=False,
        journal_path=rt.journal_file("exchange") if journal else None,
    )


def _unreachable(url: str, exc: ChainopsError) -> ChainopsError:
    text = str(exc)
    why = "connection refused" if "onnect" in text else text.split(";", 1)[0]
    hint = (
        "start the paper exchange with `chainops devnet up` or `chainops cex serve`"
        if _is_local(url)
        else "check --url (or $CHAINOPS_CEX_URL)"
    )
    return type(exc)(f"cannot reach the exchange at {url} ({why}): {hint}")


def _session(
    rt: Runtime,
    url: str,
    keys: Keys | None,
    job: Callable[[BinanceSpot], Awaitable[T]],
    *,
    journal: bool = False,
) -> T:
    """Start the adapter, run ``job``, close; an unreachable venue is a clear RpcError."""
    from chainops.core.errors import RpcError

    async def main() -> T:
        cex = _venue(rt, url, keys, journal)
        try:
            await cex.start()
        except RpcError as exc:
            raise _unreachable(url, exc) from None
        try:
            return await job(cex)
        finally:
            await cex.close()

    return rt.run(main)


def _confirm(rt: Runtime, url: str, keys: Keys, action: dict[str, str]) -> None:
    """Venue, endpoint and account, then the action; asks unless ``--yes``."""
    key = keys.api_key
    venue = "binance spot (paper exchange)" if _is_local(url) else "binance spot"
    shown_key = f"{key[:6]}…" if len(key) > 8 else "***"  # enough to tell keys apart
    rt.confirm({"network": venue, "endpoint": url, "account": f"API key {shown_key}"} | action)


def _order_dict(order: Order) -> dict[str, Any]:
    return {
        "client_id": str(order.client_id),
        "venue_id": None if order.venue_id is None else str(order.venue_id),
        "pair": str(order.trading_pair),
        "side": order.side.name,
        "type": order.order_type.name,
        "amount": order.amount,
        "price": order.price,
        "state": order.state.name,
        "filled": order.filled_base,
        "average_price": order.average_price,
        "created_at": order.created_at.isoformat(),
    }


def _emit(rt: Runtime, data: Any, table: Table) -> None:
    if rt.as_json:
        rt.show(data)
    else:
        out.print(table)


def _order_table(rows: list[dict[str, Any]]) -> Table:
    columns = ("client_id", "pair", "side", "type", "amount", "price", "state", "filled")
    table = Table(*(c.replace("_", " ") for c in columns))
    for row in plain(rows):
        table.add_row(*(escape("-" if row[c] is None else str(row[c])) for c in columns))
    return table


@command(cex_app, "balance", venue=Venue.EXCHANGE, account=False)
def balance(
    url: str = URL,
    api_key: str = KEY,
    api_secret: str | None = SECRET,
    private_key: str | None = PRIVATE_KEY,
    *,
    rt: Runtime,
) -> None:
    """Free and locked balances."""
    keys = _keys(api_key, api_secret, private_key)
    found = _session(rt, url, keys, lambda cex: cex.balances())
    data = plain({a: {"free": b.free, "locked": b.locked} for a, b in sorted(found.items())})
    table = Table("asset", "free", "locked")
    for asset, row in data.items():
        table.add_row(asset, row["free"], row["locked"])
    _emit(rt, data, table)


@command(order_app, "place", venue=Venue.EXCHANGE, acts=True)
def order_place(
    pair: str = typer.Argument(..., help="e.g. ETH-USDT"),
    side: Side = SIDE,
    amount: str = typer.Argument(..., help="base amount, e.g. 0.5"),
    price: str | None = typer.Option(None, "--price", help="limit price (not for market)"),
    order_type: Kind = KIND,
    tif: Tif | None = TIF,
    url: str = URL,
    api_key: str = KEY,
    api_secret: str | None = SECRET,
    private_key: str | None = PRIVATE_KEY,
    *,
    rt: Runtime,
) -> None:
    """Place an order (after showing venue and account, and asking) and print it."""
    from chainops.core.ids import TradingPair

    keys = _keys(api_key, api_secret, private_key)
    TradingPair(pair)  # a malformed pair fails before the summary
    size = parse_amount(amount)
    limit = None if price is None else parse_amount(price, "price")
    check_order(order_type, limit, tif)
    at = "at market" if limit is None else f"at {format(limit, 'f')}"
    what = f"{side.value} {format(size, 'f')} {pair} {at}"
    _confirm(rt, url, keys, {"place": f"{order_type.value} order: {what}"})

    async def job(cex: BinanceSpot) -> Order:
        tif_name = None if tif is None else tif.value
        kind = order_type.value.upper()
        return await cex.place(pair, side.value.upper(), kind, size, limit, time_in_force=tif_name)

    order = _session(rt, url, keys, job, journal=True)
    data = _order_dict(order)
    _emit(rt, data, _order_table([data]))


def check_order(kind: Kind, price: Decimal | None, tif: Tif | None) -> None:
    """What ``--type`` needs of ``--price`` and ``--tif``, checked before any summary."""
    from chainops.core.errors import ValidationError

    if kind is Kind.MARKET and price is not None:
        raise ValidationError("a market order takes no --price (or use --type limit)")
    if kind is not Kind.MARKET and price is None:
        raise ValidationError(f"a {kind.value} order needs --price (or use --type market)")
    if kind is Kind.LIMIT_MAKER and tif not in (None, Tif.GTC):
        raise ValidationError("a limit_maker order rests on the book: --tif can only be GTC")


@command(order_app, "cancel", venue=Venue.EXCHANGE, acts=True)
def order_cancel(
    client_id: str = typer.Argument(..., help="client id printed by `order place`"),
    url: str = URL,
    api_key: str = KEY,
    api_secret: str | None = SECRET,
    private_key: str | None = PRIVATE_KEY,
    *,
    rt: Runtime,
) -> None:
    """Cancel an order placed from this journal (after asking)."""
    keys = _keys(api_key, api_secret, private_key)
    _confirm(rt, url, keys, {"cancel": client_id})
    order = _session(rt, url, keys, lambda cex: cex.cancel(client_id), journal=True)
    data = _order_dict(order)
    _emit(rt, data, _order_table([data]))


@command(cex_app, "orders", venue=Venue.EXCHANGE, account=False)
def orders(
    pair: str | None = typer.Argument(None, help="only this pair"),
    url: str = URL,
    api_key: str = KEY,
    api_secret: str | None = SECRET,
    private_key: str | None = PRIVATE_KEY,
    *,
    rt: Runtime,
) -> None:
    """Open orders at the venue."""
    keys = _keys(api_key, api_secret, private_key)
    found = _session(rt, url, keys, lambda cex: cex.open_orders(pair))
    data = [
        {
            "client_id": o.client_id,
            "pair": str(o.trading_pair),
            "side": o.side.name,
            "type": o.order_type.name,
            "amount": o.amount,
            "price": o.price,
            "state": o.update.state.name if o.update.state else None,
            "filled": o.executed,
        }
        for o in found
    ]
    _emit(rt, plain(data), _order_table(data))


@command(cex_app, "book", venue=Venue.EXCHANGE, account=False)
def book(
    pair: str = typer.Argument(..., help="e.g. ETH-USDT"),
    depth: int = typer.Option(10, "--depth", min=1, max=1000),
    url: str = URL,
    api_key: str | None = PUBLIC_KEY,
    api_secret: str | None = PUBLIC_SECRET,
    *,
    rt: Runtime,
) -> None:
    """The order book (best levels first) with mid price; public data, no API key needed."""

    async def job(cex: BinanceSpot) -> Any:
        from chainops.operators.exchanges.orderbook import OrderBook

        snapshot = await cex._venue_snapshot(cex.rule(pair).trading_pair)
        result = OrderBook(cex.rule(pair).trading_pair)
        result.apply_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks)
        return result

    found = _session(rt, url, None, job)
    bids = [[price_text(p), decimal_text(q)] for p, q in found.bids(depth)]
    asks = [[price_text(p), decimal_text(q)] for p, q in found.asks(depth)]
    data = plain({
        "pair": str(found.trading_pair), "last_update_id": found.last_update_id,
        "mid": found.mid, "bids": bids, "asks": asks,
    })  # fmt: skip
    table = Table(
        "bid amount", "bid", "ask", "ask amount", title=f"{found.trading_pair} mid {data['mid']}"
    )
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else ["", ""]
        a = asks[i] if i < len(asks) else ["", ""]
        table.add_row(b[1], b[0], a[0], a[1])
    _emit(rt, data, table)


@cex_app.command("serve")
def serve(
    port: int = typer.Option(8090, "--port", help="0 picks a free port"),
    seed: int = typer.Option(0, "--seed", help="seeds the market maker's book and the faults"),
    fund: list[str] = FUND,
    accounts: int = typer.Option(1, "--accounts", min=1, max=1000, help="funded accounts"),
    order_limits: bool = typer.Option(
        True,
        "--order-limits/--no-order-limits",
        help="refuse orders over Binance's ORDERS limits (-1015); off for load tests",
    ),
    key_type: KeyKind = KEY_TYPE,
) -> None:
    """Run the exchange simulator (a paper-trading venue) until Ctrl-C.

    Prints one JSON line: the URLs, the key and secret (an Ed25519 or RSA account: its
    private key, PEM) of the first funded account and, under "accounts", every account's.
    """
    from chainops.devnet.exchange import ExchangeSimulator

    try:
        funds = {a.strip().upper(): Decimal(v) for a, v in (f.split("=", 1) for f in fund)}
    except (ValueError, ArithmeticError) as exc:
        raise typer.BadParameter(f"--fund takes ASSET=AMOUNT: {exc}") from exc

    import asyncio

    async def main() -> None:
        async with ExchangeSimulator(
            seed=seed, port=port, enforce_order_limits=order_limits
        ) as sim:
            made = [
                sim.create_account(dict(funds), key_type=key_type.value) for _ in range(accounts)
            ]
            keys = [
                {"api_key": a.api_key, "private_key": a.private_key}
                if a.private_key
                else {"api_key": a.api_key, "api_secret": a.secret}
                for a in made
            ]
            info = {
                "url": sim.url,
                "stream_url": sim.stream_url,
                "ws_api_url": sim.ws_api_url,
                **keys[0],
                "accounts": keys,
            }
            print(json.dumps(info), flush=True)
            await asyncio.Event().wait()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        from chainops.core.errors import DevnetError

        Runtime().fail(
            DevnetError(
                f"port {port} on 127.0.0.1 is already in use: pass --port 0 for a free "
                "port, or another --port"
            )
        )
