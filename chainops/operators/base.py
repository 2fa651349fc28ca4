"""Operators: one object per (platform, account) that executes operations on a venue.

``OperatorFactory`` maps a kind of platform (EVM chains, Solana clusters, an
exchange) to an ``Operator`` class, imported lazily from its path, creates
operators from a platform name or chain id, and caches them so one account on
one platform has one operator, and so one nonce allocator.
"""

from __future__ import annotations

import contextlib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chainops.core.bus import EventBus
from chainops.core.errors import ConfigurationError
from chainops.core.journal import is_database_url
from chainops.core.platforms import ChainPlatform, ExchangePlatform, Platform, get_platform

if TYPE_CHECKING:
    from chainops.operators.evm.operator import EvmOperator
    from chainops.operators.exchanges.binance.adapter import BinanceSpot
    from chainops.operators.solana.operator import SolanaOperator


class OperatorConfiguration(BaseModel):
    """Settings every operator shares; subclasses add venue-specific ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str | int = Field(description="platform name or EVM chain id, e.g. 'devnet' or 1")
    endpoints: tuple[str, ...] = Field(
        default=(), description="RPC or API base URLs, first is preferred"
    )
    journal_path: Path | str | None = Field(
        default=None,
        description="SQLite journal file, or a postgresql:// URL shared by several workers;"
        " None keeps the journal in memory",
    )
    # None: the platform's own default depth (1 on local chains, more on public ones).
    confirmations: int | None = Field(default=None, ge=0)
    request_timeout: float = Field(default=10.0, gt=0, description="seconds per RPC/API call")

    @field_validator("endpoints")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith(("http://", "https://", "ws://", "wss://")):
                raise ValueError(f"endpoint {url!r} is not an http(s) or ws(s) URL")
        return value

    @field_validator("journal_path", mode="before")
    @classmethod
    def _journal(cls, value: Any) -> Any:
        # a database URL stays text: as a Path its "//" would collapse
        if value is None or is_database_url(value):
            return value
        return Path(value) if isinstance(value, str) else value

    def resolve_platform(self) -> Platform:
        return get_platform(self.platform)


class Operator(ABC):
    """Executes operations for one account on one platform.

    Use as ``async with``: entering starts the operator (connect, check the
    chain, reconcile the journal), leaving closes it (refuse new work, finish
    tracking what is in flight, release connections).
    """

    def __init__(self, config: OperatorConfiguration, events: EventBus | None = None) -> None:
        self.config = config
        self.platform: Platform = config.resolve_platform()
        # Every operation this operator creates publishes its transitions here.
        self.events = events or EventBus()
        self._owns_events = events is None
        self._started = False
        self._closed = False

    @property
    @abstractmethod
    def owner(self) -> str:
        """The account this operator acts for (address, pubkey or API key id)."""

    @property
    def started(self) -> bool:
        return self._started

    @property
    def closed(self) -> bool:
        return self._closed

    async def start(self) -> Self:
        if self._closed:
            raise ConfigurationError(f"{self!r} is closed; create a new operator")
        if not self._started:
            try:
                await self._start()
            except BaseException:
                # release what a half-done start opened (sessions, sockets, journal)
                with contextlib.suppress(Exception):
                    await self._close()
                raise
            self._started = True
        return self

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._started:
                await self._close()
            self._release()
            if self._owns_events:
                self.events.close()  # end subscribers' async iterators

    @abstractmethod
    async def _start(self) -> None:
        """Connect, verify the venue, reconcile what the journal left open."""

    @abstractmethod
    async def _close(self) -> None:
        """Finish in-flight tracking and release resources."""

    def _release(self) -> None:  # noqa: B027  (a hook: most operators acquire nothing)
        """Free what the constructor acquired (open files); runs on close(), started or not."""

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(platform={self.platform.name!r}, owner={self.owner!r})"


OperatorClass = TypeVar("OperatorClass", bound=type[Operator])


def platform_key(platform: Platform) -> str:
    """Registry key of a platform: chains by kind, exchanges by name."""
    if isinstance(platform, ChainPlatform):
        return f"chain:{platform.kind.value}"
    if isinstance(platform, ExchangePlatform):
        return f"exchange:{platform.name}"
    return f"platform:{platform.name}"


# The operators chainops ships, by registry key: imported on first use, so importing
# chainops (or the factory) loads no venue's dependencies.
_BUILTIN: dict[str, str] = {
    "chain:EVM": "chainops.operators.evm.operator:EvmOperator",
    "chain:SOLANA": "chainops.operators.solana.operator:SolanaOperator",
    "exchange:binance": "chainops.operators.exchanges.binance.adapter:BinanceSpot",
}
Kind = Literal["evm", "solana", "binance"]
KIND_KEYS: dict[str, str] = {
    "evm": "chain:EVM",
    "solana": "chain:SOLANA",
    "binance": "exchange:binance",
}
# the extra a missing top-level module comes from
_EXTRAS = {"solders": "solana", "solana": "solana"}


def _path_of(operator_class: type[Operator]) -> str:
    return f"{operator_class.__module__}:{operator_class.__qualname__}"


class OperatorFactory:
    """Registry of operator classes by kind of platform, plus an instance cache.

    Built-in operators are registered by import path and imported on first use;
    ``register`` (a class) and ``register_path`` (``"module:Class"``) add others.
    ``create(..., kind="evm")`` is typed: it returns an ``EvmOperator``.
    """

    _paths: ClassVar[dict[str, str]] = dict(_BUILTIN)
    _classes: ClassVar[dict[str, type[Operator]]] = {}
    _instances: ClassVar[dict[tuple[str, str, str], Operator]] = {}

    @classmethod
    def register(cls, key: str) -> Callable[[OperatorClass], OperatorClass]:
        """Class decorator: ``@OperatorFactory.register("exchange:myvenue")``.

        Registering the class a key's import path names is a no-op; any other class
        for a taken key is refused.
        """

        def decorate(operator_class: OperatorClass) -> OperatorClass:
            existing = cls._classes.get(key)
            path = cls._paths.get(key)
            same = existing is operator_class or (
                existing is None and path == _path_of(operator_class)
            )
            if not same and (existing is not None or path is not None):
                taken = existing.__name__ if existing is not None else path
                raise ConfigurationError(
                    f"{key} already has operator {taken}; cannot register {operator_class.__name__}"
                )
            cls._classes[key] = operator_class
            return operator_class

        return decorate

    @classmethod
    def register_path(cls, key: str, path: str) -> None:
        """Register ``"package.module:Class"`` for ``key``, imported on first use."""
        module, sep, name = path.partition(":")
        if not sep or not module or not name:
            raise ConfigurationError(f"an operator path is 'package.module:Class', not {path!r}")
        taken = cls._paths.get(key)
        if (taken is not None and taken != path) or key in cls._classes:
            raise ConfigurationError(f"{key} already has operator {taken or cls._classes[key]}")
        cls._paths[key] = path

    @classmethod
    def operator_class(cls, platform: str | int | Platform) -> type[Operator]:
        """The operator class serving ``platform`` (importing it on first use)."""
        resolved = platform if isinstance(platform, Platform) else get_platform(platform)
        key = platform_key(resolved)
        found = cls._classes.get(key)
        if found is not None:
            return found
        path = cls._paths.get(key)
        if path is None:
            known = ", ".join(sorted({*cls._classes, *cls._paths})) or "none"
            raise ConfigurationError(
                f"no operator registered for {resolved.name} ({key}); registered: {known}"
            )
        loaded = _load(path)
        cls._classes[key] = loaded
        return loaded

    @overload
    @classmethod
    def create(
        cls, platform: str | int, *, kind: Literal["evm"], cache: bool = True, **options: Any
    ) -> EvmOperator: ...

    @overload
    @classmethod
    def create(
        cls, platform: str | int, *, kind: Literal["solana"], cache: bool = True, **options: Any
    ) -> SolanaOperator: ...

    @overload
    @classmethod
    def create(
        cls, platform: str | int, *, kind: Literal["binance"], cache: bool = True, **options: Any
    ) -> BinanceSpot: ...

    @overload
    @classmethod
    def create(
        cls, platform: str | int, *, kind: None = None, cache: bool = True, **options: Any
    ) -> Operator: ...

    @classmethod
    def create(
        cls, platform: str | int, *, kind: Kind | None = None, cache: bool = True, **options: Any
    ) -> Operator:
        """Create (or return the cached) operator for ``platform`` and the given options.

        ``kind`` ("evm", "solana", "binance") types the result and checks that the
        platform is of that kind. ``options`` go to the operator class's ``from_options``
        (its account, endpoints and settings). Two calls with the same platform and
        account share one operator.
        """
        if kind is not None:
            want = KIND_KEYS.get(kind)
            have = platform_key(get_platform(platform))
            if want != have:
                raise ConfigurationError(
                    f"platform {platform!r} is served by {have}, not by the {kind!r} kind"
                )
        operator_class = cls.operator_class(platform)
        factory = getattr(operator_class, "from_options", None)
        if factory is None:
            raise ConfigurationError(f"{operator_class.__name__} cannot be built from options")
        operator: Operator = factory(platform=platform, **options)
        if not cache:
            return operator
        key = (platform_key(operator.platform), operator.platform.name, operator.owner)
        cached = cls._instances.get(key)
        if cached is not None and not cached.closed:
            return cached
        cls._instances[key] = operator
        return operator

    @classmethod
    def forget(cls, operator: Operator) -> None:
        """Drop an operator from the cache (closed ones are dropped on the next create)."""
        for key, cached in list(cls._instances.items()):
            if cached is operator:
                del cls._instances[key]


def _load(path: str) -> type[Operator]:
    """Import ``"module:Class"``; a missing optional dependency names its extra."""
    module_name, _, name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        extra = _EXTRAS.get(top)
        if extra is None:
            raise
        raise ConfigurationError(
            f"this operator needs the {extra} extra: pip install 'chainops[{extra}]'"
        ) from None
    loaded = getattr(module, name, None)
    if not (isinstance(loaded, type) and issubclass(loaded, Operator)):
        raise ConfigurationError(f"{path} is not an Operator class")
    return loaded
