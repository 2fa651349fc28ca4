"""pytest fixtures for the three local nodes users run: Anvil, Hardhat Network, Ganache.

``anvil_node``    module   a bare Anvil (automine, the development accounts funded)
``hardhat_node``  module   a bare Hardhat Network node, same accounts
``ganache_node``  module   a bare Ganache node, same accounts
``node``          module   parametrized over the three: a test using it runs once per node
                           (ids ``anvil``, ``hardhat``, ``ganache``), one node start per module
``node_factory``  function ``node_factory("hardhat", hardfork="berlin", mining="manual")``
                           starts a node of that kind; each is stopped after the test

All use chain id 31337 and the mnemonic ``test test … junk``, so the same private keys
fund the same addresses on every node. Each node is a process on a free loopback port.
A node that is not installed fails its tests with the one line that says what to install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from chainops.testing.failures import in_one_line

if TYPE_CHECKING:
    from chainops.devnet.node import LocalNode

NODE_KINDS = ("anvil", "hardhat", "ganache")


def start_node(kind: str, **options: Any) -> LocalNode[Any]:
    """Start a node of ``kind`` ("anvil", "hardhat" or "ganache") with config ``options``."""
    from chainops.devnet.anvil import Anvil, AnvilConfig
    from chainops.devnet.ganache import Ganache, GanacheConfig
    from chainops.devnet.hardhat import Hardhat, HardhatConfig

    if kind == "anvil":
        return Anvil(AnvilConfig(**options)).start()
    if kind == "hardhat":
        return Hardhat(HardhatConfig(**options)).start()
    if kind == "ganache":
        return Ganache(GanacheConfig(**options)).start()
    raise ValueError(f"unknown node kind {kind!r}; one of {', '.join(NODE_KINDS)}")


def _running(kind: str) -> Iterator[LocalNode[Any]]:
    with in_one_line():
        node = start_node(kind)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def anvil_node() -> Iterator[LocalNode[Any]]:
    """A bare Anvil for this module (automine, development accounts funded)."""
    yield from _running("anvil")


@pytest.fixture(scope="module")
def hardhat_node() -> Iterator[LocalNode[Any]]:
    """A bare Hardhat Network node for this module (automine, same accounts)."""
    yield from _running("hardhat")


@pytest.fixture(scope="module")
def ganache_node() -> Iterator[LocalNode[Any]]:
    """A bare Ganache node for this module (automine, same accounts)."""
    yield from _running("ganache")


@pytest.fixture(scope="module", params=NODE_KINDS)
def node(request: pytest.FixtureRequest) -> Iterator[LocalNode[Any]]:
    """Each of Anvil, Hardhat and Ganache in turn: tests using it run once per node."""
    yield from _running(str(request.param))


@pytest.fixture
def node_factory() -> Iterator[Callable[..., LocalNode[Any]]]:
    """``node_factory(kind, **config)`` starts a node; all are stopped after the test."""
    started: list[LocalNode[Any]] = []

    def make(kind: str, **options: Any) -> LocalNode[Any]:
        with in_one_line():
            started.append(start_node(kind, **options))
        return started[-1]

    try:
        yield make
    finally:
        for item in started:
            item.stop()
