"""Run an async program on the fastest event loop installed.

uvloop (``pip install 'chainops[fast]'``) runs the same asyncio programs on a
loop written in C. Tasks, futures and callbacks cost less there, and an
operator's burst goes through many of them (``bench/README.md`` has the figures).
The operators work on either loop. This module only picks one.

``CHAINOPS_LOOP`` (or ``loop=``) chooses:

* ``auto`` (the default): uvloop when it is installed, else asyncio's own loop;
* ``uvloop``: uvloop, or a ConfigurationError when it is not installed;
* ``asyncio``: asyncio's own loop.

``freeze_heap=True`` is for long-running programs (bots, workers): the objects
alive when ``main`` starts (imported modules, mostly) are collected once and
then frozen (:func:`gc.freeze`), so that the cyclic garbage collector's full
passes during a burst walk only what the program made since, not the whole
heap web3 and its kin leave behind. They are unfrozen when ``main`` returns.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from chainops.core.errors import ConfigurationError, ValidationError

__all__ = ["LOOPS", "LOOP_ENV", "choose_loop", "run"]

T = TypeVar("T")
LOOP_ENV = "CHAINOPS_LOOP"
LOOPS = ("auto", "uvloop", "asyncio")


def choose_loop(choice: str | None = None) -> str:
    """Which loop ``run`` uses: ``"uvloop"`` or ``"asyncio"``.

    ``choice`` (else ``CHAINOPS_LOOP``, else ``auto``) is one of :data:`LOOPS`.
    """
    source = "loop"
    if choice is None:
        choice, source = os.environ.get(LOOP_ENV) or "auto", LOOP_ENV
    if not isinstance(choice, str) or choice.strip().lower() not in LOOPS:
        raise ConfigurationError(f"{source} must be one of {', '.join(LOOPS)}, got {choice!r}")
    choice = choice.strip().lower()
    if choice == "asyncio":
        return "asyncio"
    if _uvloop_factory() is not None:
        return "uvloop"
    if choice == "uvloop":
        raise ConfigurationError(
            f"{source} asks for uvloop, which is not installed: pip install 'chainops[fast]'"
        )
    return "asyncio"


def run(
    main: Coroutine[Any, Any, T],
    *,
    loop: str | None = None,
    debug: bool | None = None,
    freeze_heap: bool = False,
) -> T:
    """Run ``main`` to completion on a new event loop, as :func:`asyncio.run` does.

    The loop is the one :func:`choose_loop` picks; ``freeze_heap``: see the module.
    Bad input raises before anything runs, and ``main`` is closed so that no
    "never awaited" warning follows.
    """
    if not inspect.iscoroutine(main):
        raise ValidationError(f"run() needs a coroutine, got {type(main).__name__}")
    try:
        if not isinstance(freeze_heap, bool):
            raise ConfigurationError(f"freeze_heap must be True or False, got {freeze_heap!r}")
        kind = choose_loop(loop)
    except ConfigurationError:
        main.close()
        raise
    factory = _uvloop_factory() if kind == "uvloop" else None
    if freeze_heap:
        gc.collect()  # what is garbage now must not be frozen with the rest
        gc.freeze()
    try:
        with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
            result: T = runner.run(main)
    finally:
        if freeze_heap:
            gc.unfreeze()
    return result


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # not installed (or not on this platform): asyncio's loop serves
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
