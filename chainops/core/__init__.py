"""The venue-neutral core: identifiers, platforms, assets, operations, events, journal.

Everything public is importable from here, e.g.
``from chainops.core import Order, Transaction, EventBus, SqliteJournal``.
Each name is defined in exactly one module, one module per concept; this
package re-exports what each module lists in its ``__all__``.
"""

from __future__ import annotations

from chainops.core import assets as _assets
from chainops.core import attempt as _attempt
from chainops.core import bus as _bus
from chainops.core import durations as _durations
from chainops.core import errors as _errors
from chainops.core import events as _events
from chainops.core import history as _history
from chainops.core import ids as _ids
from chainops.core import journal as _journal
from chainops.core import operation as _operation
from chainops.core import order as _order
from chainops.core import order_types as _order_types
from chainops.core import platforms as _platforms
from chainops.core import priority as _priority
from chainops.core import statemachine as _statemachine
from chainops.core import transaction as _transaction
from chainops.core.assets import *  # noqa: F403
from chainops.core.attempt import *  # noqa: F403
from chainops.core.bus import *  # noqa: F403
from chainops.core.durations import *  # noqa: F403
from chainops.core.errors import *  # noqa: F403
from chainops.core.events import *  # noqa: F403
from chainops.core.history import *  # noqa: F403
from chainops.core.ids import *  # noqa: F403
from chainops.core.journal import *  # noqa: F403
from chainops.core.operation import *  # noqa: F403
from chainops.core.order import *  # noqa: F403
from chainops.core.order_types import *  # noqa: F403
from chainops.core.platforms import *  # noqa: F403
from chainops.core.priority import *  # noqa: F403
from chainops.core.statemachine import *  # noqa: F403
from chainops.core.transaction import *  # noqa: F403

__all__ = [
    *_assets.__all__,
    *_attempt.__all__,
    *_bus.__all__,
    *_durations.__all__,
    *_errors.__all__,
    *_events.__all__,
    *_history.__all__,
    *_ids.__all__,
    *_journal.__all__,
    *_operation.__all__,
    *_order.__all__,
    *_order_types.__all__,
    *_platforms.__all__,
    *_priority.__all__,
    *_statemachine.__all__,
    *_transaction.__all__,
]
