"""What importing an operator loads: a Solana user gets no EVM stack, a transfer no web3.

Every module imported stays on the heap the garbage collector walks on each full pass,
so this is run time as well as start-up time (figures: bench/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _loaded(modules: str, watched: tuple[str, ...]) -> list[str]:
    probe = (
        f"import json, sys; import {modules}; "
        f"print(json.dumps([m for m in {list(watched)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout))


def test_solana_operator_and_local_cluster_load_no_evm_stack_and_no_http_client() -> None:
    watched = ("eth_account", "web3", "eth_abi", "rlp", "aiohttp")
    assert _loaded("chainops.operators.solana, chainops.devnet.solana", watched) == []


def test_evm_operator_loads_no_web3_until_a_contract_is_encoded() -> None:
    assert _loaded("chainops.operators.evm", ("web3",)) == []


@pytest.mark.parametrize(
    ("modules", "name"),
    [
        ("chainops.wallets", "WalletStore"),
        ("chainops.devnet.solana", "SolanaRpcServer"),
    ],
)
def test_lazy_names_still_import(modules: str, name: str) -> None:
    module = __import__(modules, fromlist=[name])
    assert getattr(module, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute"):
        module.NoSuchName  # noqa: B018  (the lookup itself must raise)


def test_an_in_process_solana_operator_started_and_used_loads_no_http_client(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No websocket to subscribe to: PubSub (aiohttp) is never imported, even at start."""
    probe = f"""
import asyncio, json, sys
from decimal import Decimal
from pathlib import Path
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner

async def main():
    chain = LocalChain(slot_time=0.02)
    signer = SolanaSigner.generate()
    chain.airdrop(str(signer.pubkey), 10**10)
    config = SolanaConfiguration(
        platform="solana-local",
        journal_path=Path({str(tmp_path / "j.sqlite")!r}),
        track_finality=False,
    )
    async with SolanaOperator(config, signer, LiteSvmTransport(chain)) as op:
        tx = await op.transfer(str(SolanaSigner.generate().pubkey), Decimal("0.001"))
        await tx.wait(timeout=30)
asyncio.run(main())
print(json.dumps([m for m in ("aiohttp", "eth_account", "web3") if m in sys.modules]))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
