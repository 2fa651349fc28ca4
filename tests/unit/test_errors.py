from __future__ import annotations

import inspect

import pytest

import chainops.core
from chainops.core import errors
from chainops.core.errors import (
    ChainopsError,
    InvalidAmount,
    InvalidIdentifier,
    InvalidTransition,
    RateLimited,
    Reverted,
    RpcError,
    RpcTransientError,
    ValidationError,
)
from chainops.core.history import ErrorInfo

ERROR_CLASSES = [
    obj for obj in vars(errors).values() if inspect.isclass(obj) and issubclass(obj, ChainopsError)
]


def test_every_error_is_exported_and_a_chainops_error() -> None:
    assert {cls.__name__ for cls in ERROR_CLASSES} == set(errors.__all__)
    for cls in ERROR_CLASSES:
        assert issubclass(cls, Exception)
        assert getattr(chainops.core, cls.__name__) is cls


def test_validation_errors_are_value_errors() -> None:
    for cls in (ValidationError, InvalidAmount, InvalidIdentifier):
        assert issubclass(cls, ValueError)
        assert issubclass(cls, ValidationError)


def test_transient_family() -> None:
    assert issubclass(RateLimited, RpcTransientError)
    assert issubclass(RpcTransientError, RpcError)
    err = RateLimited("slow down", retry_after=1.5)
    assert err.retry_after == 1.5 and str(err) == "slow down"


def test_invalid_transition_fields() -> None:
    err = InvalidTransition("Order", "FILLED", "OPEN")
    assert (err.kind, err.source, err.target) == ("Order", "FILLED", "OPEN")
    assert str(err) == "Order: invalid transition FILLED -> OPEN"


def test_reverted_reason() -> None:
    err = Reverted("swap failed", reason="STF")
    assert err.reason == "STF"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_info_round_trip(cls: type[ChainopsError]) -> None:
    try:
        exc = cls("something went wrong")
    except TypeError:
        exc = cls("Order", "A", "B")  # type: ignore[call-arg]  # InvalidTransition
    info = ErrorInfo.from_exception(exc)
    assert info.kind == cls.__name__
    assert ErrorInfo.from_dict(info.to_dict()) == info
    rebuilt = info.to_exception()
    assert isinstance(rebuilt, ChainopsError)
    if cls is not InvalidTransition:
        assert type(rebuilt) is cls and str(rebuilt) == str(exc)


def test_core_namespace_is_complete() -> None:
    for name in chainops.core.__all__:
        assert getattr(chainops.core, name) is not None, name
    for name in (
        "Order",
        "Transaction",
        "TxAttempt",
        "TxState",
        "OrderState",
        "EventBus",
        "SqliteJournal",
        "ClientIdGenerator",
        "get_platform",
        "to_raw",
        "from_raw",
    ):
        assert name in chainops.core.__all__
