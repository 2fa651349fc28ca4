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


def test_unknown_outcome_carries_the_operation_it_concerns() -> None:
    from core_factories import make_order, make_tx

    from chainops.core.errors import UnknownOutcome

    tx, order = make_tx(), make_order()
    about_tx = UnknownOutcome("pending", operation=tx)
    assert about_tx.operation is tx and about_tx.transaction is tx and about_tx.order is None
    about_order = UnknownOutcome("pending", operation=order)
    assert about_order.order is order and about_order.transaction is None
    bare = UnknownOutcome("pending")
    assert bare.operation is None and bare.transaction is None and str(bare) == "pending"


def test_slippage_exceeded_carries_its_order() -> None:
    from core_factories import make_order

    from chainops.core.errors import SlippageExceeded

    order = make_order()
    assert SlippageExceeded("moved", order=order).order is order
    assert SlippageExceeded("moved").order is None


async def test_a_wait_timeout_names_the_operation() -> None:
    from core_factories import make_order

    from chainops.core.errors import UnknownOutcome

    order = make_order()
    with pytest.raises(UnknownOutcome) as caught:
        await order.wait(timeout=0.01)
    assert caught.value.order is order
