"""The operation model: every venue request is an Order or a Transaction.

This module gathers the public names; the parts live in ``lifecycle``
(the Operation base and state-table machinery), ``records`` (history and
error records), ``orders`` and ``transactions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainops.core.assets import Fee
from chainops.core.operation import (
    Operation,
    OperationController,
    OperationListener,
    StateMachine,
)
from chainops.core.orders import (
    ORDER_STATES,
    Fill,
    Order,
    OrderSide,
    OrderState,
    OrderType,
    OrderUpdate,
    QuoteValue,
    TimeInForce,
)
from chainops.core.records import Change, ErrorInfo, HistoryEntry
from chainops.core.transactions import Transaction, TxController
from chainops.core.txtypes import (
    TX_STATES,
    AttemptKind,
    FeeParams,
    TxAttempt,
    TxReceipt,
    TxState,
    TxUpdate,
)

__all__ = [
    "ORDER_STATES",
    "TX_STATES",
    "AttemptKind",
    "Change",
    "ErrorInfo",
    "Fee",
    "FeeParams",
    "Fill",
    "HistoryEntry",
    "Operation",
    "OperationController",
    "OperationListener",
    "Order",
    "OrderSide",
    "OrderState",
    "OrderType",
    "OrderUpdate",
    "QuoteValue",
    "StateMachine",
    "TimeInForce",
    "Transaction",
    "TxAttempt",
    "TxController",
    "TxReceipt",
    "TxState",
    "TxUpdate",
    "operation_from_dict",
    "operation_from_json",
]


def operation_from_dict(data: Mapping[str, Any]) -> Operation[Any]:
    """Rebuild an Order or Transaction from its ``to_dict()`` form."""
    return Operation.from_dict(data)


def operation_from_json(text: str | bytes) -> Operation[Any]:
    """Rebuild an Order or Transaction from its ``to_json()`` text."""
    return Operation.from_json(text)
