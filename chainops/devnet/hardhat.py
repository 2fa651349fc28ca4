"""Hardhat Network (hardhat 2.x, the EDR engine) as a local node process.

Hardhat reads its settings from a config file and refuses to run from an install
outside the working directory's ``node_modules``, so the node starts with ``tools/``
as its working directory and a config written to a temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainops.devnet.node import LocalNode, MiningMode, NodeConfig
from chainops.devnet.tools import find_node_runtime, find_npm_script

_WEI_PER_ETH = 10**18


@dataclass(frozen=True, kw_only=True)
class HardhatConfig(NodeConfig):
    """How to launch Hardhat Network (``hardfork`` e.g. "berlin" for a legacy chain)."""

    initial_base_fee: int | None = None

    def network(self) -> dict[str, Any]:
        """The ``networks.hardhat`` section of the config file."""
        out: dict[str, Any] = {
            "accounts": {
                "mnemonic": self.mnemonic,
                "count": self.accounts,
                "accountsBalance": str(self.balance_eth * _WEI_PER_ETH),
            },
            "mining": _mining(self.mining),
        }
        if self.chain_id is not None:
            out["chainId"] = self.chain_id
        if self.hardfork:
            out["hardfork"] = self.hardfork
        if self.initial_base_fee is not None:
            out["initialBaseFeePerGas"] = self.initial_base_fee
        return out


def _mining(mode: MiningMode) -> dict[str, Any]:
    if mode == "auto":
        return {"auto": True, "interval": 0}
    if mode == "manual":
        return {"auto": False, "interval": 0}
    return {"auto": False, "interval": int(mode * 1000)}  # Hardhat counts milliseconds


class Hardhat(LocalNode[HardhatConfig]):
    """One running Hardhat Network node."""

    label = "Hardhat"

    def __init__(self, config: HardhatConfig | None = None) -> None:
        super().__init__(config or HardhatConfig())
        self._config_dir: Path | None = None

    def command(self, port: int) -> list[str]:
        cli = find_npm_script("hardhat", "internal/cli/cli.js")
        if self._config_dir is None:
            self._config_dir = Path(tempfile.mkdtemp(prefix="chainops-hardhat-"))
        config_file = self._config_dir / "hardhat.config.js"
        settings = json.dumps({"networks": {"hardhat": self.config.network()}})
        config_file.write_text(f"module.exports = {settings};\n")
        return [
            str(find_node_runtime()),
            str(cli),
            "node",
            "--config",
            str(config_file),
            "--hostname",
            self.config.host,
            "--port",
            str(port),
            *self.config.extra_args,
        ]

    def environment(self) -> Mapping[str, str]:
        # Without this Hardhat may stop to ask for telemetry consent.
        return {"HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}

    def workdir(self) -> Path:
        # The folder whose node_modules holds this hardhat (tools/, or setup's nodes folder).
        return find_npm_script("hardhat", "internal/cli/cli.js").parents[4]

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        if self._config_dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._config_dir)
            self._config_dir = None

    # -- controls -----------------------------------------------------------------------------

    def mine(self, blocks: int = 1) -> None:
        self.rpc("hardhat_mine", [hex(blocks)])

    def set_mining(self, mode: MiningMode) -> None:
        settings = _mining(mode)
        self.rpc("evm_setAutomine", [settings["auto"]])
        self.rpc("evm_setIntervalMining", [settings["interval"]])

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("hardhat_setBalance", [address, hex(wei)])
