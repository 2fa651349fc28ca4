"""Anvil process manager: start on a free loopback port, check, control, stop."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chainops.core.errors import ConfigurationError, DevnetError
from chainops.devnet.tools import find_anvil

# Anvil's well-known development mnemonic: its accounts are public test keys.
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_CHAIN_ID = 31337

MiningMode = Literal["auto", "manual"] | float

_live: set[Anvil] = set()
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


@dataclass(frozen=True)
class AnvilConfig:
    """How to launch Anvil. Every field maps to one Anvil flag."""

    chain_id: int | None = DEFAULT_CHAIN_ID
    mining: MiningMode = "auto"
    host: str = "127.0.0.1"
    port: int | None = None  # None: pick a free port; a fixed 8545 collides with user nodes
    accounts: int = 10
    balance_eth: int = 10_000
    mnemonic: str = DEFAULT_MNEMONIC
    fork_url: str | None = None
    fork_block: int | None = None
    load_state: Path | None = None
    base_fee: int | None = None
    gas_limit: int | None = None
    hardfork: str | None = None
    # One slot per epoch makes `safe`/`finalized` follow the head within two blocks.
    slots_in_an_epoch: int | None = 1
    extra_args: tuple[str, ...] = ()
    startup_timeout: float = 30.0

    def args(self, binary: Path, port: int) -> list[str]:
        out = [str(binary), "--host", self.host, "--port", str(port)]
        out += ["--accounts", str(self.accounts), "--balance", str(self.balance_eth)]
        out += ["--mnemonic", self.mnemonic]
        if self.chain_id is not None:
            out += ["--chain-id", str(self.chain_id)]
        if self.mining == "manual":
            out.append("--no-mining")
        elif self.mining != "auto":
            out += ["--block-time", str(self.mining)]
        if self.fork_url:
            out += ["--fork-url", self.fork_url]
            if self.fork_block is not None:
                out += ["--fork-block-number", str(self.fork_block)]
        if self.load_state is not None:
            out += ["--load-state", str(self.load_state)]
        if self.base_fee is not None:
            out += ["--block-base-fee-per-gas", str(self.base_fee)]
        if self.gas_limit is not None:
            out += ["--gas-limit", str(self.gas_limit)]
        if self.hardfork:
            out += ["--hardfork", self.hardfork]
        if self.slots_in_an_epoch is not None:
            out += ["--slots-in-an-epoch", str(self.slots_in_an_epoch)]
        out += list(self.extra_args)
        return out


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM Anvil if the Python process dies without cleaning up."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass(eq=False)
class Anvil:
    """One running Anvil node. Use as a context manager or call start()/stop()."""

    config: AnvilConfig = field(default_factory=AnvilConfig)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Anvil:
        """Launch Anvil and return once it answers JSON-RPC with the expected chain id."""
        if self.running:
            return self
        binary = find_anvil()
        attempts = 1 if self.config.port else 3
        last_error: Exception | None = None
        for _ in range(attempts):
            port = self.config.port or free_port(self.config.host)
            try:
                self._launch(binary, port)
                self._wait_ready()
            except DevnetError as exc:
                last_error = exc
                self.stop()
                continue
            with _live_lock:
                _live.add(self)
            return self
        raise DevnetError(f"Anvil did not start: {last_error}")

    def _launch(self, binary: Path, port: int) -> None:
        # Another node answering on the port would pass the readiness check in our place.
        if _listening(self.config.host, port):
            raise DevnetError(f"port {port} on {self.config.host} is already in use")
        fd, log_name = tempfile.mkstemp(prefix="chainops-anvil-", suffix=".log")
        self.log_path = Path(log_name)
        self.port = port
        with os.fdopen(fd, "wb") as log:
            self.process = subprocess.Popen(
                [*self.config.args(binary, port), "--silent"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
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
                raise DevnetError(f"Anvil exited during start-up:\n{self._log_tail()}")
            try:
                chain_id = int(self.rpc("eth_chainId", [], timeout=1.0), 16)
            except (OSError, DevnetError):
                time.sleep(0.02)
                continue
            if self.process.poll() is not None:
                raise DevnetError(f"Anvil exited during start-up:\n{self._log_tail()}")
            expected = self.config.chain_id
            if expected is not None and chain_id != expected:
                raise ConfigurationError(
                    f"Anvil at {self.url} reports chain id {chain_id}, expected {expected}"
                )
            return
        raise DevnetError(
            f"Anvil did not answer within {self.config.startup_timeout}s:\n{self._log_tail()}"
        )

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

    def __enter__(self) -> Anvil:
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
            raise DevnetError(f"{method}: HTTP {exc.code} from Anvil") from exc
        if "error" in reply:
            raise DevnetError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result")

    def chain_id(self) -> int:
        return int(self.rpc("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    # -- controls -----------------------------------------------------------------------------

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def set_mining(self, mode: MiningMode) -> None:
        """Switch between automine, interval mining (seconds) and manual mining."""
        if mode == "auto":
            self.rpc("evm_setIntervalMining", [0])
            self.rpc("evm_setAutomine", [True])
        elif mode == "manual":
            self.rpc("evm_setAutomine", [False])
            self.rpc("evm_setIntervalMining", [0])
        else:
            self.rpc("evm_setAutomine", [False])
            self.rpc("evm_setIntervalMining", [int(mode)])

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """Revert to a snapshot. Anvil consumes the snapshot: take a new one to reuse."""
        if not self.rpc("evm_revert", [snapshot_id]):
            raise DevnetError(f"evm_revert({snapshot_id}) failed: unknown or used snapshot")

    @contextlib.contextmanager
    def isolated(self) -> Iterator[Anvil]:
        """Run a block of work and undo every state change it made."""
        snap = self.snapshot()
        try:
            yield self
        finally:
            self.revert(snap)

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [address, hex(wei)])

    def dump_state(self) -> str:
        """The whole chain state as Anvil's hex-encoded dump (for --load-state)."""
        return str(self.rpc("anvil_dumpState", timeout=120.0))

    def fork(self, **overrides: Any) -> Anvil:
        """A new Anvil forked from this one (started; caller stops it)."""
        config = AnvilConfig(
            **{
                **_config_fields(self.config),
                "fork_url": self.url,
                "fork_block": None,
                "load_state": None,
                "port": None,
                **overrides,
            }
        )
        child = Anvil(config).start()
        # Anvil credits its development accounts afresh on a fork; put back the parent's
        # balances so the fork starts from exactly the parent's state.
        block = hex(int(child.rpc("eth_blockNumber"), 16))
        for address in child.rpc("eth_accounts"):
            child.rpc("anvil_setBalance", [address, self.rpc("eth_getBalance", [address, block])])
        return child


def _config_fields(config: AnvilConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in AnvilConfig.__dataclass_fields__}


@atexit.register
def _stop_all() -> None:
    """Never leave Anvil processes behind when the interpreter exits."""
    with _live_lock:
        nodes = list(_live)
    for node in nodes:
        node.stop(timeout=2.0)
