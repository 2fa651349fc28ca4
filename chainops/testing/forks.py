"""Forks of the network named in the user's config, for tests and scripts.

``fork_configured_network(url)`` starts Anvil forked from ``url`` at the block
pinned by ``[networks.<name>] fork_block`` (or ``$CHAINOPS_FORK_BLOCK``), checks
that the upstream is the chain the config names, and yields the network with
its RPC URL pointing at the fork.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chainops.config import Network, load_settings, resolve_network
from chainops.core.errors import ConfigurationError
from chainops.devnet.anvil import Anvil, AnvilConfig


@dataclass(frozen=True)
class ForkedNetwork:
    """A running fork: the network as configured, served by ``anvil`` from ``block``."""

    network: Network
    anvil: Anvil
    block: int

    @property
    def rpc_url(self) -> str:
        return self.anvil.url


def _pinned_block(spec_block: int | None) -> int | None:
    env = os.environ.get("CHAINOPS_FORK_BLOCK")
    if env:
        if not env.isdigit():
            raise ConfigurationError(f"CHAINOPS_FORK_BLOCK must be a block number, not {env!r}")
        return int(env)
    return spec_block


@contextmanager
def fork_configured_network(
    fork_url: str, *, config: str | Path | None = None, network: str | None = None
) -> Iterator[ForkedNetwork]:
    """Fork the config's network (or ``network``) from ``fork_url``; stop it on exit."""
    settings = load_settings(config, network=network, rpc_url=fork_url)
    upstream = resolve_network(settings)
    spec = settings.networks.get(upstream.name)
    block = _pinned_block(spec.fork_block if spec else None)
    # chain_id None: keep the upstream's id, which must be the configured chain's
    anvil = Anvil(AnvilConfig(fork_url=fork_url, fork_block=block, chain_id=None)).start()
    try:
        if anvil.chain_id() != upstream.chain.chain_id:
            raise ConfigurationError(
                f"{fork_url} serves chain {anvil.chain_id()}, but network {upstream.name!r} "
                f"is chain {upstream.chain.chain_id}"
            )
        forked = dataclasses.replace(upstream, rpc_urls=(anvil.url,))
        yield ForkedNetwork(forked, anvil, anvil.block_number())
    finally:
        anvil.stop()
