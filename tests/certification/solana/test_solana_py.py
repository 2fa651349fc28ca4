"""Certification: solana-py (``AsyncClient`` and its websocket client) against the local cluster.

solana-py parses every response into solders' typed response objects, which refuse a
wrong shape: a read that returns here has the cluster's real JSON layout. Tokens are
built with our own instruction builders and land through the cluster's own SVM.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import MemcmpOpts, TokenAccountOpts, TxOpts
from solana.rpc.websocket_api import SolanaWsClient
from solders.account import Account
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.errors import MinContextSlotNotReachedMessage
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from chainops.devnet.solana import SolanaRpcServer
from chainops.operators.solana import programs, spl

pytestmark = pytest.mark.integration
SOL = 10**9
DECIMALS = 6


@dataclass
class Session:
    server: SolanaRpcServer
    client: AsyncClient
    payer: Keypair


@asynccontextmanager
async def open_session(server: SolanaRpcServer) -> AsyncIterator[Session]:
    client = AsyncClient(server.url)
    payer = Keypair()
    server.chain.airdrop(str(payer.pubkey()), 100 * SOL)
    server.chain.advance(1)  # the airdrop confirmed, as the tests' sends assume
    try:
        yield Session(server, client, payer)
    finally:
        await client.close()


@pytest.fixture
async def session(solana_devnet: SolanaRpcServer) -> AsyncIterator[Session]:
    async with open_session(solana_devnet) as opened:
        yield opened


async def send(
    s: Session, instructions: list[Instruction], signers: list[Keypair], *, v0: bool = False
) -> Signature:
    """Sign and send with preflight; returns the signature (not yet confirmed)."""
    blockhash = (await s.client.get_latest_blockhash("confirmed")).value.blockhash
    message: Message | MessageV0
    if v0:
        message = MessageV0.try_compile(s.payer.pubkey(), instructions, [], blockhash)
    else:
        message = Message.new_with_blockhash(instructions, s.payer.pubkey(), blockhash)
    tx = VersionedTransaction(message, [s.payer, *signers])
    return (await s.client.send_raw_transaction(bytes(tx))).value


async def confirm_by_subscription(
    s: Session, signature: Signature, level: str = "confirmed"
) -> Any:
    async with SolanaWsClient(s.server.ws_url) as ws:
        await ws.signature_subscribe(signature=signature, commitment=level)  # type: ignore[arg-type]
        note = await asyncio.wait_for(ws.recv(), 10)
    return note.result


async def create_mint(s: Session, program: Pubkey) -> Pubkey:
    mint = Keypair()
    rent = (await s.client.get_minimum_balance_for_rent_exemption(spl.MINT_SIZE)).value
    create = programs.create_account(s.payer.pubkey(), mint.pubkey(), rent, spl.MINT_SIZE, program)
    init = spl.initialize_mint2(mint.pubkey(), DECIMALS, s.payer.pubkey(), None, program)
    await confirm_by_subscription(s, await send(s, [create, init], [mint]))
    return mint.pubkey()


async def fund_token_accounts(
    s: Session, program: Pubkey, mint: Pubkey, recipient: Pubkey
) -> tuple[Pubkey, Pubkey, Signature]:
    """ATAs for the payer and ``recipient``, 5 tokens minted, 1.25 transferred."""
    payer = s.payer.pubkey()
    source = spl.associated_token_address(payer, mint, program)
    destination = spl.associated_token_address(recipient, mint, program)
    created = await send(
        s,
        [
            spl.create_associated_token_account_idempotent(payer, payer, mint, program),
            spl.create_associated_token_account_idempotent(payer, recipient, mint, program),
            spl.mint_to_checked(mint, source, payer, 5_000_000, DECIMALS, program),
        ],
        [],
    )
    await confirm_by_subscription(s, created)
    # The ATA program's inner instructions, parsed: it creates and initialises the account.
    landed = await s.client.get_transaction(created, "jsonParsed", "confirmed", 0)
    assert landed.value is not None and landed.value.transaction.meta is not None
    inner = landed.value.transaction.meta.inner_instructions or []
    assert [group.index for group in inner] == [0, 1]
    kinds = {ix.parsed["type"] for ix in inner[0].instructions if hasattr(ix, "parsed")}
    assert {"createAccount", "initializeAccount3", "initializeImmutableOwner"} <= kinds
    signature = await send(
        s,
        [spl.transfer_checked(source, mint, destination, payer, 1_250_000, DECIMALS, program)],
        [],
    )
    result = await confirm_by_subscription(s, signature)
    assert result.value.err is None
    return source, destination, signature


@pytest.mark.parametrize("program", [programs.TOKEN_PROGRAM_ID, programs.TOKEN_2022_PROGRAM_ID])
async def test_token_flow_reads_parse_in_solders(session: Session, program: Pubkey) -> None:
    s = session
    recipient = Keypair().pubkey()
    mint = await create_mint(s, program)
    source, destination, signature = await fund_token_accounts(s, program, mint, recipient)

    parsed = await s.client.get_transaction(
        signature, "jsonParsed", "confirmed", max_supported_transaction_version=0
    )
    assert parsed.value is not None
    meta = parsed.value.transaction.meta
    assert meta is not None and meta.fee == 5000
    assert meta.pre_balances[0] - meta.post_balances[0] == 5000
    post = {str(b.owner): b.ui_token_amount.amount for b in meta.post_token_balances or []}
    assert post == {str(recipient): "1250000", str(s.payer.pubkey()): "3750000"}
    raw = parsed.value.to_json()
    assert '"type":"transferChecked"' in raw and '"version":"legacy"' in raw

    plain = await s.client.get_transaction(
        signature, "base64", "confirmed", max_supported_transaction_version=0
    )
    assert plain.value is not None and plain.value.block_time is not None

    owned = await s.client.get_token_accounts_by_owner_json_parsed(
        recipient, TokenAccountOpts(program_id=program), "confirmed"
    )
    assert [str(a.pubkey) for a in owned.value] == [str(destination)]
    info = owned.value[0].account.data.parsed["info"]
    assert info["tokenAmount"]["uiAmountString"] == "1.25" and info["mint"] == str(mint)
    # Token-2022 associated accounts carry the ImmutableOwner extension
    expected = (
        [{"extension": "immutableOwner"}] if program == programs.TOKEN_2022_PROGRAM_ID else None
    )
    assert info.get("extensions") == expected

    by_mint = await s.client.get_token_accounts_by_owner(
        s.payer.pubkey(), TokenAccountOpts(mint=mint), "confirmed"
    )
    assert [str(a.pubkey) for a in by_mint.value] == [str(source)]

    supply = await s.client.get_token_supply(mint, "confirmed")
    assert supply.value.amount == "5000000" and supply.value.ui_amount_string == "5"

    holders = await s.client.get_program_accounts(
        program,
        "confirmed",
        "base64",
        filters=[
            MemcmpOpts(offset=0, bytes=str(mint)),
            MemcmpOpts(offset=32, bytes=str(recipient)),
        ],
    )
    assert [str(a.pubkey) for a in holders.value] == [str(destination)]

    mint_view = await s.client.get_account_info_json_parsed(mint, "confirmed")
    assert mint_view.value is not None
    assert mint_view.value.data.parsed["info"]["supply"] == "5000000"  # type: ignore[union-attr]


async def test_largest_token_holders_slot_leader_and_ledger_start(session: Session) -> None:
    s = session
    program = programs.TOKEN_PROGRAM_ID
    recipient = Keypair().pubkey()
    mint = await create_mint(s, program)
    source, destination, _ = await fund_token_accounts(s, program, mint, recipient)
    largest = await s.client.get_token_largest_accounts(mint, "confirmed")
    held = [(str(a.address), a.amount.amount, a.amount.ui_amount_string) for a in largest.value]
    assert held == [(str(source), "3750000", "3.75"), (str(destination), "1250000", "1.25")]
    with pytest.raises(RPCException, match="not a Token mint"):
        await s.client.get_token_largest_accounts(recipient, "confirmed")
    leader = await s.client.get_slot_leader()  # parsed as a Pubkey: the identity is a real key
    nodes = await s.client.get_cluster_nodes()
    identity = await s.client.get_identity()
    assert str(leader.value) == str(nodes.value[0].pubkey) == str(identity.value.identity)
    first = await s.client.get_minimum_ledger_slot()
    assert first.value == (await s.client.get_first_available_block()).value


async def test_history_blocks_fees_and_epoch(session: Session) -> None:
    s = session
    to = Keypair().pubkey()
    first = await send(s, [programs.transfer(s.payer.pubkey(), to, SOL)], [])
    await confirm_by_subscription(s, first)
    second = await send(s, [programs.transfer(s.payer.pubkey(), to, SOL), programs.memo("gm")], [])
    await confirm_by_subscription(s, second)

    history = await s.client.get_signatures_for_address(to, commitment="confirmed")
    assert [h.signature for h in history.value] == [second, first]
    assert history.value[0].memo == "[2] gm" and history.value[1].memo is None
    older = await s.client.get_signatures_for_address(to, before=second, commitment="confirmed")
    assert [h.signature for h in older.value] == [first]

    landed = await s.client.get_transaction(second, "json", "confirmed")
    assert landed.value is not None
    block = await s.client.get_block(landed.value.slot, "jsonParsed", 0, commitment="confirmed")
    assert second in [t.transaction.signatures[0] for t in block.value.transactions or []]
    assert block.value.block_height is not None and block.value.block_height <= landed.value.slot

    accounts = await s.client.get_multiple_accounts(
        [s.payer.pubkey(), to, Keypair().pubkey()], "confirmed"
    )
    assert [a is None for a in accounts.value] == [False, False, True]

    blockhash = (await s.client.get_latest_blockhash("confirmed")).value.blockhash
    message = MessageV0.try_compile(
        s.payer.pubkey(),
        [programs.set_compute_unit_limit(1_000), programs.set_compute_unit_price(2_000_000)],
        [],
        blockhash,
    )
    fee = await s.client.get_fee_for_message(message, "confirmed")
    assert fee.value == 5000 + 2_000  # 1,000 CU at 2 lamports each

    epoch = await s.client.get_epoch_info("processed")
    assert epoch.value.absolute_slot >= epoch.value.block_height


async def test_subscriptions_account_program_logs_slot_root(session: Session) -> None:
    s = session
    to = Keypair().pubkey()
    async with SolanaWsClient(s.server.ws_url) as ws:
        account = await ws.account_subscribe(pubkey=to, commitment="confirmed")  # type: ignore[arg-type]
        logs = await ws.logs_subscribe(
            filter_=RpcTransactionLogsFilterMentions(to),
            commitment="processed",  # type: ignore[arg-type]
        )
        system = await ws.program_subscribe(
            program_id=programs.SYSTEM_PROGRAM_ID,
            commitment="processed",  # type: ignore[arg-type]
            encoding="base64",
            filters=[0],
        )
        signature = await send(s, [programs.transfer(s.payer.pubkey(), to, 2 * SOL)], [])
        seen: dict[int, Any] = {}
        program_keys: set[str] = set()
        while len(seen) < 3 or str(to) not in program_keys:
            note = await asyncio.wait_for(ws.recv(), 10)
            seen.setdefault(note.subscription, note.result)
            if note.subscription == system.subscription_id:
                program_keys.add(str(note.result.value.pubkey))
        assert seen[logs.subscription_id].value.signature == signature
        assert seen[account.subscription_id].value.lamports == 2 * SOL
        assert str(s.payer.pubkey()) in program_keys  # both sides of the transfer changed
        for sub in (account, logs, system):
            await ws.unsubscribe(sub)
        slot = await ws.slot_subscribe()
        root = await ws.root_subscribe()
        kinds = set()
        while kinds != {slot.subscription_id, root.subscription_id}:
            kinds.add((await asyncio.wait_for(ws.recv(), 10)).subscription)


async def test_reads_and_blockhashes_answer_per_commitment() -> None:
    # A held clock: commitment moves only when the test produces blocks.
    with SolanaRpcServer(slot_time=None) as server:
        async with open_session(server) as s:
            await _reads_per_commitment(s)


async def _reads_per_commitment(s: Session) -> None:
    s.server.chain.advance(40)  # deep enough for three distinct commitment levels
    to = Keypair().pubkey()
    await send(s, [programs.transfer(s.payer.pubkey(), to, SOL)], [])
    balances = [
        (await s.client.get_balance(to, level)).value  # type: ignore[arg-type]
        for level in ("processed", "confirmed", "finalized")
    ]
    assert balances == [SOL, 0, 0]
    hashes = {
        str((await s.client.get_latest_blockhash(level)).value.blockhash)  # type: ignore[arg-type]
        for level in ("processed", "confirmed", "finalized")
    }
    assert len(hashes) == 3
    s.server.chain.advance(1)
    assert (await s.client.get_balance(to, "confirmed")).value == SOL
    assert (await s.client.get_balance(to, "finalized")).value == 0


async def test_validator_error_dialect(session: Session) -> None:
    s = session
    blockhash = (await s.client.get_latest_blockhash("confirmed")).value.blockhash
    message = Message.new_with_blockhash(
        [programs.transfer(s.payer.pubkey(), Keypair().pubkey(), SOL)], s.payer.pubkey(), blockhash
    )
    signature_bytes = bytes(VersionedTransaction(message, [s.payer]))
    await s.client.send_raw_transaction(signature_bytes)
    with pytest.raises(RPCException, match="This transaction has already been processed"):
        await s.client.send_raw_transaction(signature_bytes)
    # without preflight the node takes the bytes and answers with the signature
    again = await s.client.send_raw_transaction(signature_bytes, TxOpts(skip_preflight=True))
    assert str(again.value) == str(VersionedTransaction.from_bytes(signature_bytes).signatures[0])

    stale = Message.new_with_blockhash(
        [programs.transfer(s.payer.pubkey(), Keypair().pubkey(), SOL)],
        s.payer.pubkey(),
        Hash.new_unique(),
    )
    with pytest.raises(RPCException, match="Blockhash not found"):
        await s.client.send_raw_transaction(bytes(VersionedTransaction(stale, [s.payer])))

    poor = Keypair()  # holds less than one signature's fee
    s.server.chain.svm.set_account(poor.pubkey(), Account(1_000, b"", programs.SYSTEM_PROGRAM_ID))
    broke = Message.new_with_blockhash(
        [programs.transfer(poor.pubkey(), Keypair().pubkey(), 1)], poor.pubkey(), blockhash
    )
    with pytest.raises(
        RPCException, match="Transaction simulation failed: Insufficient funds for fee"
    ):
        await s.client.send_raw_transaction(bytes(VersionedTransaction(broke, [poor])))


async def test_versioned_transactions_report_version_zero(session: Session) -> None:
    s = session
    to = Keypair().pubkey()
    signature = await send(s, [programs.transfer(s.payer.pubkey(), to, SOL)], [], v0=True)
    await confirm_by_subscription(s, signature)
    got = await s.client.get_transaction(
        signature, "json", "confirmed", max_supported_transaction_version=0
    )
    assert got.value is not None and got.value.transaction.version == 0
    with pytest.raises(RPCException, match="maxSupportedTransactionVersion"):
        await s.client.get_transaction(signature, "json", "confirmed")


async def test_min_context_slot_refusals_parse_as_solders_typed_error() -> None:
    with SolanaRpcServer(slot_time=None) as server:  # a held clock: exact slots
        async with open_session(server) as s:
            await _min_context_slot(s)


async def _min_context_slot(s: Session) -> None:
    chain = s.server.chain
    chain.advance(40)
    payer = s.payer.pubkey()
    confirmed = chain.slot_at("confirmed")
    history = await s.client.get_signatures_for_address(
        payer, commitment="confirmed", min_context_slot=confirmed
    )
    assert len(history.value) == 1  # the airdrop
    with pytest.raises(RPCException) as refused:
        await s.client.get_signatures_for_address(
            payer, commitment="confirmed", min_context_slot=confirmed + 1
        )
    error = refused.value.args[0]
    assert isinstance(error, MinContextSlotNotReachedMessage)
    assert error.data.context_slot == confirmed

    blockhash = (await s.client.get_latest_blockhash("processed")).value.blockhash
    transfer = programs.transfer(payer, Keypair().pubkey(), SOL)
    tx = VersionedTransaction(Message.new_with_blockhash([transfer], payer, blockhash), [s.payer])
    finalized = chain.slot_at("finalized")  # the client's default commitment
    simulated = await s.client.simulate_transaction(tx, min_context_slot=finalized)
    assert simulated.value.err is None and simulated.context.slot >= finalized
    with pytest.raises(RPCException) as refused:
        await s.client.simulate_transaction(tx, min_context_slot=finalized + 1)
    error = refused.value.args[0]
    assert isinstance(error, MinContextSlotNotReachedMessage)
    assert error.data.context_slot == finalized


async def test_node_reads_parse_in_solders() -> None:
    with SolanaRpcServer(slot_time=None) as server:
        async with open_session(server) as s:
            await _node_reads(s)


async def _node_reads(s: Session) -> None:
    s.server.chain.advance(2 * 150)  # two whole samples: 60 s of nominal 0.4 s slots each
    samples = (await s.client.get_recent_performance_samples(5)).value
    assert [(x.num_slots, x.sample_period_secs) for x in samples] == [(150, 60), (150, 60)]
    assert samples[0].slot > samples[1].slot
    landed = (await s.client.get_transaction_count("processed")).value
    assert sum(x.num_transactions for x in samples) == landed == 1  # the airdrop
    votes = (await s.client.get_vote_accounts()).value
    assert (votes.current, votes.delinquent) == ([], [])
    governor = (await s.client.get_inflation_governor()).value
    assert (governor.initial, governor.terminal, governor.foundation_term) == (0.0, 0.0, 0.0)
    rate = (await s.client.get_inflation_rate()).value
    assert (rate.total, rate.epoch) == (0.0, (await s.client.get_epoch_info()).value.epoch)
    identity = (await s.client.get_identity()).value.identity
    assert (await s.client.get_slot_leaders(0, 4)).value == [identity] * 4
    with pytest.raises(RPCException, match="Invalid limit; max 5000"):
        await s.client.get_slot_leaders(0, 5001)
