"""Intents over any ExchangeOperator: desired state, reconciled like a controller."""

from chainops.operators.exchanges.intents.errors import (
    InconsistentGroup,
    IntentError,
    IntentFinished,
    UnknownIntent,
)
from chainops.operators.exchanges.intents.kernel import ExchangeKernel, IntentEvent
from chainops.operators.exchanges.intents.model import IntentState, OrderIntent
from chainops.operators.exchanges.intents.policies import OrphanPolicy
from chainops.operators.exchanges.intents.reconciler import ReconciliationMetrics

__all__ = [
    "ExchangeKernel",
    "InconsistentGroup",
    "IntentError",
    "IntentEvent",
    "IntentFinished",
    "IntentState",
    "OrderIntent",
    "OrphanPolicy",
    "ReconciliationMetrics",
    "UnknownIntent",
]
