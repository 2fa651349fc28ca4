"""Solana parts alone: keys, program facts, SPL layouts, fee policy, the local chain's rules."""

from __future__ import annotations

import asyncio
import json
import pickle
import struct
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address

from chainops.core.errors import ConfigurationError, ValidationError
from chainops.core.ids import b58encode
from chainops.devnet.solana import LocalChain
from chainops.devnet.solana.localchain import FINALITY_DEPTH, MAX_PROCESSING_AGE, SendOutcome
from chainops.operators.solana import SolanaSigner, programs, spl
from chainops.operators.solana.errors import describe_error, is_insufficient_funds
from chainops.operators.solana.fees import (
    FeeOracle,
    PriorityFeePolicy,
    compute_unit_limit,
    percentile_price,
)
from chainops.operators.solana.keys import KEY_ENV, KEYPAIR_PATH_ENV
from chainops.operators.solana.messages import build_message, sign_message, unsigned_bytes

# -- keys ---------------------------------------------------------------------------------------


def test_keypair_file_base58_and_env_load_the_same_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kp = Keypair()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(kp))))  # the solana CLI format
    expected = str(kp.pubkey())
    assert str(SolanaSigner.from_keypair_file(path).pubkey) == expected
    assert str(SolanaSigner.from_base58(b58encode(bytes(kp))).pubkey) == expected
    assert str(SolanaSigner.from_bytes(bytes(kp)[:32]).pubkey) == expected  # a seed
    monkeypatch.setenv(KEY_ENV, b58encode(bytes(kp)))
    assert str(SolanaSigner.from_env().pubkey) == expected
    monkeypatch.setenv(KEY_ENV, json.dumps(list(bytes(kp))))
    assert str(SolanaSigner.from_env().pubkey) == expected
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv(KEYPAIR_PATH_ENV, str(path))
    assert str(SolanaSigner.from_env().pubkey) == expected
    monkeypatch.delenv(KEYPAIR_PATH_ENV)
    with pytest.raises(ConfigurationError):
        SolanaSigner.from_env()


def test_the_secret_is_never_printed(tmp_path: Path) -> None:
    kp = Keypair()
    secret = b58encode(bytes(kp))
    signer = SolanaSigner.from_base58(secret)
    for text in (repr(signer), str(signer), f"{signer}"):
        assert secret not in text and str(kp.pubkey()) in text
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    # Errors describe the input, never echo it.
    tampered = secret[:-3] + "0OI"  # characters outside base58
    with pytest.raises(ValidationError) as bad:
        SolanaSigner.from_base58(tampered)
    assert tampered not in str(bad.value) and secret[:20] not in str(bad.value)
    mismatched = bytes(kp)[:32] + bytes(Keypair().pubkey())
    with pytest.raises(ValidationError, match="does not match") as wrong:
        SolanaSigner.from_bytes(mismatched)
    assert b58encode(mismatched) not in str(wrong.value)
    path = tmp_path / "broken.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(ValidationError, match="expected 64"):
        SolanaSigner.from_keypair_file(path)
    written = signer.write_keypair_file(tmp_path / "out.json")
    assert written.stat().st_mode & 0o777 == 0o600
    assert str(SolanaSigner.from_keypair_file(written).pubkey) == str(kp.pubkey())


# -- program facts ------------------------------------------------------------------------------


def test_program_ids_are_the_programs_litesvm_ships() -> None:
    chain = LocalChain(slot_time=None)
    for program in (
        programs.TOKEN_PROGRAM_ID,
        programs.TOKEN_2022_PROGRAM_ID,
        programs.ATA_PROGRAM_ID,
        programs.MEMO_PROGRAM_ID,
        programs.COMPUTE_BUDGET_PROGRAM_ID,
    ):
        account = chain.svm.get_account(program)
        assert account is not None and account.executable, program


def test_associated_token_address_is_the_ata_program_pda() -> None:
    owner, mint = Keypair().pubkey(), Keypair().pubkey()
    for program in (programs.TOKEN_PROGRAM_ID, programs.TOKEN_2022_PROGRAM_ID):
        pda, _ = Pubkey.find_program_address(
            [bytes(owner), bytes(program), bytes(mint)], programs.ATA_PROGRAM_ID
        )
        assert spl.associated_token_address(owner, mint, program) == pda
    assert spl.associated_token_address(owner, mint) == get_associated_token_address(owner, mint)


def test_instruction_layouts() -> None:
    a, b, c = (Keypair().pubkey() for _ in range(3))
    ix = spl.transfer_checked(a, b, c, a, 1234, 6)
    assert bytes(ix.data) == bytes([12]) + struct.pack("<Q", 1234) + bytes([6])
    assert [(m.is_signer, m.is_writable) for m in ix.accounts] == [
        (False, True),
        (False, False),
        (False, True),
        (True, False),
    ]
    assert bytes(programs.transfer(a, b, 7).data) == struct.pack("<IQ", 2, 7)
    assert bytes(programs.set_compute_unit_limit(300).data) == b"\x02" + struct.pack("<I", 300)
    assert bytes(programs.set_compute_unit_price(9).data) == b"\x03" + struct.pack("<Q", 9)
    assert bytes(spl.create_associated_token_account_idempotent(a, b, c).data) == b"\x01"
    assert bytes(spl.initialize_mint2(a, 6, b).data) == bytes([20, 6]) + bytes(b) + b"\x00"


def test_fees_follow_the_runtime_rule() -> None:
    assert programs.prioritization_fee(1_000, 1_000) == 1
    assert programs.prioritization_fee(1, 1) == 1  # rounded up
    assert programs.prioritization_fee(0, 1_400_000) == 0
    assert programs.transaction_fee(2, 10_000, 200_000) == 10_000 + 2_000


def test_parse_mint_and_token_account() -> None:
    authority, mint, owner = (Keypair().pubkey() for _ in range(3))
    data = struct.pack("<I", 1) + bytes(authority) + struct.pack("<QBB", 55, 9, 1)
    data += struct.pack("<I", 0) + bytes(32)
    info = spl.parse_mint(mint, programs.TOKEN_PROGRAM_ID, data)
    assert info is not None and (info.decimals, info.supply) == (9, 55)
    assert info.mint_authority == authority and info.freeze_authority is None
    assert spl.parse_mint(mint, programs.SYSTEM_PROGRAM_ID, data) is None
    account = bytes(mint) + bytes(owner) + struct.pack("<Q", 42) + bytes(36) + b"\x01"
    account += bytes(spl.ACCOUNT_SIZE - len(account))
    parsed = spl.parse_token_account(owner, programs.TOKEN_PROGRAM_ID, account)
    assert parsed is not None and (parsed.mint, parsed.owner, parsed.amount) == (mint, owner, 42)
    assert spl.parse_mint(mint, programs.TOKEN_PROGRAM_ID, account) is None  # not a mint


def test_error_descriptions() -> None:
    token = str(programs.TOKEN_PROGRAM_ID)
    err = {"InstructionError": [3, {"Custom": 1}]}
    text = describe_error(err, ["a", "b", "c", token])
    assert "instruction 3" in text and "insufficient funds" in text
    assert is_insufficient_funds(err, ["a", "b", "c", token])
    assert not is_insufficient_funds({"InstructionError": [0, {"Custom": 4}]}, [token])
    assert is_insufficient_funds("InsufficientFundsForFee")
    assert describe_error("BlockhashNotFound") == "BlockhashNotFound"


# -- fee policy ---------------------------------------------------------------------------------


def test_percentile_and_limit() -> None:
    assert percentile_price([], 75) == 0
    assert percentile_price([5, 1, 3, 2, 4], 50) == 3
    assert percentile_price([5, 1, 3, 2, 4], 100) == 5
    assert percentile_price([5, 1, 3, 2, 4], 0) == 1
    policy = PriorityFeePolicy()
    assert compute_unit_limit(100_000, policy) == 110_000  # +10 %
    assert compute_unit_limit(450, policy) == 1_450  # at least +1,000 units
    assert compute_unit_limit(1_390_000, policy) == programs.MAX_COMPUTE_UNIT_LIMIT
    with pytest.raises(ValidationError):
        PriorityFeePolicy(headroom_bps=9_000)


async def test_price_from_the_market_with_cap_cache_and_override() -> None:
    calls: list[list[str]] = []
    market = [0, 0, 10, 50_000, 2_000_000, 80]
    now = [0.0]

    async def fetch(accounts: list[str]) -> list[int]:
        calls.append(list(accounts))
        return market

    oracle = FeeOracle(fetch, PriorityFeePolicy(percentile=50, cap=1_000_000), lambda: now[0])
    assert await oracle.price(["b", "a"]) == 10
    assert calls == [["a", "b"]]
    assert await oracle.price(["a", "b"]) == 10 and len(calls) == 1  # cached
    now[0] = 5.0
    oracle.policy = PriorityFeePolicy(percentile=100, cap=1_000_000)
    assert await oracle.price(["a", "b"]) == 1_000_000  # capped
    assert await oracle.price(["a"], override=7) == 7
    fixed = FeeOracle(fetch, PriorityFeePolicy(compute_unit_price=3))
    assert await fixed.price(["x"]) == 3
    assert len(calls) == 2


class GatedMarket:
    """A fee market answering ``price``; every fetch after the first waits for ``gate``."""

    def __init__(self, price: int) -> None:
        self.price = price
        self.calls = 0
        self.now = 0.0
        self.gate = asyncio.Event()

    async def fetch(self, accounts: list[str]) -> list[int]:
        self.calls += 1
        if self.calls > 1:
            await self.gate.wait()
        return [self.price]

    def oracle(self) -> FeeOracle:
        return FeeOracle(self.fetch, PriorityFeePolicy(cache_seconds=2.0), lambda: self.now)


async def test_a_price_half_way_to_stale_is_refreshed_while_it_still_serves() -> None:
    market = GatedMarket(10)
    oracle = market.oracle()
    assert await oracle.price(["a"]) == 10
    market.now = 0.9  # under half: no refresh
    assert oracle.cached_price(["a"]) == 10
    await asyncio.sleep(0)
    assert market.calls == 1
    market.price = 99
    market.now = 1.2  # half way: a refresh starts, the old price still serves, nobody waits
    assert oracle.cached_price(["a"]) == 10
    assert oracle.cached_price(["a"]) == 10
    await asyncio.sleep(0)
    assert market.calls == 2  # one refresh, not one per caller
    market.gate.set()
    for _ in range(3):
        await asyncio.sleep(0)
    assert oracle.cached_price(["a"]) == 99
    market.now = 1.2 + 2.0  # stale: no price without a fetch
    assert oracle.cached_price(["a"]) is None


async def test_stop_cancels_a_price_refresh_nobody_waits_for() -> None:
    market = GatedMarket(10)
    oracle = market.oracle()
    assert await oracle.price(["a"]) == 10
    market.price = 99
    market.now = 1.5
    assert oracle.cached_price(["a"]) == 10  # the refresh starts and waits at the market
    await asyncio.sleep(0)
    assert market.calls == 2
    await oracle.stop()
    market.gate.set()
    for _ in range(3):
        await asyncio.sleep(0)
    # the cancelled refresh stored nothing: the old price, and a refresh of its own
    assert oracle.cached_price(["a"]) == 10
    for _ in range(3):
        await asyncio.sleep(0)
    assert market.calls == 3
    assert oracle.cached_price(["a"]) == 99
    await oracle.stop()  # nothing in flight: a no-op


# -- the local chain's rules --------------------------------------------------------------------


def _transfer_bytes(chain: LocalChain, payer: SolanaSigner, lamports: int) -> bytes:
    blockhash, _ = chain.latest_blockhash()
    to = Keypair().pubkey()
    message = build_message(
        payer.solders_pubkey, [programs.transfer(payer.solders_pubkey, to, lamports)], blockhash
    )
    return sign_message(message, [payer]).raw


def test_blockhash_lifetime_status_levels_duplicates_and_drops() -> None:
    chain = LocalChain(slot_time=None)  # slots move only by advance()
    payer = SolanaSigner.generate()
    chain.airdrop(str(payer.pubkey), 10**10)
    blockhash, last_valid = chain.latest_blockhash()
    assert last_valid == chain.block_height() + MAX_PROCESSING_AGE
    raw = _transfer_bytes(chain, payer, 10**9)
    chain.drop_next()
    signature, outcome = chain.send(raw)
    assert outcome is SendOutcome.DROPPED and chain.status(signature) is None
    assert chain.send(raw)[1] is SendOutcome.LANDED
    assert chain.send(raw)[1] is SendOutcome.DUPLICATE  # lands once, whatever is re-sent
    view = chain.status(signature)
    assert view is not None and view.commitment == "processed" and view.confirmations == 0
    chain.advance()
    view = chain.status(signature)
    assert view is not None and view.commitment == "confirmed"
    chain.advance(FINALITY_DEPTH)
    view = chain.status(signature)
    assert view is not None and view.commitment == "finalized" and view.confirmations is None
    # A blockhash is usable for 150 blocks after its own, not one more.
    late = _transfer_bytes(chain, payer, 10**9)
    chain.advance(MAX_PROCESSING_AGE)
    assert chain.blockhash_valid(str(chain.latest_blockhash()[0]))
    assert chain.send(late)[1] is SendOutcome.LANDED
    stale = _transfer_bytes(chain, payer, 10**9)
    chain.advance(MAX_PROCESSING_AGE + 1)
    assert chain.send(stale)[1] is SendOutcome.EXPIRED
    assert chain.simulate(stale).err == "BlockhashNotFound"
    assert not chain.blockhash_valid(blockhash)


def test_failed_transactions_land_and_pay() -> None:
    chain = LocalChain(slot_time=None)
    payer = SolanaSigner.generate()
    chain.airdrop(str(payer.pubkey), 10**9)
    raw = _transfer_bytes(chain, payer, 10**12)  # more than it has
    sim = chain.simulate(raw)
    assert sim.err == {"InstructionError": [0, {"Custom": 1}]}
    signature, outcome = chain.send(raw)
    assert outcome is SendOutcome.LANDED
    landed = chain.transaction(signature)
    assert landed is not None and landed.err == sim.err and landed.fee == 5_000
    assert chain.balance(str(payer.pubkey)) == 10**9 - 5_000


def test_unsigned_simulation_and_rejected_bad_signature() -> None:
    chain = LocalChain(slot_time=None)
    payer = SolanaSigner.generate()
    chain.airdrop(str(payer.pubkey), 10**10)
    blockhash, _ = chain.latest_blockhash()
    message = build_message(
        payer.solders_pubkey,
        [programs.transfer(payer.solders_pubkey, Keypair().pubkey(), 10**9)],
        blockhash,
    )
    unsigned = unsigned_bytes(message)
    assert chain.simulate(unsigned).err is None  # simulations skip sigverify, like the RPC's
    assert chain.send(unsigned)[1] is SendOutcome.REJECTED  # sends do not


def test_prioritization_fees_by_account() -> None:
    chain = LocalChain(slot_time=None)
    payer = SolanaSigner.generate()
    chain.airdrop(str(payer.pubkey), 10**10)
    blockhash, _ = chain.latest_blockhash()
    to = Keypair().pubkey()
    message = build_message(
        payer.solders_pubkey,
        [programs.set_compute_unit_price(777), programs.transfer(payer.solders_pubkey, to, 10**9)],
        blockhash,
    )
    chain.send(sign_message(message, [payer]).raw)
    assert (chain.slot, 777) in chain.prioritization_fees([str(to)])
    assert all(fee == 0 for _, fee in chain.prioritization_fees([str(Keypair().pubkey())]))
    chain.add_prioritization_fees([5, 6, 7])
    fees = [fee for _, fee in chain.prioritization_fees()]
    assert 7 in fees and 6 in fees


async def test_factory_builds_the_solana_operator_for_solana_platforms() -> None:
    from chainops.devnet.solana import LiteSvmTransport
    from chainops.operators.base import OperatorFactory
    from chainops.operators.solana import SolanaOperator

    chain = LocalChain(slot_time=0.02)
    signer = SolanaSigner.generate()
    op = OperatorFactory.create(
        "solana-local", cache=False, transport=LiteSvmTransport(chain), signer=signer
    )
    assert isinstance(op, SolanaOperator) and op.owner == str(signer.pubkey)
    assert OperatorFactory.operator_class("solana") is SolanaOperator
    assert OperatorFactory.operator_class("solana-devnet") is SolanaOperator
    with pytest.raises(ConfigurationError, match="RPC URL or a transport"):
        OperatorFactory.create("solana-local", cache=False, signer=signer)


def test_keypair_file_over_a_world_readable_file_becomes_owner_only(tmp_path: Path) -> None:
    stale = tmp_path / "id.json"
    stale.write_text("[]")
    stale.chmod(0o644)  # O_CREAT alone would keep this mode
    SolanaSigner.generate().write_keypair_file(stale)
    assert stale.stat().st_mode & 0o777 == 0o600
