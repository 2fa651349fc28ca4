"""What the DEX commands (``swap``, ``lp``, ``token``, ``weth``) share.

A local chain (id 31337, the devnet world and its forks) uses the world's address
book; any other chain its canonical deployments. The account is the runtime's
(``--wallet``, ``$CHAINOPS_PRIVATE_KEY``, the config's wallet, or on a local chain
development account 1).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chainops.cli.runtime import Runtime

if TYPE_CHECKING:
    from chainops.operators.dapps.slippage import Bps

LOCAL_CHAIN_ID = 31337  # the devnet world and its forks
DEFAULT_SLIPPAGE = "0.5%"
SLIPPAGE_HELP = "Tolerance with its unit: 0.5% or 50bps (above 50 % needs --force)."
_SLIPPAGE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(%|bps)\s*", re.IGNORECASE)
# 50 %: anything above is almost always a unit mistake (0.5 meant as 50 %)
_MAX_UNFORCED_BPS = 5_000


def parse_slippage(text: str, *, force: bool = False) -> Bps:
    """``0.5%`` or ``50bps``; a bare number is refused (its unit would be a guess)."""
    from chainops.core.errors import ValidationError
    from chainops.operators.dapps.slippage import Bps, SlippageOutOfRange

    match = _SLIPPAGE.fullmatch(text)
    if match is None:
        raise ValidationError(
            f"--slippage {text!r} needs a unit: write 0.5% (percent) or 50bps (basis points)"
        )
    number, unit = Decimal(match.group(1)), match.group(2)
    bps = number * 100 if unit == "%" else number
    if bps != bps.to_integral_value():
        raise ValidationError(f"--slippage {text!r} is finer than one basis point (0.01%)")
    value = Bps(int(bps))
    if value.value > _MAX_UNFORCED_BPS and not force:
        raise SlippageOutOfRange(
            f"--slippage {text} is above 50 %: pass --force if you mean it "
            "(0.5% is half a percent, 50bps the same)"
        )
    return value


def parse_fees(text: str) -> list[int]:
    """``500`` or ``500,3000`` (one fee tier per hop)."""
    from chainops.core.errors import ValidationError

    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ValidationError(f"--fee takes fee tiers like 500 or 500,3000, not {text!r}") from None


def check_dex(dex: str) -> str:
    from chainops.core.errors import ValidationError

    if dex not in ("v2", "v3"):
        raise ValidationError(f"--dex must be v2 or v3, not {dex!r}")
    return dex


@asynccontextmanager
async def dex_context(rt: Runtime, *, owner: str | None = None) -> AsyncIterator[Any]:
    """A started operator with the network's address book, closed on the way out.

    A read about an explicit ``owner`` needs no account: it runs with a throwaway key
    that never signs, and an in-memory journal.
    """
    from chainops.operators.dapps.context import DexContext

    net = rt.net()
    if net.chain.chain_id == LOCAL_CHAIN_ID:
        from chainops.devnet.world import World

        book = World.address_book()
    else:
        from chainops.deployments.registry import deployment

        book = deployment(net.chain.name).address_book()
    if owner is None:
        evm = await rt.connect(rt.signer())
    else:
        import secrets

        from chainops.operators.evm.signer import LocalSigner

        evm = await rt.connect(LocalSigner.from_key(secrets.token_bytes(32)), journal=False)
    try:
        yield DexContext(evm, book)
    finally:
        await evm.close()


def owner_address(text: str | None) -> str | None:
    """``--owner`` checked before anything connects (None: the account's)."""
    from chainops.core.ids import EvmAddress

    return None if text is None else str(EvmAddress(text))


def spender(ctx: Any, name: str) -> str:
    """An address, or a contract of the address book by name (SwapRouter, ...)."""
    from chainops.core.errors import ValidationError
    from chainops.core.ids import EvmAddress

    try:
        return str(EvmAddress(ctx.book.contracts.get(name, name)))
    except ValidationError as exc:
        known = ", ".join(sorted(ctx.book.contracts))
        raise ValidationError(
            f"spender {name!r} is neither an address nor a contract of the address book "
            f"({known}): {exc}"
        ) from None


def confirm_plan(rt: Runtime, ctx: Any, what: str, details: dict[str, Any]) -> None:
    """Network, endpoint and account, then ``details``; asks unless ``--yes``."""
    from chainops.cli.format import plain

    lines = rt.describe(str(ctx.evm.owner)) | {"action": what}
    lines |= {k: _flat(v) for k, v in plain(details).items()}
    rt.confirm(lines)


def _flat(value: Any) -> str:
    if isinstance(value, list):
        return " - ".join(str(v) for v in value)
    return "-" if value is None else str(value)
