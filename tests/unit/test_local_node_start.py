"""LocalNode.start: a node that fails for a reason of its own fails once; a taken port
is tried again on another."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chainops.core.errors import DevnetError
from chainops.devnet.node import LocalNode, MiningMode, NodeConfig


class _Failing(LocalNode[NodeConfig]):
    """A 'node' that prints ``message``, counts its launches in ``tally`` and exits."""

    label = "FakeNode"

    def __init__(self, message: str, tally: Path) -> None:
        super().__init__(NodeConfig(startup_timeout=5.0))
        self.message, self.tally = message, tally

    def command(self, port: int) -> list[str]:
        script = "import sys; open(sys.argv[1], 'a').write('x'); print(sys.argv[2]); sys.exit(1)"
        return [sys.executable, "-c", script, str(self.tally), self.message]

    def mine(self, blocks: int = 1) -> None:
        raise NotImplementedError

    def set_mining(self, mode: MiningMode) -> None:
        raise NotImplementedError

    def set_balance(self, address: str, wei: int) -> None:
        raise NotImplementedError


def test_a_node_that_exits_on_its_own_error_is_launched_once(tmp_path: Path) -> None:
    tally = tmp_path / "launches"
    node = _Failing("Error: fork block 5 is not available", tally)
    with pytest.raises(DevnetError, match="fork block 5 is not available"):
        node.start()
    assert tally.read_text() == "x"
    assert not node.running


def test_a_port_taken_meanwhile_is_tried_again_on_another(tmp_path: Path) -> None:
    tally = tmp_path / "launches"
    node = _Failing("Error: Address already in use (os error 98)", tally)
    with pytest.raises(DevnetError, match="already in use"):
        node.start()
    assert tally.read_text() == "xxx"  # three free ports tried
