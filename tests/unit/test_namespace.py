"""The curated top-level namespace: every advertised name resolves, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import chainops


@pytest.mark.parametrize("name", [n for n in chainops.__all__ if n != "__version__"])
def test_every_advertised_name_resolves_to_its_home(name: str) -> None:
    value = getattr(chainops, name)
    home = chainops._EXPORTS[name]
    assert value is getattr(__import__(home, fromlist=[name]), name)
    assert name in dir(chainops)


def test_the_table_and_the_list_agree() -> None:
    assert set(chainops._EXPORTS) == set(chainops.__all__) - {"__version__"}


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        chainops.NoSuchThing  # noqa: B018


def test_importing_chainops_imports_nothing_heavy() -> None:
    code = (
        "import sys, chainops; "
        "heavy = [m for m in ('chainops.core', 'chainops.operators', 'web3') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_from_import_works() -> None:
    from chainops import Bps, Order, TxState

    assert TxState.CONFIRMED.name == "CONFIRMED"
    assert Order.__module__ == "chainops.core.order"
    assert Bps.__name__ == "Bps"
