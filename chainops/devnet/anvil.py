"""Anvil: the node the devnet world runs on (process handling in :mod:`.node`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainops.devnet.node import (
    DEFAULT_CHAIN_ID,
    DEFAULT_MNEMONIC,
    LocalNode,
    MiningMode,
    NodeConfig,
    free_port,
)
from chainops.devnet.tools import find_anvil

__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEFAULT_MNEMONIC",
    "Anvil",
    "AnvilConfig",
    "MiningMode",
    "free_port",
]


@dataclass(frozen=True, kw_only=True)
class AnvilConfig(NodeConfig):
    """How to launch Anvil. Every field maps to one Anvil flag."""

    fork_url: str | None = None
    fork_block: int | None = None
    load_state: Path | None = None
    base_fee: int | None = None
    gas_limit: int | None = None
    # One slot per epoch makes `safe`/`finalized` follow the head within two blocks.
    slots_in_an_epoch: int | None = 1

    def args(self, binary: Path, port: int) -> list[str]:
        out = [str(binary), "--host", self.host, "--port", str(port)]
        out += ["--accounts", str(self.accounts), "--balance", str(self.balance_eth)]
        out += ["--mnemonic", self.mnemonic]
        if self.chain_id is not None:
            out += ["--chain-id", str(self.chain_id)]
        if self.mining == "manual":
            out.append("--no-mining")
        elif self.mining != "auto":
            out += ["--block-time", str(self.mining)]
        if self.fork_url:
            out += ["--fork-url", self.fork_url]
            if self.fork_block is not None:
                out += ["--fork-block-number", str(self.fork_block)]
        if self.load_state is not None:
            out += ["--load-state", str(self.load_state)]
        if self.base_fee is not None:
            out += ["--block-base-fee-per-gas", str(self.base_fee)]
        if self.gas_limit is not None:
            out += ["--gas-limit", str(self.gas_limit)]
        if self.hardfork:
            out += ["--hardfork", self.hardfork]
        if self.slots_in_an_epoch is not None:
            out += ["--slots-in-an-epoch", str(self.slots_in_an_epoch)]
        out += list(self.extra_args)
        return out


class Anvil(LocalNode[AnvilConfig]):
    """One running Anvil node. Use as a context manager or call start()/stop()."""

    label = "Anvil"

    def __init__(self, config: AnvilConfig | None = None) -> None:
        super().__init__(config or AnvilConfig())

    def command(self, port: int) -> list[str]:
        return [*self.config.args(find_anvil(), port), "--silent"]

    # -- controls -----------------------------------------------------------------------------

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def set_mining(self, mode: MiningMode) -> None:
        """Switch between automine, interval mining (seconds) and manual mining."""
        if mode == "auto":
            self.rpc("evm_setIntervalMining", [0])
            self.rpc("evm_setAutomine", [True])
        elif mode == "manual":
            self.rpc("evm_setAutomine", [False])
            self.rpc("evm_setIntervalMining", [0])
        else:
            self.rpc("evm_setAutomine", [False])
            self.rpc("evm_setIntervalMining", [int(mode)])

    def head_timestamp(self) -> int:
        """The timestamp (seconds) of the latest block."""
        return int(self.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def catch_up_clock(self) -> None:
        """Mine one block at the wall-clock time if the head is older than that.

        A state loaded from a file keeps its old head: a script that computes a swap
        deadline from the head block would send an already expired one.
        """
        now = int(time.time())
        if self.head_timestamp() < now:
            self.rpc("evm_mine", [now])

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [address, hex(wei)])

    def dump_state(self) -> str:
        """The whole chain state as Anvil's hex-encoded dump (for --load-state)."""
        return str(self.rpc("anvil_dumpState", timeout=120.0))

    def fork(self, **overrides: Any) -> Anvil:
        """A new Anvil forked from this one (started; caller stops it)."""
        config = AnvilConfig(
            **{
                **_config_fields(self.config),
                "fork_url": self.url,
                "fork_block": None,
                "load_state": None,
                "port": None,
                **overrides,
            }
        )
        child = Anvil(config).start()
        # Anvil credits its development accounts afresh on a fork; put back the parent's
        # balances so the fork starts from exactly the parent's state.
        block = hex(int(child.rpc("eth_blockNumber"), 16))
        for address in child.rpc("eth_accounts"):
            child.rpc("anvil_setBalance", [address, self.rpc("eth_getBalance", [address, block])])
        return child


def _config_fields(config: AnvilConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in AnvilConfig.__dataclass_fields__}
