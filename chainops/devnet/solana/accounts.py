"""Account reads: balances, accounts one or many, program scans with filters, token views.

Every read answers at the commitment asked for (the RPC's default is
*finalized*), from the view of the blocks that commitment includes.
"""

from __future__ import annotations

from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from chainops.devnet.solana import params
from chainops.devnet.solana.clock import Commitment
from chainops.devnet.solana.dispatch import Handler, MethodGroup, with_context
from chainops.devnet.solana.encodings import check_encoding, encode_account
from chainops.devnet.solana.faults import invalid_params
from chainops.devnet.solana.parsed_accounts import token_amount
from chainops.operators.solana.checks import U64_MAX
from chainops.operators.solana.programs import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from chainops.operators.solana.spl import MintInfo, parse_mint, parse_token_account

__all__ = ["AccountMethods", "check_filters", "matches_filters"]

_MAX_MULTIPLE = 100
_MAX_FILTERS = 4
_MAX_LARGEST = 20  # getTokenLargestAccounts answers the top 20
_TOKEN_PROGRAMS = (str(TOKEN_PROGRAM_ID), str(TOKEN_2022_PROGRAM_ID))


def matches_filters(data: bytes, filters: list[Any]) -> bool:
    """Whether ``data`` passes every filter (filters checked by :func:`check_filters`)."""
    for item in filters:
        if "dataSize" in item:
            if len(data) != item["dataSize"]:
                return False
        elif "memcmp" in item:
            spec = item["memcmp"]
            offset = spec.get("offset", 0)
            wanted = params.decode_bytes(spec.get("bytes"), spec.get("encoding", "base58"))
            if data[offset : offset + len(wanted)] != wanted:
                return False
    return True


def _check_filter(item: Any) -> None:
    if not isinstance(item, dict):
        raise invalid_params("Invalid params: filters must be a list of objects")
    if "dataSize" in item:
        size = item["dataSize"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise invalid_params("Invalid params: dataSize must be a non-negative integer")
    elif "memcmp" in item:
        spec = item["memcmp"]
        if not isinstance(spec, dict):
            raise invalid_params("Invalid params: memcmp must be {offset, bytes}")
        offset = spec.get("offset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise invalid_params("Invalid params: memcmp offset must be a non-negative integer")
        params.decode_bytes(spec.get("bytes"), spec.get("encoding", "base58"))
    elif "tokenAccountState" not in item:
        raise invalid_params(f"Invalid params: unknown filter {item}")


def check_filters(filters: Any) -> list[Any]:
    """The ``filters`` of a program scan, each checked; ``[]`` when absent."""
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise invalid_params("Invalid params: filters must be a list of objects")
    if len(filters) > _MAX_FILTERS:
        raise invalid_params(f"Too many filters provided; max {_MAX_FILTERS}")
    for item in filters:
        _check_filter(item)
    return filters


class AccountMethods(MethodGroup):
    """getBalance, getAccountInfo, getMultipleAccounts, getProgramAccounts and the token reads
    (by owner, balance, supply, largest holders)."""

    def handlers(self) -> dict[str, Handler]:
        return {
            "getBalance": self.balance,
            "getAccountInfo": self.account_info,
            "getMultipleAccounts": self.multiple_accounts,
            "getProgramAccounts": self.program_accounts,
            "getTokenAccountsByOwner": self.token_accounts_by_owner,
            "getTokenAccountBalance": self.token_account_balance,
            "getTokenSupply": self.token_supply,
            "getTokenLargestAccounts": self.token_largest_accounts,
            "getMinimumBalanceForRentExemption": self.rent_exemption,
        }

    def decimals_of(self, mint: str) -> int | None:
        """The decimals of ``mint`` (None if it is not a mint): what token amounts need."""
        account = self.chain.account(mint)
        if account is None:
            return None
        found = parse_mint(Pubkey.from_string(mint), account.owner, bytes(account.data))
        return None if found is None else found.decimals

    def _encode(self, key: str, account: Account, cfg: dict[str, Any]) -> dict[str, Any]:
        return encode_account(
            key, account, cfg.get("encoding", "base58"), self.decimals_of, cfg.get("dataSlice")
        )

    async def balance(self, p: list[Any]) -> Any:
        params.require(p, 1, "pubkey")
        key = params.pubkey(p[0])
        level = self.read_level(params.config(p, 1))
        return with_context(self.chain.slot_at(level), self.chain.balance(key, level))

    async def account_info(self, p: list[Any]) -> Any:
        params.require(p, 1, "pubkey")
        cfg = params.config(p, 1)
        check_encoding(cfg.get("encoding", "base58"))
        key = params.pubkey(p[0])
        level = self.read_level(cfg)
        found = self.chain.account(key, level)
        value = None if found is None else self._encode(key, found, cfg)
        return with_context(self.chain.slot_at(level), value)

    async def multiple_accounts(self, p: list[Any]) -> Any:
        if not p or not isinstance(p[0], list):
            raise invalid_params("Invalid params: expected a list of pubkeys")
        if len(p[0]) > _MAX_MULTIPLE:
            raise invalid_params(f"Too many inputs provided; max {_MAX_MULTIPLE}")
        cfg = params.config(p, 1)
        check_encoding(cfg.get("encoding", "base64"))
        cfg = {"encoding": "base64", **cfg}
        keys = [params.pubkey(k) for k in p[0]]
        level = self.read_level(cfg)
        values = []
        for key in keys:
            found = self.chain.account(key, level)
            values.append(None if found is None else self._encode(key, found, cfg))
        return with_context(self.chain.slot_at(level), values)

    async def program_accounts(self, p: list[Any]) -> Any:
        params.require(p, 1, "program id")
        cfg = params.config(p, 1)
        check_encoding(cfg.get("encoding", "base58"))
        program = params.pubkey(p[0])
        filters = check_filters(cfg.get("filters"))
        level = self.read_level(cfg)
        out = [
            {"pubkey": key, "account": self._encode(key, account, cfg)}
            for key, account in self.chain.accounts_owned_by(program, level)
            if matches_filters(bytes(account.data), filters)
        ]
        return with_context(self.chain.slot_at(level), out) if cfg.get("withContext") else out

    async def token_accounts_by_owner(self, p: list[Any]) -> Any:
        params.require(p, 2, "owner and a mint or programId filter")
        owner = params.pubkey(p[0])
        selector = p[1] if isinstance(p[1], dict) else {}
        cfg = params.config(p, 2)
        check_encoding(cfg.get("encoding", "base58"))
        mint: str | None = None
        if "mint" in selector:
            mint = params.pubkey(selector["mint"])
            level = self.read_level(cfg)
            mint_account = self.chain.account(mint, level)
            if mint_account is None or str(mint_account.owner) not in _TOKEN_PROGRAMS:
                raise invalid_params("Invalid param: could not find mint")
            programs = [str(mint_account.owner)]
        elif "programId" in selector:
            program = params.pubkey(selector["programId"])
            if program not in _TOKEN_PROGRAMS:
                raise invalid_params("Invalid param: unrecognized Token program id")
            programs = [program]
            level = self.read_level(cfg)
        else:
            raise invalid_params("Invalid params: expected {mint} or {programId}")
        out = []
        for program in programs:
            for key, account in self.chain.accounts_owned_by(program, level):
                holding = parse_token_account(
                    Pubkey.from_string(key), account.owner, bytes(account.data)
                )
                if holding is None or str(holding.owner) != owner:
                    continue
                if mint is not None and str(holding.mint) != mint:
                    continue
                out.append({"pubkey": key, "account": self._encode(key, account, cfg)})
        return with_context(self.chain.slot_at(level), out)

    async def token_account_balance(self, p: list[Any]) -> Any:
        params.require(p, 1, "pubkey")
        key = params.pubkey(p[0])
        level = params.commitment(params.config(p, 1))
        account = self.chain.account(key, level)
        holding = None
        if account is not None:
            holding = parse_token_account(
                Pubkey.from_string(key), account.owner, bytes(account.data)
            )
        if holding is None:
            raise invalid_params("Invalid param: not a Token account")
        decimals = self.decimals_of(str(holding.mint))
        if decimals is None:
            raise invalid_params("Invalid param: could not find mint")
        return with_context(self.chain.slot_at(level), token_amount(holding.amount, decimals))

    async def token_supply(self, p: list[Any]) -> Any:
        params.require(p, 1, "mint")
        key = params.pubkey(p[0])
        level = params.commitment(params.config(p, 1))
        mint = self._mint(key, level)
        return with_context(self.chain.slot_at(level), token_amount(mint.supply, mint.decimals))

    def _mint(self, key: str, level: Commitment) -> MintInfo:
        """The SPL mint at ``key`` (either token program); invalid params if it is none."""
        account = self.chain.account(key, level)
        mint = None
        if account is not None:
            mint = parse_mint(Pubkey.from_string(key), account.owner, bytes(account.data))
        if mint is None:
            raise invalid_params("Invalid param: not a Token mint")
        return mint

    async def token_largest_accounts(self, p: list[Any]) -> Any:
        """The (at most 20) token accounts of a mint holding the most, largest first."""
        params.require(p, 1, "mint")
        mint = params.pubkey(p[0])
        level = params.commitment(params.config(p, 1))
        info = self._mint(mint, level)
        holdings = []
        for key, found in self.chain.accounts_owned_by(str(info.program), level):
            holding = parse_token_account(Pubkey.from_string(key), found.owner, bytes(found.data))
            if holding is not None and str(holding.mint) == mint:
                holdings.append((holding.amount, key))
        holdings.sort(key=lambda item: -item[0])
        value = [
            {"address": key, **token_amount(amount, info.decimals)}
            for amount, key in holdings[:_MAX_LARGEST]
        ]
        return with_context(self.chain.slot_at(level), value)

    async def rent_exemption(self, p: list[Any]) -> Any:
        size = p[0] if p else None
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= U64_MAX:
            raise invalid_params("Invalid params: expected a data size")
        return self.chain.minimum_balance_for_rent_exemption(p[0])
