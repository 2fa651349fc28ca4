"""Optional extras: a feature whose extra is not installed fails with one line naming it."""

from __future__ import annotations

import importlib.util

from chainops.core.errors import ConfigurationError


class MissingExtra(ConfigurationError):
    """A feature needs an optional extra (``pip install 'chainops[<extra>]'``)."""


def require_extra(extra: str, *modules: str, feature: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` can be imported."""
    absent = [name for name in modules if importlib.util.find_spec(name) is None]
    if absent:
        raise MissingExtra(
            f"{feature} needs the {extra} extra ({', '.join(absent)} is not installed): "
            f"pip install 'chainops[{extra}]'"
        )


def require_solana(feature: str) -> None:
    require_extra("solana", "solders", "solana", feature=feature)


def missing_module(
    exc: ModuleNotFoundError, extra: str, *modules: str, feature: str
) -> ModuleNotFoundError:
    """What an import of ``feature`` raises for ``exc``: when a module of ``extra`` is
    absent, a ModuleNotFoundError (still an ImportError, for ``importorskip``) whose one
    line names the extra; any other missing module is ``exc`` itself."""
    try:
        require_extra(extra, *modules, feature=feature)
    except MissingExtra as missing:
        return ModuleNotFoundError(str(missing), name=(exc.name or "").split(".")[0])
    return exc
