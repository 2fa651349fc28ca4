"""Certification: @solana/web3.js 1.x and @solana/spl-token 0.4 (pinned in tools/) drive the
local cluster the way bots do, through its JSON-RPC and its PubSub websocket on port + 1.

One Node run (``web3_client.cjs``) performs every step and reports what the clients saw;
the tests below judge each step. Nothing is faked: the clients validate every response
against their own schemas and throw on a wrong shape.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainops.devnet.solana import SolanaRpcServer

ROOT = Path(__file__).resolve().parents[3]
NODE_MODULES = ROOT / "tools" / "node_modules"
SCRIPT = Path(__file__).with_name("web3_client.cjs")
LAMPORTS_PER_SOL = 10**9

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def report() -> Iterator[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "@solana" / "web3.js").is_dir():
        pytest.fail("node and tools/node_modules are needed: run `make setup`")
    with SolanaRpcServer(slot_time=0.05) as server:
        env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
        run = subprocess.run(
            [node, str(SCRIPT), server.url],
            capture_output=True,
            text=True,
            env=env,
            timeout=240,
            check=False,
        )
        document = json.loads(run.stdout) if run.stdout.strip() else {}
        assert run.returncode == 0, document.get("error") or run.stderr
        yield document


def test_airdrop_and_send_and_confirm_through_the_websocket(report: dict[str, Any]) -> None:
    assert report["airdrop"]["balance"] == 100 * LAMPORTS_PER_SOL
    assert report["sendAndConfirm"]["recipientBalance"] == LAMPORTS_PER_SOL


@pytest.mark.parametrize(
    ("step", "program"), [("token", "spl-token"), ("token2022", "spl-token-2022")]
)
def test_spl_token_helpers_mint_and_transfer_checked(
    report: dict[str, Any], step: str, program: str
) -> None:
    seen = report[step]
    assert seen["supply"] == "5000000"
    assert seen["destinationAmount"] == "1250000"
    # getParsedTransaction: the instruction parsed, token balances around it
    assert (seen["parsedProgram"], seen["parsedType"]) == (program, "transferChecked")
    assert seen["parsedAmount"] == "1250000"
    assert sorted(seen["preToken"]) == ["0", "5000000"]
    assert sorted(seen["postToken"]) == ["1250000", "3750000"]
    # getTransaction: the fee is what the payer's balances say it paid
    assert seen["fee"] == seen["feePaid"] == 5000
    assert seen["version"] == "legacy" and seen["blockTime"] > 1_600_000_000
    # getTokenAccountsByOwner, parsed
    assert seen["ownedAccounts"] == [{"program": program, "amount": "1250000"}]


def test_versioned_transaction_reads_and_dialect(report: dict[str, Any]) -> None:
    seen = report["versioned"]
    assert seen["version"] == 0
    assert seen["transferred"] == 3_000_000
    assert seen["replacedBlockhash"] and seen["simulationErr"] is None
    assert "This transaction has already been processed" in seen["resend"]


def test_subscriptions_fire_once_per_commitment_in_order(report: dict[str, Any]) -> None:
    seen = report["subscriptions"]
    assert seen["order"] == ["processed", "confirmed", "finalized"]
    assert all(v == {"err": None} for v in seen["fired"].values())
    assert seen["accountLamports"] == 1_000_000
    assert seen["logsSignature"] == seen["signature"]
    assert seen["slotsIncrease"]


def test_expired_is_reported_expired_and_landed_never(report: dict[str, Any]) -> None:
    assert report["expiry"] == {"lost": "expired", "landed": "confirmed"}


def test_unfunded_payer_is_refused_in_the_validators_words(report: dict[str, Any]) -> None:
    assert (
        "Transaction simulation failed: Attempt to debit an account but found no record of a "
        "prior credit." in report["unfunded"]
    )


def test_min_context_slot_and_node_reads(report: dict[str, Any]) -> None:
    seen = report["nodeReads"]
    assert "error" not in seen, seen["error"]
    refused = seen["refused"]
    assert refused != "accepted" and refused["code"] == -32016
    assert "Minimum context slot has not been reached" in refused["message"]
    assert seen["slot"] <= refused["data"]["contextSlot"] < seen["slot"] + 1_000_000
    assert seen["floorContextSlot"] >= seen["slot"]
    samples = seen["samples"]
    # 60 s of the report server's 50 ms slots
    assert samples and {(s["numSlots"], s["samplePeriodSecs"]) for s in samples} == {(1200, 60)}
    assert [s["slot"] for s in samples] == sorted((s["slot"] for s in samples), reverse=True)
    assert 0 < sum(s["numTransactions"] for s in samples) <= seen["transactionCount"]
    assert seen["stakeMinimum"] == LAMPORTS_PER_SOL
    assert seen["votes"] == {"current": 0, "delinquent": 0}
    assert set(seen["governor"].values()) == {0} and seen["rateTotal"] == 0
    assert seen["leaders"] == [seen["leader"]] * 3
