"""Ganache 7 as a local node process.

Ganache fixes interval mining at start (``--miner.blockTime``); at run time it can
only stop and restart its miner, so :meth:`Ganache.set_mining` switches between
automine and manual mining.
"""

from __future__ import annotations

from dataclasses import dataclass

from chainops.core.errors import DevnetError
from chainops.devnet.node import LocalNode, MiningMode, NodeConfig
from chainops.devnet.tools import find_node_runtime, find_npm_script


@dataclass(frozen=True, kw_only=True)
class GanacheConfig(NodeConfig):
    """How to launch Ganache (``hardfork`` e.g. "berlin" for a legacy chain)."""

    def args(self, port: int) -> list[str]:
        out = ["--server.host", self.host, "--server.port", str(port)]
        out += ["--wallet.mnemonic", self.mnemonic]
        out += ["--wallet.totalAccounts", str(self.accounts)]
        out += ["--wallet.defaultBalance", str(self.balance_eth)]
        if self.chain_id is not None:
            out += ["--chain.chainId", str(self.chain_id)]
        if self.hardfork:
            out += ["--chain.hardfork", self.hardfork]
        if self.mining not in ("auto", "manual"):
            out += ["--miner.blockTime", str(self.mining)]
        out += ["--logging.quiet", *self.extra_args]
        return out


class Ganache(LocalNode[GanacheConfig]):
    """One running Ganache node."""

    label = "Ganache"

    def __init__(self, config: GanacheConfig | None = None) -> None:
        super().__init__(config or GanacheConfig())

    def command(self, port: int) -> list[str]:
        cli = find_npm_script("ganache", "dist/node/cli.js")
        return [str(find_node_runtime()), str(cli), *self.config.args(port)]

    def start(self) -> Ganache:
        super().start()
        if self.config.mining == "manual":
            self.rpc("miner_stop")
        return self

    # -- controls -----------------------------------------------------------------------------

    def mine(self, blocks: int = 1) -> None:
        self.rpc("evm_mine", [{"blocks": blocks}])

    def set_mining(self, mode: MiningMode) -> None:
        if mode == "manual":
            self.rpc("miner_stop")
        elif mode == "auto" and self.config.mining in ("auto", "manual"):
            self.rpc("miner_start")
        else:
            raise DevnetError(
                "Ganache sets interval mining at start only: "
                "start it with GanacheConfig(mining=<seconds>)"
            )

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("evm_setAccountBalance", [address, hex(wei)])
