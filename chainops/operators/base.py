"""Operators: one object per (platform, account) that executes operations on a venue.

``OperatorFactory`` maps a kind of platform (EVM chains, Solana clusters, an
exchange) to an ``Operator`` class, creates operators from a platform name or
chain id, and caches them so one account on one platform has one operator,
and so one nonce allocator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chainops.core.bus import EventBus
from chainops.core.errors import ConfigurationError
from chainops.core.platforms import ChainPlatform, ExchangePlatform, Platform, get_platform


class OperatorConfiguration(BaseModel):
    """Settings every operator shares; subclasses add venue-specific ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str | int = Field(description="platform name or EVM chain id, e.g. 'devnet' or 1")
    endpoints: tuple[str, ...] = Field(
        default=(), description="RPC or API base URLs, first is preferred"
    )
    journal_path: Path | None = Field(
        default=None, description="SQLite journal file; None keeps the journal in memory"
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
            await self._start()
            self._started = True
        return self

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._started:
                await self._close()
            if self._owns_events:
                self.events.close()  # end subscribers' async iterators

    @abstractmethod
    async def _start(self) -> None:
        """Connect, verify the venue, reconcile what the journal left open."""

    @abstractmethod
    async def _close(self) -> None:
        """Finish in-flight tracking and release resources."""

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


class OperatorFactory:
    """Registry of operator classes by kind of platform, plus an instance cache."""

    _classes: ClassVar[dict[str, type[Operator]]] = {}
    _instances: ClassVar[dict[tuple[str, str, str], Operator]] = {}

    @classmethod
    def register(cls, key: str) -> Callable[[OperatorClass], OperatorClass]:
        """Class decorator: ``@OperatorFactory.register("chain:EVM")``."""

        def decorate(operator_class: OperatorClass) -> OperatorClass:
            existing = cls._classes.get(key)
            if existing is not None and existing is not operator_class:
                raise ConfigurationError(
                    f"{key} already has operator {existing.__name__}; cannot register "
                    f"{operator_class.__name__}"
                )
            cls._classes[key] = operator_class
            return operator_class

        return decorate

    @classmethod
    def operator_class(cls, platform: str | int | Platform) -> type[Operator]:
        resolved = platform if isinstance(platform, Platform) else get_platform(platform)
        key = platform_key(resolved)
        try:
            return cls._classes[key]
        except KeyError:
            known = ", ".join(sorted(cls._classes)) or "none"
            raise ConfigurationError(
                f"no operator registered for {resolved.name} ({key}); registered: {known}"
            ) from None

    @classmethod
    def create(cls, platform: str | int, *, cache: bool = True, **options: Any) -> Operator:
        """Create (or return the cached) operator for ``platform`` and the given options.

        ``options`` go to the operator class's ``from_options`` (its account, endpoints
        and settings). Two calls with the same platform and account share one operator.
        """
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
