"""What every local development node process shares: port, launch, readiness, RPC, stop.

:class:`LocalNode` runs one node (Anvil, Hardhat Network, Ganache) as a child process
on a free loopback port and talks JSON-RPC to it; subclasses say how to launch their
node and how to drive its mining. :class:`NodeConfig` holds the settings all three
understand.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

from chainops.core.errors import ConfigurationError, DevnetError

# The well-known development mnemonic of Anvil and Hardhat: its accounts are public test
# keys, and every node started with it funds the same addresses.
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_CHAIN_ID = 31337

MiningMode = Literal["auto", "manual"] | float

# How Anvil (Rust), Hardhat and Ganache (Node) report a port taken between our pick and
# their bind.
_PORT_TAKEN = re.compile(r"address already in use|EADDRINUSE", re.IGNORECASE)


class _PortTaken(DevnetError):
    """The port was free when picked and taken by the time the node bound it."""


_live: set[LocalNode[Any]] = set()
_live_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the caller retries if it is taken by then)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass(frozen=True, kw_only=True)
class NodeConfig:
    """Settings every local node takes."""

    chain_id: int | None = DEFAULT_CHAIN_ID
    mining: MiningMode = "auto"
    host: str = "127.0.0.1"
    port: int | None = None  # None: pick a free port; a fixed 8545 collides with user nodes
    accounts: int = 10
    balance_eth: int = 10_000
    mnemonic: str = DEFAULT_MNEMONIC
    hardfork: str | None = None
    extra_args: tuple[str, ...] = ()
    startup_timeout: float = 30.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM the node if the Python process dies without cleaning up."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


C = TypeVar("C", bound=NodeConfig)


class LocalNode(ABC, Generic[C]):
    """One running development node. Use as a context manager or call start()/stop()."""

    label: ClassVar[str] = "node"

    def __init__(self, config: C) -> None:
        self.config = config
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self._ids: Iterator[int] = itertools.count(1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, running={self.running})"

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- how to launch (per node) ---------------------------------------------------------

    @abstractmethod
    def command(self, port: int) -> list[str]:
        """The command line that starts this node on ``port``."""

    def environment(self) -> Mapping[str, str] | None:
        """Extra environment variables for the child (None: inherit ours unchanged)."""
        return None

    def workdir(self) -> Path | None:
        """The child's working directory (None: ours)."""
        return None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Launch the node and return once it answers JSON-RPC with the expected chain id."""
        if self.running:
            return self
        attempts = 1 if self.config.port else 3
        last_error: Exception | None = None
        for _ in range(attempts):
            port = self.config.port or free_port(self.config.host)
            try:
                self._launch(port)
                self._wait_ready()
            except _PortTaken as exc:  # another process took the free port meanwhile
                last_error = exc
                self.stop()
                continue
            except BaseException:
                self.stop()  # its own error (a bad flag, fork block, ...): another port won't help
                raise
            with _live_lock:
                _live.add(self)
            return self
        raise DevnetError(f"{self.label} did not start: {last_error}")

    def _launch(self, port: int) -> None:
        # Another node answering on the port would pass the readiness check in our place.
        if _listening(self.config.host, port):
            raise _PortTaken(f"port {port} on {self.config.host} is already in use")
        argv = self.command(port)
        fd, log_name = tempfile.mkstemp(prefix=f"chainops-{self.label.lower()}-", suffix=".log")
        self.log_path = Path(log_name)
        self.port = port
        extra = self.environment()
        env = {**os.environ, **extra} if extra is not None else None
        with os.fdopen(fd, "wb") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir(),
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    def _log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.config.startup_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise self._exited()
            try:
                chain_id = int(self.rpc("eth_chainId", [], timeout=1.0), 16)
            except (OSError, DevnetError):
                time.sleep(0.02)
                continue
            if self.process.poll() is not None:
                raise self._exited()
            expected = self.config.chain_id
            if expected is not None and chain_id != expected:
                raise ConfigurationError(
                    f"{self.label} at {self.url} reports chain id {chain_id}, expected {expected}"
                )
            return
        raise DevnetError(
            f"{self.label} did not answer within {self.config.startup_timeout}s:\n"
            f"{self._log_tail()}"
        )

    def _exited(self) -> DevnetError:
        """Why the process ended during start-up: a taken port, or its own error."""
        tail = self._log_tail()
        kind = _PortTaken if _PORT_TAKEN.search(tail) else DevnetError
        return kind(f"{self.label} exited during start-up:\n{tail}")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        proc, self.process = self.process, None
        with _live_lock:
            _live.discard(self)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- JSON-RPC ----------------------------------------------------------------------------

    def rpc(self, method: str, params: list[Any] | None = None, timeout: float = 30.0) -> Any:
        """Call one JSON-RPC method; a JSON-RPC error becomes DevnetError."""
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
        ).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise DevnetError(f"{method}: HTTP {exc.code} from {self.label}") from exc
        if "error" in reply:
            raise DevnetError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result")

    def chain_id(self) -> int:
        return int(self.rpc("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    # -- controls -----------------------------------------------------------------------------

    @abstractmethod
    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` blocks now (pending transactions go into the first)."""

    @abstractmethod
    def set_mining(self, mode: MiningMode) -> None:
        """Switch between automine, interval mining (seconds) and manual mining."""

    @abstractmethod
    def set_balance(self, address: str, wei: int) -> None:
        """Set an account's balance."""

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """Revert to a snapshot. The snapshot is consumed: take a new one to reuse."""
        if not self.rpc("evm_revert", [snapshot_id]):
            raise DevnetError(f"evm_revert({snapshot_id}) failed: unknown or used snapshot")

    @contextlib.contextmanager
    def isolated(self) -> Iterator[Self]:
        """Run a block of work and undo every state change it made."""
        snap = self.snapshot()
        try:
            yield self
        finally:
            self.revert(snap)


@atexit.register
def _stop_all() -> None:
    """Never leave node processes behind when the interpreter exits."""
    with _live_lock:
        nodes = list(_live)
    for node in nodes:
        node.stop(timeout=2.0)
