"""pytest plugin: a devnet world per session, a fork per module, isolation per test.

Installed with chainops (entry point ``pytest11``), so a user's own suite gets:

``devnet_world``     session  the world (Anvil + Uniswap V2/V3 + tokens + pools), read-mostly
``devnet_fork``      module   an Anvil forked from the world; tests in a module share it
``devnet``           function the module's fork, every change undone after the test (chain
                              state reverted, unmined transactions dropped, automine back on)
``devnet_fresh``     function a fork of its own for one test (mining mode, time and other node
                              settings that a snapshot does not cover start clean too)
``devnet_accounts``  function funded development accounts (address, private key), deployer excluded
``devnet_like``      session  factory: ``devnet_like("ethereum")`` (or arbitrum, optimism, base,
                              polygon, bsc) is a world shaped like that chain, started once
``solana_devnet``    function a fresh local Solana cluster (LiteSVM): loopback JSON-RPC + PubSub
``anvil_fork``       function factory: ``anvil_fork(url, block=None)`` forks any chain (mainnet
                              with your own RPC URL); every node it starts is stopped after the test
``exchange_simulator`` function a Binance-compatible exchange simulator on loopback (own thread)
``configured_network_fork`` function a fork of the network named in the user's config at its
                              pinned block (skipped unless ``CHAINOPS_FORK_URL`` is set)

Async tests need no configuration: unless the project chooses pytest-asyncio's
``asyncio_mode`` itself, the plugin runs it in ``auto`` mode (every ``async def`` test
runs on an event loop). pytest-asyncio comes with ``pip install 'chainops[testing]'``;
without it, an async test fails with one line saying so, as does ``solana_devnet``
without the ``solana`` extra, and every fixture whose tool (npm, Anvil, Hardhat,
Ganache) is missing: the line says what to install.

Heavy imports happen inside the fixtures so that merely having chainops installed
costs a pytest run nothing.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, nullcontext
from typing import TYPE_CHECKING, Any

import pytest

from chainops.testing.failures import in_one_line

if TYPE_CHECKING:
    from chainops.core.addressbook import AccountEntry
    from chainops.devnet.anvil import Anvil
    from chainops.devnet.exchange.background import BackgroundSimulator
    from chainops.devnet.solana import SolanaRpcServer
    from chainops.devnet.world import World
    from chainops.testing.forks import ForkedNetwork

pytest_plugins = ("chainops.testing.nodes",)  # anvil_node, hardhat_node, ganache_node, node


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chainops", "chainops devnet fixtures")
    group.addoption(
        "--chainops-no-cache",
        action="store_true",
        default=False,
        help="deploy the devnet world from scratch instead of loading the cached state",
    )


_LOOP_SCOPE_UNSET = 'The configuration option "asyncio_default_fixture_loop_scope" is unset'


def _chosen_in_config(config: pytest.Config, name: str) -> bool:
    """Whether the project's ini/toml file (or ``-o``) sets ``name``."""
    # pytest 9 keeps the parsed file in _inicfg; earlier versions expose inicfg.
    values: Any = getattr(config, "_inicfg", None)
    if values is None:
        values = getattr(config, "inicfg", {})
    overrides = getattr(config, "_override_ini", ()) or ()
    return name in values or any(o.split("=", 1)[0] == name for o in overrides)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("asyncio"):  # pytest-asyncio's plugin name
        return
    if config.getoption("asyncio_mode", None) is None and not _chosen_in_config(
        config, "asyncio_mode"
    ):
        config.option.asyncio_mode = "auto"
    if not _chosen_in_config(config, "asyncio_default_fixture_loop_scope"):
        # pytest-asyncio warns about this unset option on every run; its default is ours too.
        warnings.filterwarnings(
            "ignore", message=_LOOP_SCOPE_UNSET, category=pytest.PytestDeprecationWarning
        )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> None:
    asyncio_plugin = pyfuncitem.config.pluginmanager.has_plugin("asyncio")
    if not asyncio_plugin and inspect.iscoroutinefunction(pyfuncitem.obj):
        pytest.fail(
            "async tests need pytest-asyncio: pip install 'chainops[testing]'", pytrace=False
        )


@pytest.fixture(scope="session")
def devnet_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The devnet world for the session: ``.rpc_url``, ``.book`` (tokens, contracts,
    accounts), ``.anvil``. Read it; change things on ``devnet`` or ``devnet_fresh``."""
    from chainops.devnet.tools import fetch_pending
    from chainops.devnet.world import World

    capture = request.config.pluginmanager.getplugin("capturemanager")
    # The one-time tool download takes a while: let its progress lines reach the terminal.
    shown = capture.global_and_fixture_disabled() if capture and fetch_pending() else nullcontext()
    with shown, in_one_line():
        world = World.start(use_cache=not request.config.getoption("--chainops-no-cache"))
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture(scope="module")
def devnet_fork(devnet_world: World) -> Iterator[World]:
    """An Anvil forked from the world, shared by the tests of a module."""
    with devnet_world.fork() as fork:
        yield fork


@pytest.fixture
def devnet(devnet_fork: World) -> Iterator[World]:
    """The module's fork; after the test its chain state is reverted, transactions it left
    unmined are dropped and automine is back on if the test turned it off."""
    anvil = devnet_fork.anvil
    automine = anvil.rpc("anvil_getAutomine")
    with anvil.isolated():
        yield devnet_fork
    # A snapshot holds the chain, not the pool or the miner: a transaction left pending
    # would be mined in the next test, and manual mining would stall its sends.
    anvil.rpc("anvil_dropAllTransactions")
    if automine and not anvil.rpc("anvil_getAutomine"):
        anvil.set_mining("auto")


@pytest.fixture
def devnet_fresh(devnet_world: World) -> Iterator[World]:
    """A fork of the world for this test alone: node settings start clean too."""
    with devnet_world.fork() as fork:
        yield fork


@pytest.fixture(scope="session")
def devnet_like(request: pytest.FixtureRequest) -> Iterator[Callable[[str], World]]:
    """``devnet_like("base")``: a world shaped like that chain (ethereum, arbitrum, optimism,
    base, polygon, bsc), started on first use and shared by the session."""
    from chainops.devnet.world import World

    started: dict[str, World] = {}
    use_cache = not request.config.getoption("--chainops-no-cache")

    def make(chain: str) -> World:
        chain = chain.strip().lower()  # "Base" and "base": one world
        if chain not in started:
            with in_one_line():
                started[chain] = World.start(like=chain, use_cache=use_cache)
        return started[chain]

    try:
        yield make
    finally:
        for world in started.values():
            world.stop()


@pytest.fixture
def devnet_accounts(devnet_world: World) -> list[AccountEntry]:
    """The funded development accounts (``.address``, ``.private_key``), deployer excluded."""
    return list(devnet_world.book.accounts[1:])


@pytest.fixture
def anvil_fork() -> Iterator[Callable[..., Anvil]]:
    """``anvil_fork(url, block=None)`` forks any chain (mainnet with your own RPC URL);
    every node it starts is stopped after the test."""
    from chainops.devnet.anvil import Anvil, AnvilConfig

    started: list[Anvil] = []

    def make(url: str, block: int | None = None, **options: object) -> Anvil:
        # chain_id None: keep the forked chain's own id (1 for a mainnet fork).
        config = AnvilConfig(fork_url=url, fork_block=block, chain_id=None, **options)  # type: ignore[arg-type]
        with in_one_line():
            node = Anvil(config).start()
        started.append(node)
        return node

    try:
        yield make
    finally:
        for node in started:
            node.stop()


@pytest.fixture
def exchange_simulator() -> Iterator[BackgroundSimulator]:
    """A Binance-compatible exchange simulator on a free loopback port (own thread and loop).

    ``sim.create_account({"USDT": "1000"})`` gives an API key and secret (with
    ``key_type="ed25519"`` or ``"rsa"``: a private key PEM instead); point an
    adapter at ``sim.url``, ``sim.stream_url`` and ``sim.ws_api_url``; ``sim.sim.faults``
    holds the fault switches (change them through ``sim.call``). Binance's ORDERS limits
    are enforced (over 100 orders per 10 s is -1015); ``sim.sim.orders.enforce = False``
    lifts them for a load test.
    """
    from chainops.devnet.exchange.background import BackgroundSimulator

    with BackgroundSimulator(seed=0) as sim:
        yield sim


# -- Solana -----------------------------------------------------------------------------------

# Tests want blocks fast: 50 ms slots give confirmed in ~50 ms and finality in ~1.6 s;
# expiry (150 blocks) is reached at once with ``server.chain.advance(151)``.
SOLANA_TEST_SLOT_TIME = 0.05


@pytest.fixture
def solana_devnet() -> Iterator[SolanaRpcServer]:
    """A fresh local Solana cluster (LiteSVM) behind a loopback JSON-RPC + PubSub server.

    ``.url`` for any RPC client, ``.ws_url`` for its websocket (the port + 1), ``.chain``
    for the cluster itself: ``airdrop``, ``drop_next(n)`` (lose the next sends),
    ``advance(n)`` (produce blocks now), ``rollback_processed()`` (a fork).
    """
    from chainops.extras import require_solana

    with in_one_line():
        require_solana("the solana_devnet fixture")
    from chainops.devnet.solana import SolanaRpcServer

    server = SolanaRpcServer(slot_time=SOLANA_TEST_SLOT_TIME).start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


# -- forks of the user's configured network ---------------------------------------------------


@pytest.fixture
def configured_network_fork() -> Iterator[ForkedNetwork]:
    """A fork of the network named in the user's config, at its pinned ``fork_block``.

    The upstream is ``$CHAINOPS_FORK_URL``; without it the test is skipped, so a suite
    never needs the internet unless asked to.
    """
    import os

    from chainops.testing.forks import fork_configured_network

    url = os.environ.get("CHAINOPS_FORK_URL")
    if not url:
        pytest.skip("CHAINOPS_FORK_URL is not set: no upstream network to fork")
    from chainops.core.errors import DevnetError

    with ExitStack() as stack:
        with in_one_line(DevnetError):  # an upstream Anvil cannot fork: its own words say why
            fork = stack.enter_context(fork_configured_network(url))
        yield fork
