"""What the local cluster remembers about transactions: outcomes, landed records, statuses."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec
from solders.account import Account

from chainops.devnet.solana.clock import Commitment

__all__ = ["Landed", "SendOutcome", "SimulationResult", "StatusView", "TokenBalance"]


class SendOutcome(StrEnum):
    LANDED = "landed"  # executed (successfully or not) in the current slot
    DUPLICATE = "duplicate"  # this signature already landed: nothing happens
    DROPPED = "dropped"  # lost by the drop switch, as a leader might lose it
    EXPIRED = "expired"  # its blockhash is unknown or too old: it can never land
    REJECTED = "rejected"  # refused before execution (bad signature, no fee payer)


# msgspec Structs, not frozen dataclasses: built in C (a frozen dataclass sets each field
# through object.__setattr__, several times slower), and gc=False as they hold no cycles.
class TokenBalance(msgspec.Struct, frozen=True, gc=False):
    """A token account's balance around a transaction (``preTokenBalances`` entries)."""

    account_index: int
    mint: str
    owner: str
    program: str
    amount: int
    decimals: int


class Landed(msgspec.Struct, frozen=True, gc=False):
    """A transaction in a block: where, its outcome and everything its meta reports."""

    signature: str
    slot: int
    err: Any
    fee: int
    logs: tuple[str, ...]
    units_consumed: int
    raw: bytes
    index: int = 0  # position in its block
    keys: tuple[str, ...] = ()  # static keys, then loaded writable, then loaded readonly
    loaded_writable: tuple[str, ...] = ()
    loaded_readonly: tuple[str, ...] = ()
    pre_balances: tuple[int, ...] = ()
    post_balances: tuple[int, ...] = ()
    pre_token_balances: tuple[TokenBalance, ...] = ()
    post_token_balances: tuple[TokenBalance, ...] = ()
    inner_instructions: tuple[Any, ...] = ()  # JSON form: [{"index", "instructions"}]
    return_data: Any = None
    writable: frozenset[str] = frozenset()


class StatusView(msgspec.Struct, frozen=True, gc=False):
    """What ``getSignatureStatuses`` says about a landed signature."""

    slot: int
    confirmations: int | None  # None once finalized (rooted), as the RPC reports it
    err: Any
    commitment: Commitment


class SimulationResult(msgspec.Struct, frozen=True, gc=False):
    err: Any
    logs: tuple[str, ...]
    units_consumed: int
    fee: int
    replacement: tuple[str, int] | None = None  # (blockhash, last valid height) if replaced
    post_accounts: dict[str, Account] | None = None  # writable accounts after a success
    inner_instructions: tuple[Any, ...] = ()
