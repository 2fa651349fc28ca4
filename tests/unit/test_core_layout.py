"""The core's shape: every public name has one home module and one re-export."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import chainops.core
import chainops.core.journal


def core_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(chainops.core.__path__, "chainops.core.")
        if not info.ispkg
    ]


def test_every_public_name_is_defined_in_exactly_one_module() -> None:
    homes: dict[str, list[str]] = {}
    for name in core_modules():
        module = importlib.import_module(name)
        for exported in getattr(module, "__all__", ()):
            homes.setdefault(exported, []).append(name)
            obj = getattr(module, exported)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__module__ == name, f"{name} lists {exported} from {obj.__module__}"
    shared = {n: m for n, m in homes.items() if len(m) > 1}
    assert not shared
    optional = chainops.core.journal.OPTIONAL  # lazy: they need an optional dependency
    assert sorted(homes) == sorted([*chainops.core.__all__, *optional])
    for exported, (module,) in homes.items():
        home = importlib.import_module(module)
        package = chainops.core.journal if exported in optional else chainops.core
        assert getattr(package, exported) is getattr(home, exported)


def test_tx_state_has_one_home() -> None:
    from chainops.core.transaction import TxState

    holders = [
        name for name in core_modules() if vars(importlib.import_module(name)).get("TxState")
    ]
    # modules that use TxState import it; only its home lists it as public
    public = [n for n in holders if "TxState" in getattr(importlib.import_module(n), "__all__", ())]
    assert public == ["chainops.core.transaction"]
    assert chainops.core.TxState is TxState


def test_the_journal_package_keeps_its_public_import() -> None:
    from chainops.core.journal import Journal, SqliteJournal
    from chainops.core.journal.base import Journal as BaseJournal
    from chainops.core.journal.sqlite import SqliteJournal as EmbeddedJournal

    assert Journal is BaseJournal and SqliteJournal is EmbeddedJournal
    assert issubclass(SqliteJournal, Journal)
