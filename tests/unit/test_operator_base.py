"""Operator base: configuration validation, factory registry, instance cache, lifecycle."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from chainops.core.errors import ConfigurationError
from chainops.core.platforms import ExchangePlatform, get_platform, register_platform
from chainops.operators.base import (
    Operator,
    OperatorConfiguration,
    OperatorFactory,
    platform_key,
)


class RecordingOperator(Operator):
    """A venue-less operator that records its lifecycle calls."""

    def __init__(self, config: OperatorConfiguration, account: str) -> None:
        super().__init__(config)
        self.account = account
        self.calls: list[str] = []

    @property
    def owner(self) -> str:
        return self.account

    @classmethod
    def from_options(cls, platform: str | int, account: str, **options: Any) -> RecordingOperator:
        return cls(OperatorConfiguration(platform=platform, **options), account)

    async def _start(self) -> None:
        self.calls.append("start")

    async def _close(self) -> None:
        self.calls.append("close")


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> type[OperatorFactory]:
    monkeypatch.setattr(OperatorFactory, "_classes", {})
    monkeypatch.setattr(OperatorFactory, "_paths", {})
    monkeypatch.setattr(OperatorFactory, "_instances", {})
    OperatorFactory.register("chain:SOLANA")(RecordingOperator)
    return OperatorFactory


def test_configuration_rejects_bad_endpoints_and_unknown_fields() -> None:
    with pytest.raises(PydanticValidationError, match="not an http"):
        OperatorConfiguration(platform="ethereum", endpoints=("localhost:8545",))
    with pytest.raises(PydanticValidationError):
        OperatorConfiguration(platform="ethereum", colour="blue")  # type: ignore[call-arg]
    with pytest.raises(PydanticValidationError):
        OperatorConfiguration(platform="ethereum", confirmations=-1)


def test_configuration_resolves_platform_by_name_or_chain_id() -> None:
    assert OperatorConfiguration(platform=1).resolve_platform().name == "ethereum"
    assert OperatorConfiguration(platform="devnet").resolve_platform() == get_platform(31337)
    with pytest.raises(ConfigurationError):
        OperatorConfiguration(platform="no-such-chain").resolve_platform()


def test_platform_keys() -> None:
    assert platform_key(get_platform("ethereum")) == "chain:EVM"
    assert platform_key(get_platform("solana-devnet")) == "chain:SOLANA"
    assert platform_key(ExchangePlatform(name="somex")) == "exchange:somex"


async def test_factory_creates_and_caches_per_platform_and_owner(
    factory: type[OperatorFactory],
) -> None:
    a = factory.create("solana-devnet", account="alice")
    assert isinstance(a, RecordingOperator)
    assert factory.create("solana-devnet", account="alice") is a
    assert factory.create("solana-devnet", account="bob") is not a
    assert factory.create("solana-devnet", account="alice", cache=False) is not a
    await a.start()
    await a.close()
    replacement = factory.create("solana-devnet", account="alice")
    assert replacement is not a  # a closed operator is never handed out again


def test_factory_rejects_unknown_kinds_and_double_registration(
    factory: type[OperatorFactory],
) -> None:
    with pytest.raises(ConfigurationError, match="no operator registered"):
        factory.create("ethereum", account="alice")
    register_platform(ExchangePlatform(name="unit-test-exchange"), replace=True)
    with pytest.raises(ConfigurationError, match="no operator registered"):
        factory.create("unit-test-exchange", account="alice")

    class Other(RecordingOperator):
        pass

    with pytest.raises(ConfigurationError, match="already has operator"):
        factory.register("chain:SOLANA")(Other)
    assert factory.register("chain:SOLANA")(RecordingOperator) is RecordingOperator


async def test_lifecycle_is_idempotent_and_closed_operators_stay_closed() -> None:
    op = RecordingOperator(OperatorConfiguration(platform="devnet"), "alice")
    async with op as entered:
        assert entered is op and op.started
        await op.start()
    await op.close()
    assert op.calls == ["start", "close"]
    assert op.closed
    with pytest.raises(ConfigurationError, match="closed"):
        await op.start()
    assert repr(op) == "RecordingOperator(platform='anvil', owner='alice')"


def test_builtin_operators_load_on_first_use_typed_by_kind() -> None:
    import subprocess
    import sys

    # importing the factory loads no venue: the EVM stack arrives with the first create
    probe = (
        "import sys; from chainops.operators.base import OperatorFactory; "
        "print('chainops.operators.evm.operator' in sys.modules, 'web3' in sys.modules); "
        "cls = OperatorFactory.operator_class('devnet'); "
        "print(cls.__name__, 'chainops.operators.evm.operator' in sys.modules)"
    )
    lines = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert lines[:2] == ["False False", "EvmOperator True"]

    from chainops.operators.evm.operator import EvmOperator

    key = "0x" + "11" * 32
    evm = OperatorFactory.create(
        "devnet", kind="evm", cache=False, private_key=key, rpc_url="http://127.0.0.1:1"
    )
    assert isinstance(evm, EvmOperator)
    with pytest.raises(ConfigurationError, match="not by the 'solana' kind"):
        OperatorFactory.create("devnet", kind="solana", cache=False)


def test_registering_by_path_and_refusing_a_taken_key(
    factory: type[OperatorFactory],
) -> None:
    register_platform(ExchangePlatform(name="unit-path-exchange"), replace=True)
    factory.register_path("exchange:unit-path-exchange", f"{__name__}:RecordingOperator")
    made = factory.create("unit-path-exchange", account="carol", cache=False)
    assert isinstance(made, RecordingOperator) and made.owner == "carol"
    with pytest.raises(ConfigurationError, match="already has operator"):
        factory.register_path("exchange:unit-path-exchange", "elsewhere:Other")
    with pytest.raises(ConfigurationError, match="module:Class"):
        factory.register_path("exchange:other", "no-colon")
    factory.register_path("exchange:broken", f"{__name__}:platform_key")
    register_platform(ExchangePlatform(name="broken"), replace=True)
    with pytest.raises(ConfigurationError, match="not an Operator class"):
        factory.create("broken", account="dave")


async def test_a_failed_start_releases_what_it_opened() -> None:
    class Failing(RecordingOperator):
        async def _start(self) -> None:
            self.calls.append("start")
            raise ConfigurationError("wrong chain id")

    op = Failing(OperatorConfiguration(platform="devnet"), "alice")
    with pytest.raises(ConfigurationError, match="wrong chain id"):
        await op.start()
    assert op.calls == ["start", "close"] and not op.started
