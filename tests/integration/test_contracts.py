"""Our Solidity test contracts, deployed on a private Anvil and exercised for real.

Self-contained on purpose: it starts its own Anvil on a free loopback port and
deploys straight from chainops/devnet/contracts, so it checks the contracts and the
compile step independently of the devnet world.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "chainops" / "devnet" / "contracts"  # compiled, committed, in the wheel
OUR_CONTRACTS = (
    "TestToken",
    "FeeOnTransferToken",
    "NoReturnToken",
    "Bytes32SymbolToken",
    "Reverter",
)

ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
INSUFFICIENT_THING = keccak(text="InsufficientThing(uint256,uint256)")[:4]
NOT_OWNER = keccak(text="NotOwner(address)")[:4]
ZERO = "0x" + "00" * 20


# --- Anvil --------------------------------------------------------------------


def _anvil_binary() -> str | None:
    node_modules = ROOT / "tools" / "node_modules" / "@foundry-rs"
    for candidate in sorted(node_modules.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("anvil")


def _free_port() -> int:
    # 8545 is left alone: a developer's own node usually listens there.
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 8545:
            return port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    missing = [name for name in OUR_CONTRACTS if not (BUILD / f"{name}.json").exists()]
    if missing:
        pytest.skip(
            f"compiled contracts missing in {BUILD} ({', '.join(missing)}); "
            "run: node scripts/compile_contracts.mjs"
        )
    anvil = _anvil_binary()
    if anvil is None:
        pytest.skip("anvil not found; run: npm --prefix tools install")

    port = _free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [anvil, "--host", "127.0.0.1", "--port", str(port), "--silent"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            web3 = Web3(
                Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 5})
            )
            deadline = time.monotonic() + 10
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    pytest.fail(f"anvil exited with {proc.returncode}: {output}")
                with contextlib.suppress(Exception):
                    if web3.is_connected():
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"anvil did not answer on port {port} within 10 s")
                time.sleep(0.05)
            yield web3
        finally:
            _stop(proc)


# --- helpers ------------------------------------------------------------------


def _artifact(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BUILD / f"{name}.json").read_text())
    return data


def deploy(w3: Web3, name: str, *args: Any) -> Contract:
    art = _artifact(name)
    assert art["contractName"] == name
    assert art["bytecode"].startswith("0x") and len(art["bytecode"]) > 2
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(*args).transact({"from": w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1
    # Runtime code on chain must be what the artifact says (immutables aside).
    code = w3.eth.get_code(receipt["contractAddress"])
    assert len(code) == (len(art["deployedBytecode"]) - 2) // 2
    return w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])


def send(w3: Web3, tx: dict[str, Any]) -> Any:
    """Send without gas estimation, so a reverting call is still mined."""
    tx = {"gas": 1_000_000, **tx}
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(tx))  # type: ignore[arg-type]
    return receipt


def mined(w3: Web3, tx_hash: Any) -> Any:
    """Wait for the receipt: a read right after a send may see the block before it."""
    return w3.eth.wait_for_transaction_receipt(tx_hash)


def revert_data(w3: Web3, tx: dict[str, Any]) -> bytes:
    """Raw return data of a reverting eth_call, straight from the node."""
    call = {k: (hex(v) if isinstance(v, int) else v) for k, v in tx.items()}
    response = w3.provider.make_request("eth_call", [call, "latest"])  # type: ignore[arg-type]
    error = response.get("error")
    assert error is not None, f"expected a revert, got {response.get('result')!r}"
    data = error.get("data") or "0x"
    return bytes.fromhex(data.removeprefix("0x"))


def call_tx(contract: Contract, fn: str, *args: Any, sender: str) -> dict[str, Any]:
    return {"from": sender, **_data(contract, fn, *args)}


def _data(contract: Contract, fn: str, *args: Any) -> dict[str, Any]:
    return {"to": contract.address, "data": contract.encode_abi(fn, args=list(args))}


def reason(data: bytes) -> str:
    assert data[:4] == ERROR_STRING, data.hex()
    (message,) = decode(["string"], data[4:])
    return str(message)


# --- tokens -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "symbol", "decimals"),
    [("USD Coin", "USDC", 6), ("Dai Stablecoin", "DAI", 18), ("Wrapped BTC", "WBTC", 8)],
)
def test_test_token(w3: Web3, name: str, symbol: str, decimals: int) -> None:
    owner, alice, bob = w3.eth.accounts[:3]
    token = deploy(w3, "TestToken", name, symbol, decimals)
    assert token.functions.name().call() == name
    assert token.functions.symbol().call() == symbol
    assert token.functions.decimals().call() == decimals
    assert token.functions.owner().call() == owner

    unit = 10**decimals
    receipt = send(w3, {"from": owner, **_data(token, "mint", alice, 1000 * unit)})
    assert receipt["status"] == 1
    (minted,) = token.events.Transfer().process_receipt(receipt)
    assert (minted.args["from"], minted.args["to"]) == (ZERO, alice)
    assert minted.args["value"] == 1000 * unit
    assert token.functions.totalSupply().call() == 1000 * unit

    # Only the owner mints; the custom error names the caller.
    data = revert_data(w3, call_tx(token, "mint", alice, 1, sender=alice))
    assert data[:4] == NOT_OWNER
    assert decode(["address"], data[4:])[0].lower() == alice.lower()

    assert token.functions.transfer(bob, 10 * unit).call({"from": alice}) is True
    mined(w3, token.functions.transfer(bob, 10 * unit).transact({"from": alice}))
    assert token.functions.balanceOf(bob).call() == 10 * unit

    receipt = send(w3, {"from": alice, **_data(token, "approve", bob, 50 * unit)})
    (approval,) = token.events.Approval().process_receipt(receipt)
    assert (approval.args["owner"], approval.args["spender"]) == (alice, bob)
    assert approval.args["value"] == 50 * unit

    assert token.functions.transferFrom(alice, bob, 20 * unit).call({"from": bob}) is True
    mined(w3, token.functions.transferFrom(alice, bob, 20 * unit).transact({"from": bob}))
    assert token.functions.allowance(alice, bob).call() == 30 * unit
    assert token.functions.balanceOf(alice).call() == 970 * unit

    too_much = call_tx(token, "transferFrom", alice, bob, 31 * unit, sender=bob)
    assert reason(revert_data(w3, too_much)) == "insufficient allowance"
    broke = call_tx(token, "transfer", alice, 31 * unit, sender=bob)  # bob holds 30
    assert reason(revert_data(w3, broke)) == "insufficient balance"
    # A mined failing transferFrom changes nothing.
    assert send(w3, too_much)["status"] == 0
    assert token.functions.allowance(alice, bob).call() == 30 * unit

    # Infinite approval is never decremented.
    mined(w3, token.functions.approve(bob, 2**256 - 1).transact({"from": alice}))
    mined(w3, token.functions.transferFrom(alice, bob, unit).transact({"from": bob}))
    assert token.functions.allowance(alice, bob).call() == 2**256 - 1

    mined(w3, token.functions.burn(unit).transact({"from": alice}))
    assert token.functions.totalSupply().call() == 999 * unit


def test_fee_on_transfer_token(w3: Web3) -> None:
    owner, alice, bob, carol = w3.eth.accounts[:4]
    token = deploy(w3, "FeeOnTransferToken", "Fee Token", "FEE", 100)  # 1 %
    assert token.functions.decimals().call() == 18
    assert token.functions.feeBps().call() == 100
    e18 = 10**18
    mined(w3, token.functions.mint(alice, 1000 * e18).transact({"from": owner}))

    receipt = send(w3, {"from": alice, **_data(token, "transfer", bob, 100 * e18)})
    events = token.events.Transfer().process_receipt(receipt)
    moves = [(e.args["to"], e.args["value"]) for e in events]
    assert moves == [(bob, 99 * e18), (ZERO, e18)]  # the 1 % fee is burned
    assert token.functions.balanceOf(alice).call() == 900 * e18
    assert token.functions.balanceOf(bob).call() == 99 * e18
    assert token.functions.totalSupply().call() == 999 * e18

    mined(w3, token.functions.approve(carol, 10 * e18).transact({"from": bob}))
    mined(w3, token.functions.transferFrom(bob, carol, 10 * e18).transact({"from": carol}))
    assert token.functions.balanceOf(carol).call() == 99 * e18 // 10
    assert token.functions.balanceOf(bob).call() == 89 * e18
    assert token.functions.allowance(bob, carol).call() == 0  # allowance covers the gross amount

    # The fee rounds down: below 100 wei at 1 % nothing is charged.
    mined(w3, token.functions.transfer(bob, 99).transact({"from": alice}))
    assert token.functions.balanceOf(bob).call() == 89 * e18 + 99
    mined(w3, token.functions.transfer(bob, 12_345).transact({"from": alice}))
    assert token.functions.balanceOf(bob).call() == 89 * e18 + 99 + 12_345 - 123

    short = call_tx(token, "transfer", alice, 10**30, sender=carol)
    assert reason(revert_data(w3, short)) == "insufficient balance"


def test_no_return_token(w3: Web3) -> None:
    owner, alice, bob = w3.eth.accounts[:3]
    token = deploy(w3, "NoReturnToken", "Tether USD", "USDT")
    assert token.functions.decimals().call() == 6
    mined(w3, token.functions.mint(alice, 500 * 10**6).transact({"from": owner}))

    # Each of the three returns no data at all, not even a bool.
    for fn, args, sender in [
        ("transfer", (bob, 10**6), alice),
        ("approve", (bob, 5 * 10**6), alice),
        ("transferFrom", (alice, bob, 2 * 10**6), bob),
    ]:
        tx = call_tx(token, fn, *args, sender=sender)
        assert w3.eth.call(tx) == b"", fn  # type: ignore[arg-type]
        assert send(w3, tx)["status"] == 1, fn

    assert token.functions.balanceOf(bob).call() == 3 * 10**6
    assert token.functions.allowance(alice, bob).call() == 3 * 10**6
    short = call_tx(token, "transferFrom", alice, bob, 4 * 10**6, sender=bob)
    assert reason(revert_data(w3, short)) == "insufficient allowance"


def test_bytes32_symbol_token(w3: Web3) -> None:
    owner, alice = w3.eth.accounts[:2]
    name, symbol = b"Maker".ljust(32, b"\0"), b"MKR".ljust(32, b"\0")
    token = deploy(w3, "Bytes32SymbolToken", name, symbol)
    # Raw return data is one left-aligned bytes32 word, not an ABI-encoded string.
    assert w3.eth.call(call_tx(token, "symbol", sender=alice)) == symbol  # type: ignore[arg-type]
    assert w3.eth.call(call_tx(token, "name", sender=alice)) == name  # type: ignore[arg-type]
    assert token.functions.decimals().call() == 18
    mined(w3, token.functions.mint(alice, 7).transact({"from": owner}))
    assert token.functions.transfer(owner, 3).call({"from": alice}) is True
    mined(w3, token.functions.transfer(owner, 3).transact({"from": alice}))
    assert token.functions.balanceOf(alice).call() == 4


# --- reverts ------------------------------------------------------------------


def test_reverter(w3: Web3) -> None:
    me = w3.eth.accounts[0]
    rev = deploy(w3, "Reverter")

    data = revert_data(w3, call_tx(rev, "revertWithReason", "nope, not today", sender=me))
    assert reason(data) == "nope, not today"

    for fn, args, code in [
        ("panicDivide", (1, 0), 0x12),
        ("panicOverflow", (2**256 - 1, 1), 0x11),
        ("panicAssert", (), 0x01),
    ]:
        data = revert_data(w3, call_tx(rev, fn, *args, sender=me))
        assert data[:4] == PANIC, fn
        assert decode(["uint256"], data[4:]) == (code,), fn

    data = revert_data(w3, call_tx(rev, "revertWithCustomError", 5, 8, sender=me))
    assert data[:4] == INSUFFICIENT_THING == bytes.fromhex("2067310d")
    assert decode(["uint256", "uint256"], data[4:]) == (5, 8)

    assert revert_data(w3, call_tx(rev, "revertBare", sender=me)) == b""

    # Mined failures roll back their state write.
    assert send(w3, call_tx(rev, "revertBare", sender=me))["status"] == 0
    assert rev.functions.calls().call() == 0

    assert rev.functions.succeed(42).call() == 42
    receipt = send(w3, call_tx(rev, "succeed", 42, sender=me))
    (event,) = rev.events.Succeeded().process_receipt(receipt)
    assert (event.args["caller"], event.args["value"]) == (me, 42)
    assert rev.functions.calls().call() == 1

    send(w3, {"from": me, "value": 10**18, **_data(rev, "deposit")})
    receipt = send(w3, {"from": me, "to": rev.address, "value": 2 * 10**18})  # plain transfer
    (event,) = rev.events.Received().process_receipt(receipt)
    assert event.args["amount"] == 2 * 10**18
    assert w3.eth.get_balance(rev.address) == 3 * 10**18
