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
