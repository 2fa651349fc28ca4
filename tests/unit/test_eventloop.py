"""Choosing the event loop: uvloop when installed, asyncio's own on request, typed errors."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from chainops.core.errors import ConfigurationError, ValidationError
from chainops.operators.eventloop import LOOP_ENV, choose_loop, run

uvloop = pytest.importorskip("uvloop")


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_auto_runs_on_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOP_ENV, raising=False)
    assert choose_loop() == "uvloop"
    assert run(_loop_module()) == "uvloop"


@pytest.mark.parametrize("choice", ["asyncio", " ASYNCIO "])
def test_asyncio_on_request(choice: str) -> None:
    assert run(_loop_module(), loop=choice) == "asyncio"


def test_environment_chooses_when_no_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_ENV, "asyncio")
    assert run(_loop_module()) == "asyncio"
    assert run(_loop_module(), loop="uvloop") == "uvloop"  # the argument wins


def test_result_and_exception_pass_through() -> None:
    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run(boom())


@pytest.mark.parametrize("bad", ["uv", "", "trio", 3, None])
def test_bad_choice_is_refused_before_running(bad: object, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[bool] = []

    async def body() -> None:
        ran.append(True)

    coro = body()
    if bad is None:  # a bad environment value, no argument
        monkeypatch.setenv(LOOP_ENV, "fastest")
        with pytest.raises(ConfigurationError, match=LOOP_ENV):
            run(coro)
    else:
        with pytest.raises(ConfigurationError, match="auto, uvloop, asyncio"):
            run(coro, loop=bad)  # type: ignore[arg-type]
    assert not ran
    assert coro.cr_frame is None  # closed: no "never awaited" warning later


def test_uvloop_required_but_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert choose_loop("auto") == "asyncio"
    assert run(_loop_module()) == "asyncio"
    coro = _loop_module()
    with pytest.raises(ConfigurationError, match="chainops\\[fast\\]"):
        run(coro, loop="uvloop")
    assert coro.cr_frame is None


@pytest.mark.parametrize("bad", [None, 1, "main", _loop_module])
def test_not_a_coroutine(bad: object) -> None:
    with pytest.raises(ValidationError, match="needs a coroutine"):
        run(bad)  # type: ignore[arg-type]


def test_freeze_heap_freezes_for_the_run_only() -> None:
    async def frozen() -> int:
        return gc.get_freeze_count()

    assert gc.get_freeze_count() == 0
    assert run(frozen(), freeze_heap=True) > 0
    assert gc.get_freeze_count() == 0  # unfrozen when main returned
    assert run(frozen()) == 0


def test_freeze_heap_is_undone_when_main_raises() -> None:
    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run(boom(), freeze_heap=True)
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_freeze_heap_must_be_a_bool(bad: object) -> None:
    coro = _loop_module()
    with pytest.raises(ConfigurationError, match="freeze_heap"):
        run(coro, freeze_heap=bad)  # type: ignore[arg-type]
    assert coro.cr_frame is None and gc.get_freeze_count() == 0
