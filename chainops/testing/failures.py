"""How the plugin's fixtures fail when something they need is missing or misconfigured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = ["in_one_line"]


@contextmanager
def in_one_line(*also: type[Exception]) -> Iterator[None]:
    """Fail with the message alone when a tool, extra or setting is missing or wrong.

    Such a ``ConfigurationError`` already says what to install or change; chainops' own
    frames around it would only bury that line, once for every test of the session.
    ``also``: more errors whose message says it all where they are caught.
    """
    from chainops.core.errors import ConfigurationError

    caught: tuple[type[Exception], ...] = (ConfigurationError, *also)
    try:
        yield
    except caught as exc:
        # from None: the message alone, not also the exception it replaces
        raise pytest.fail.Exception(str(exc), pytrace=False) from None
