"""`chainops sol balance|transfer|token-transfer` and `chainops devnet up --solana`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chainops.cli.main import app
from chainops.core.ids import b58encode
from chainops.devnet.solana import LiteSvmTransport, SolanaRpcServer
from chainops.operators import chain as chain_module
from chainops.operators.solana import (
    SolanaConfiguration,
    SolanaOperator,
    SolanaSigner,
)
from chainops.operators.solana.rpc_transport import RpcTransport

pytestmark = pytest.mark.integration


def funded_keypair(server: SolanaRpcServer, folder: Path) -> tuple[SolanaSigner, Path]:
    signer = SolanaSigner.generate()
    server.chain.airdrop(str(signer.pubkey), 100 * 10**9)
    return signer, signer.write_keypair_file(folder / "id.json")


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and stdout (the confirmation lines go to stderr)."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def make_mint(server: SolanaRpcServer, signer: SolanaSigner) -> str:
    async def work() -> str:
        config = SolanaConfiguration(platform="solana-local")
        async with SolanaOperator(config, signer, RpcTransport(server.url)) as op:
            mint, created = await op.create_mint(6)
            await created.wait()
            await (await op.mint_to(mint, op.owner, Decimal("100"))).wait()
            return mint

    return asyncio.run(work())


def test_transfer_and_balance_json(solana_devnet: SolanaRpcServer, tmp_path: Path) -> None:
    signer, keypair = funded_keypair(solana_devnet, tmp_path)
    to = str(SolanaSigner.generate().pubkey)
    common = ["--url", solana_devnet.url, "--keypair", str(keypair)]
    journal = ["--journal", str(tmp_path / "j.sqlite")]
    code, out = invoke("sol", "transfer", to, "2.5", *common, *journal, "--json", "--yes")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["state"] == "CONFIRMED" and doc["fee"] == "0.000005" and doc["fee_asset"] == "SOL"
    assert solana_devnet.chain.transaction(doc["signature"]) is not None
    assert solana_devnet.chain.balance(to) == 2_500_000_000
    code, out = invoke("sol", "balance", to, "--url", solana_devnet.url, "--json")
    assert code == 0, out
    assert json.loads(out) == {"account": to, "asset": "SOL", "balance": "2.5"}
    code, out = invoke("sol", "balance", *common, "--json")  # the key's own account
    assert json.loads(out)["account"] == str(signer.pubkey)
    code, out = invoke("sol", "transfer", to, "1", *common, *journal, "--yes")  # human output
    assert code == 0 and "CONFIRMED" in out and "signature" in out


def test_token_transfer_json(solana_devnet: SolanaRpcServer, tmp_path: Path) -> None:
    signer, keypair = funded_keypair(solana_devnet, tmp_path)
    mint = make_mint(solana_devnet, signer)
    to = str(SolanaSigner.generate().pubkey)
    common = ["--url", solana_devnet.url, "--keypair", str(keypair)]
    journal = ["--journal", str(tmp_path / "j.sqlite")]
    code, out = invoke(
        "sol", "token-transfer", mint, to, "1.25", *common, *journal, "--json", "--yes"
    )
    assert code == 0, out
    assert json.loads(out)["state"] == "CONFIRMED"
    code, out = invoke("sol", "balance", to, "--mint", mint, "--url", solana_devnet.url, "--json")
    assert json.loads(out) == {"account": to, "mint": mint, "balance": "1.25"}
    # Bad input: a typed error, exit 1, nothing sent.
    sent = sum(solana_devnet.chain.received.values())
    for args, error in [
        (["token-transfer", mint, to, "1.0000001"], "InvalidAmount"),
        (["token-transfer", mint, to, "-1"], "InvalidAmount"),
        (["token-transfer", mint, "nope", "1"], "InvalidIdentifier"),
        (["token-transfer", mint, to, "1000"], "InsufficientBalance"),
        (["transfer", to, "5000"], "InsufficientBalance"),
        (
            [
                "token-transfer",
                mint,
                str(SolanaSigner.generate().pubkey),
                "1",
                "--no-create-account",
            ],
            "TokenAccountMissing",
        ),
    ]:
        command, *rest = args
        flags = [a for a in rest if a.startswith("--")]
        values = [a for a in rest if not a.startswith("--")]
        flags += ["--json", "--yes"]
        code, out = invoke("sol", command, *common, *journal, *flags, "--", *values)
        assert code == 1 and json.loads(out)["error"] == error, (args, out)
    assert sum(solana_devnet.chain.received.values()) == sent


def test_key_from_env_is_never_printed(
    solana_devnet: SolanaRpcServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, keypair = funded_keypair(solana_devnet, tmp_path)
    secret = b58encode(bytes(json.loads(keypair.read_text())))
    monkeypatch.setenv("CHAINOPS_SOLANA_KEY", secret)
    monkeypatch.setenv("CHAINOPS_SOLANA_URL", solana_devnet.url)
    to = str(SolanaSigner.generate().pubkey)
    code, out = invoke("sol", "transfer", to, "0.5", "--journal", str(tmp_path / "j.sqlite"), "-y")
    assert code == 0, out
    assert secret not in out
    monkeypatch.setenv("CHAINOPS_SOLANA_KEY", secret[:-4] + "0000")
    code, out = invoke("sol", "transfer", to, "0.5", "--journal", str(tmp_path / "j.sqlite"), "-y")
    assert code == 1 and secret[:-4] not in out


def test_devnet_up_solana_serves_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainops.cli.main", "devnet", "up", "--solana", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("}"):
                break
        doc = json.loads("".join(lines))
        signer = SolanaSigner.from_keypair_file(doc["dev_keypair"])
        assert str(signer.pubkey) == doc["dev_account"]

        async def use() -> Decimal:
            config = SolanaConfiguration(platform="solana-local")
            async with SolanaOperator(config, signer, RpcTransport(doc["solana_rpc_url"])) as op:
                assert op.subscriber is not None and op.subscriber.url == doc["solana_ws_url"]
                to = str(SolanaSigner.generate().pubkey)
                await op.transfer_and_wait(to, Decimal("3"))
                return await op.balance(to)

        assert asyncio.run(use()) == Decimal("3")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_in_process_transport_needs_no_server() -> None:
    assert LiteSvmTransport().name == "litesvm"


def run_cli(*args: str) -> Any:
    """The CliRunner result (stdin closed: a confirmation asked for would fail)."""
    return CliRunner().invoke(app, list(args), input="")


def test_bad_input_is_refused_before_the_summary_is_shown(
    solana_devnet: SolanaRpcServer, tmp_path: Path
) -> None:
    signer, keypair = funded_keypair(solana_devnet, tmp_path)
    mint = make_mint(solana_devnet, signer)
    to = str(SolanaSigner.generate().pubkey)
    common = ["--url", solana_devnet.url, "--keypair", str(keypair), "--json"]
    common += ["--journal", str(tmp_path / "j.sqlite")]
    sent = sum(solana_devnet.chain.received.values())
    for args, error in [
        (["transfer", "nope", "1"], "InvalidIdentifier"),
        (["transfer", to, "0.0000000001"], "InvalidAmount"),
        (["transfer", to, "1", "--priority-fee", "-1"], "ValidationError"),
        (["transfer", to, "1", "--network", "mainnet"], "ConfigurationError"),
        (["token-transfer", "nope", to, "1"], "InvalidIdentifier"),
        (["token-transfer", mint, "nope", "1"], "InvalidIdentifier"),
        (["token-transfer", mint, to, "1.0000001"], "InvalidAmount"),
        (["token-transfer", to, to, "1"], "ValidationError"),  # a wallet, not a mint
    ]:
        result = run_cli("sol", *args, *common)
        assert result.exit_code == 1, (args, result.output)
        assert json.loads(result.stdout)["error"] == error, (args, result.stdout)
        assert "endpoint" not in result.stderr, (args, result.stderr)
    assert sum(solana_devnet.chain.received.values()) == sent


def test_an_api_key_in_the_rpc_url_is_never_shown(tmp_path: Path) -> None:
    keypair = SolanaSigner.generate().write_keypair_file(tmp_path / "id.json")
    url = "http://127.0.0.1:9/?api-key=SECRETKEY123"
    to = str(SolanaSigner.generate().pubkey)
    journal = ["--journal", str(tmp_path / "j.sqlite")]
    for args in (["balance"], ["transfer", to, "1", "--yes", *journal]):
        result = run_cli("sol", *args, "--rpc-url", url, "--wallet", str(keypair))
        assert result.exit_code == 3, (args, result.output)
        assert "SECRETKEY123" not in result.output and "api-key=***" in result.output
        assert "<class" not in result.output  # the failure in words, not a class repr


def test_balance_reads_quietly_and_refuses_an_empty_account(
    solana_devnet: SolanaRpcServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, keypair = funded_keypair(solana_devnet, tmp_path)
    common = ["--url", solana_devnet.url, "--keypair", str(keypair)]
    monkeypatch.setattr(chain_module, "_warned_not_durable", False)  # said once per process
    result = run_cli("sol", "balance", *common)
    assert result.exit_code == 0 and "100 SOL" in result.stdout
    # a read journals nothing, so it has nothing to say about journals
    assert not [r for r in caplog.records if "journals in memory" in r.getMessage()]
    result = run_cli("sol", "balance", "", *common, "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["error"] == "InvalidIdentifier"
