"""The local cluster's own rules: skipped slots, commitment views, rollbacks, encodings, dialect.

The chain's clock is held (``slot_time=None``): blocks come only when a test asks.
The operator tests drive its monitor one turn at a time against those switches.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from decimal import Decimal
from pathlib import Path

import pytest
from solders.account import Account
from solders.address_lookup_table_account import ID as ALT_PROGRAM
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.transaction import VersionedTransaction

from chainops.core.transaction import TxState
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.devnet.solana.blocks import BlockMethods
from chainops.devnet.solana.clock import FINALITY_DEPTH, MAX_PROCESSING_AGE
from chainops.devnet.solana.encodings import encode_account
from chainops.devnet.solana.faults import SLOT_SKIPPED, RpcFault, describe
from chainops.devnet.solana.parsed_accounts import ui_amount_string
from chainops.devnet.solana.records import SendOutcome
from chainops.devnet.solana.transaction_json import encode_landed
from chainops.devnet.solana.transactions import TransactionMethods
from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner, programs

SOL = 10**9


def transfer(
    chain: LocalChain,
    payer: Keypair,
    to: Keypair,
    lamports: int,
    *,
    v0: bool = False,
    level: str = "processed",
) -> bytes:
    blockhash = Hash.from_string(chain.latest_blockhash(level)[0])
    ix = programs.transfer(payer.pubkey(), to.pubkey(), lamports)
    message: Message | MessageV0 = (
        MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash)
        if v0
        else Message.new_with_blockhash([ix], payer.pubkey(), blockhash)
    )
    return bytes(VersionedTransaction(message, [payer]))


@pytest.fixture
def funded() -> tuple[LocalChain, Keypair]:
    chain = LocalChain(slot_time=None)
    payer = Keypair()
    chain.airdrop(str(payer.pubkey()), 100 * SOL)
    chain.advance(FINALITY_DEPTH + 1)  # the airdrop is final
    return chain, payer


def test_skipped_slots_put_block_height_behind_the_slot() -> None:
    chain = LocalChain(slot_time=None, skip_every=4)
    chain.advance(30)
    slot, height = chain.slot, chain.block_height()
    assert height == 31 and slot > height  # 30 blocks after the first, every 4th slot empty
    assert slot % 4 != 0 and not chain.clock.produced(slot - slot % 4)
    blockhash, last_valid = chain.latest_blockhash()
    assert last_valid == height + MAX_PROCESSING_AGE  # counted in blocks, not slots
    chain.advance(MAX_PROCESSING_AGE)
    assert chain.blockhash_valid(blockhash)  # 150 blocks later: still valid...
    chain.advance(1)
    assert not chain.blockhash_valid(blockhash)  # ...one more and it is gone


async def test_a_skipped_slot_has_no_block() -> None:
    chain = LocalChain(slot_time=None, skip_every=3)
    chain.advance(10)
    methods = BlockMethods(chain)
    with pytest.raises(RpcFault) as caught:
        await methods.block([3, {"commitment": "confirmed"}])
    assert caught.value.code == SLOT_SKIPPED
    block = await methods.block([4, {"commitment": "confirmed", "transactionDetails": "none"}])
    assert block["parentSlot"] == 2 and block["blockHeight"] == 3


def test_reads_answer_per_commitment(funded: tuple[LocalChain, Keypair]) -> None:
    chain, payer = funded
    to = Keypair()
    assert chain.send(transfer(chain, payer, to, SOL))[1] is SendOutcome.LANDED
    key = str(to.pubkey())
    assert [chain.balance(key, level) for level in ("processed", "confirmed", "finalized")] == [
        SOL,
        0,
        0,
    ]
    chain.advance(1)
    assert chain.balance(key, "confirmed") == SOL and chain.balance(key, "finalized") == 0
    chain.advance(FINALITY_DEPTH)
    assert chain.balance(key, "finalized") == SOL
    hashes = {chain.latest_blockhash(level)[0] for level in ("processed", "confirmed", "finalized")}
    assert len(hashes) == 3


def test_rollback_undoes_processed_only_transactions(funded: tuple[LocalChain, Keypair]) -> None:
    chain, payer = funded
    kept, lost = Keypair(), Keypair()
    chain.send(transfer(chain, payer, kept, SOL))
    chain.advance(1)  # confirmed: survives the rollback
    payer_before = chain.balance(str(payer.pubkey()))
    # A confirmed blockhash: one from the abandoned block would die with it.
    raw = transfer(chain, payer, lost, 2 * SOL, level="confirmed")
    signature, _ = chain.send(raw)
    on_the_fork = transfer(chain, payer, lost, SOL)  # uses the processed block's hash
    abandoned = chain.slot
    assert chain.rollback_processed() == [signature]
    assert chain.send(on_the_fork)[1] is SendOutcome.EXPIRED  # that hash died with its block
    assert chain.status(signature) is None and chain.transaction(signature) is None
    assert chain.balance(str(lost.pubkey())) == 0
    assert chain.balance(str(payer.pubkey())) == payer_before
    assert chain.balance(str(kept.pubkey())) == SOL
    assert not chain.clock.produced(abandoned) and chain.slot > abandoned
    assert chain.send(raw)[1] is SendOutcome.LANDED  # the same bytes land on the new fork
    assert chain.balance(str(lost.pubkey())) == 2 * SOL


def test_landed_meta_is_faithful(funded: tuple[LocalChain, Keypair]) -> None:
    chain, payer = funded
    to = Keypair()
    signature, _ = chain.send(transfer(chain, payer, to, SOL, v0=True))
    landed = chain.transaction(signature)
    assert landed is not None
    assert landed.pre_balances[1] == 0 and landed.post_balances[1] == SOL
    assert landed.pre_balances[0] - landed.post_balances[0] == SOL + landed.fee
    as_json = encode_landed(landed, "json", 0)
    assert as_json["version"] == 0 and as_json["meta"]["fee"] == 5000
    assert as_json["transaction"]["message"]["addressTableLookups"] == []
    parsed = encode_landed(landed, "jsonParsed", 0)
    ix = parsed["transaction"]["message"]["instructions"][0]
    assert (ix["program"], ix["parsed"]["type"]) == ("system", "transfer")
    assert ix["parsed"]["info"]["lamports"] == SOL
    with pytest.raises(RpcFault, match="maxSupportedTransactionVersion"):
        encode_landed(landed, "json", None)
    assert encode_landed(landed, "base58", 0)["transaction"][1] == "base58"


def _lookup_table(addresses: list[Keypair]) -> bytes:
    # LookupTable meta: type 1, deactivation slot (never), last extended slot and index,
    # an authority (none) and padding; then the addresses.
    meta = struct.pack("<IQQB", 1, 2**64 - 1, 0, len(addresses)) + b"\x00" + b"\x00" * 32
    meta += b"\x00" * (56 - len(meta))
    return meta + b"".join(bytes(a.pubkey()) for a in addresses)


def test_loaded_addresses_are_reported(funded: tuple[LocalChain, Keypair]) -> None:
    chain, payer = funded
    to = Keypair()
    table = Keypair()
    data = _lookup_table([to])
    rent = chain.minimum_balance_for_rent_exemption(len(data))
    chain.svm.set_account(table.pubkey(), Account(rent, data, ALT_PROGRAM, False))
    lookup = AddressLookupTableAccount(table.pubkey(), [to.pubkey()])
    blockhash = Hash.from_string(chain.latest_blockhash()[0])
    message = MessageV0.try_compile(
        payer.pubkey(), [programs.transfer(payer.pubkey(), to.pubkey(), SOL)], [lookup], blockhash
    )
    signature, outcome = chain.send(bytes(VersionedTransaction(message, [payer])))
    landed = chain.transaction(signature)
    assert outcome is SendOutcome.LANDED and landed is not None and landed.err is None
    assert landed.loaded_writable == (str(to.pubkey()),)
    assert landed.post_balances[-1] == SOL
    meta = encode_landed(landed, "json", 0)["meta"]
    assert meta["loadedAddresses"] == {"writable": [str(to.pubkey())], "readonly": []}


async def test_send_dialect(funded: tuple[LocalChain, Keypair]) -> None:
    chain, payer = funded
    methods = TransactionMethods(chain, lambda _: None)
    raw = transfer(chain, payer, Keypair(), SOL)
    text = base64.b64encode(raw).decode()
    signature = await methods.send([text, {"encoding": "base64"}])
    with pytest.raises(RpcFault, match="already been processed") as caught:
        await methods.send([text, {"encoding": "base64"}])
    assert caught.value.code == -32002 and caught.value.data["err"] == "AlreadyProcessed"
    assert await methods.send([text, {"encoding": "base64", "skipPreflight": True}]) == signature
    forged = bytearray(raw)
    forged[5] ^= 1  # a signature byte
    with pytest.raises(RpcFault, match="signature verification failure") as caught:
        await methods.send([base64.b64encode(bytes(forged)).decode(), {"encoding": "base64"}])
    assert caught.value.code == -32003


def test_error_words_and_amounts() -> None:
    assert describe({"InstructionError": [1, {"Custom": 1}]}) == (
        "Error processing Instruction 1: custom program error: 0x1"
    )
    assert describe("InsufficientFundsForFee") == "Insufficient funds for fee"
    assert [ui_amount_string(a, d) for a, d in [(1_250_000, 6), (5, 0), (7, 3), (10**9, 9)]] == [
        "1.25",
        "5",
        "0.007",
        "1",
    ]


async def _operator(chain: LocalChain, tmp_path: Path) -> SolanaOperator:
    signer = SolanaSigner.generate()
    chain.airdrop(str(signer.pubkey), 10 * SOL)
    chain.advance(1)
    config = SolanaConfiguration(
        platform="solana-local", journal_path=tmp_path / "j.sqlite", close_timeout=0
    )
    return SolanaOperator(config, signer, LiteSvmTransport(chain))


async def test_operator_rides_out_a_rolled_back_slot(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=None)
    async with await _operator(chain, tmp_path) as op:
        to = str(SolanaSigner.generate().pubkey)
        tx = await op.transfer(to, Decimal("0.25"))
        await op.monitor.turn()
        assert tx.state is TxState.INCLUDED
        assert chain.rollback_processed() == [str(tx.hash)]
        await op.monitor.turn()
        assert tx.state is TxState.BROADCAST
        assert any(entry.reason == "forked" for entry in tx.history)
        for _ in range(200):  # the monitor re-sends the same bytes on its schedule
            if chain.transaction(str(tx.hash)) is not None:
                break
            await op.monitor.turn()
            await asyncio.sleep(0.01)
        chain.advance(1)
        await op.monitor.turn()
        assert tx.state is TxState.CONFIRMED
        assert len(tx.attempts) == 1  # the same signed bytes, not a rebuilt transaction
    assert chain.balance(to) == SOL // 4


async def test_operator_counts_expiry_in_blocks_across_skipped_slots(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=None, skip_every=2)  # half the slots are empty
    async with await _operator(chain, tmp_path) as op:
        chain.drop_next(10**6)  # nothing lands
        tx = await op.transfer(str(SolanaSigner.generate().pubkey), Decimal("0.1"))
        attempt = tx.latest_attempt
        assert attempt is not None and attempt.last_valid_block_height is not None
        slot_before = chain.slot
        chain.advance(MAX_PROCESSING_AGE)  # 150 blocks: ~300 slots, the hash still valid
        assert chain.slot - slot_before >= 2 * MAX_PROCESSING_AGE - 1
        await op.monitor.turn()
        assert not tx.is_terminal
        chain.advance(3)
        await op.monitor.turn()
        assert tx.state is TxState.EXPIRED


def test_nonce_accounts_parse_and_unknown_data_falls_back_to_base64() -> None:
    authority, blockhash = Keypair().pubkey(), Hash.new_unique()
    data = struct.pack("<II", 1, 1) + bytes(authority) + bytes(blockhash) + struct.pack("<Q", 5000)
    nonce = Account(1_447_680, data, programs.SYSTEM_PROGRAM_ID, False)
    parsed = encode_account("n", nonce, "jsonParsed", lambda _: None)["data"]
    assert parsed == {
        "program": "nonce",
        "parsed": {
            "type": "initialized",
            "info": {
                "authority": str(authority),
                "blockhash": str(blockhash),
                "feeCalculator": {"lamportsPerSignature": "5000"},
            },
        },
        "space": 80,
    }
    other = Account(1, b"\x01\x02", programs.MEMO_PROGRAM_ID, False)
    assert encode_account("o", other, "jsonParsed", lambda _: None)["data"] == ["AQI=", "base64"]
    with pytest.raises(RpcFault, match="unsupported encoding"):
        encode_account("o", other, "base64+zstd", lambda _: None)


async def test_block_detail_levels(funded: tuple[LocalChain, Keypair]) -> None:
    chain, payer = funded
    signature, _ = chain.send(transfer(chain, payer, Keypair(), SOL))
    landed = chain.transaction(signature)
    assert landed is not None
    chain.advance(1)
    methods = BlockMethods(chain)
    config = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}
    full = await methods.block([landed.slot, config])
    assert full["transactions"][0]["transaction"]["signatures"] == [signature]
    assert full["blockhash"] != full["previousBlockhash"] and full["rewards"] == []
    signatures = await methods.block([landed.slot, {**config, "transactionDetails": "signatures"}])
    assert signatures["signatures"] == [signature] and "transactions" not in signatures
    accounts = await methods.block([landed.slot, {**config, "transactionDetails": "accounts"}])
    keys = accounts["transactions"][0]["transaction"]["accountKeys"]
    assert keys[0] == {
        "pubkey": str(payer.pubkey()),
        "writable": True,
        "signer": True,
        "source": "transaction",
    }
    with pytest.raises(RpcFault) as caught:
        await methods.block([chain.slot, {"commitment": "confirmed"}])  # processed only
    assert caught.value.code == -32004


async def test_simulation_reports_the_accounts_asked_for(
    funded: tuple[LocalChain, Keypair],
) -> None:
    chain, payer = funded
    to = Keypair()
    methods = TransactionMethods(chain, lambda _: None)
    text = base64.b64encode(transfer(chain, payer, to, SOL)).decode()
    wanted = {"addresses": [str(to.pubkey()), str(Keypair().pubkey())], "encoding": "base64"}
    reply = await methods.simulate([text, {"encoding": "base64", "accounts": wanted}])
    after, nobody = reply["value"]["accounts"]
    assert after["lamports"] == SOL and nobody is None
    assert chain.balance(str(to.pubkey())) == 0  # a simulation commits nothing
    plain = await methods.simulate([text, {"encoding": "base64"}])
    assert plain["value"]["accounts"] is None and plain["value"]["innerInstructions"] is None
