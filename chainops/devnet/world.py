"""The devnet world: Anvil plus WETH, Uniswap V2/V3, our test tokens and funded pools.

The first start deploys everything and caches Anvil's state dump under
``build/world``; later starts load that dump and take about a second. A loaded
world first mines one block at the current time, so the head block's timestamp
is now however old the cache is (deadlines computed from it do not expire).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chainops.core.addressbook import AddressBook
from chainops.core.errors import DevnetError
from chainops.devnet import deploy
from chainops.devnet import like as like_module
from chainops.devnet.anvil import Anvil, AnvilConfig
from chainops.devnet.artifacts import NPM_ARTIFACTS, npm_artifact, our_artifact
from chainops.devnet.tools import build_dir, find_anvil

# Bump to invalidate every cached world when the deployment plan changes shape.
WORLD_FORMAT = 1


def world_cache_key(config: AnvilConfig, like: str | None = None) -> str:
    """Digest of everything that decides the deployed state."""
    h = hashlib.sha256()
    h.update(f"format={WORLD_FORMAT};chain={config.chain_id};".encode())
    if like is not None:
        h.update(f"like={like};".encode())
        h.update(Path(like_module.__file__).read_bytes())
    h.update(f"accounts={config.accounts};balance={config.balance_eth};".encode())
    h.update(config.mnemonic.encode())
    h.update(Path(deploy.__file__).read_bytes())
    for name in sorted(NPM_ARTIFACTS):
        h.update(npm_artifact(name).digest().encode())
    for name in deploy.OUR_CONTRACTS:
        h.update(our_artifact(name).digest().encode())
    anvil = find_anvil()
    h.update(f"{anvil.stat().st_size}:{anvil.stat().st_mtime_ns}".encode())
    return h.hexdigest()[:16]


@dataclass
class World:
    """A running devnet: the Anvil node and the address book of what is deployed."""

    anvil: Anvil
    book: AddressBook
    started_from_cache: bool = False
    startup_seconds: float = 0.0

    @property
    def rpc_url(self) -> str:
        return self.anvil.url

    @property
    def chain_id(self) -> int:
        return self.book.chain_id

    @classmethod
    def start(
        cls,
        config: AnvilConfig | None = None,
        *,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        like: str | None = None,
    ) -> World:
        """Start Anvil with the world deployed, from the cache when it is there.

        ``like`` ("ethereum", "base", ...): a mainnet-shaped world with that chain's id and
        its canonical addresses (see ``like.py``).
        """
        config = config or AnvilConfig()
        if config.fork_url or config.load_state:
            raise DevnetError("World.start builds its own state; use World.fork to fork one")
        if like is not None:
            shape = like_module.like_deployment(like)
            like = shape.network
            config = replace(config, chain_id=shape.chain_id)
            if config.mining == "auto" and not config.extra_args:
                # Sent transactions still mine at once, and a block a second lets a
                # mainnet script's confirmation depth be reached, as on the real chain.
                config = replace(config, extra_args=like_module.MIXED_MINING)
        began = time.monotonic()
        folder = cache_dir or build_dir() / "world"
        key = world_cache_key(config, like)
        state_path, book_path = folder / f"{key}.state.json", folder / f"{key}.book.json"
        if use_cache and state_path.is_file() and book_path.is_file():
            world = cls._from_cache(config, state_path, book_path)
            if world is not None:
                world.startup_seconds = time.monotonic() - began
                return world
        anvil = Anvil(config).start()
        try:
            book = (
                deploy.deploy_world(anvil) if like is None else like_module.deploy_like(anvil, like)
            )
            if use_cache:
                _write_cache(anvil, book, folder, state_path, book_path)
        except BaseException:
            anvil.stop()
            raise
        return cls(anvil, book, False, time.monotonic() - began)

    @classmethod
    def address_book(
        cls, config: AnvilConfig | None = None, *, cache_dir: Path | None = None
    ) -> AddressBook:
        """The world's address book, from the cache or by deploying it once."""
        config = config or AnvilConfig()
        key = world_cache_key(config)
        book_path = (cache_dir or build_dir() / "world") / f"{key}.book.json"
        if book_path.is_file():
            return AddressBook.load(book_path)
        with cls.start(config, cache_dir=cache_dir) as world:
            return world.book

    @classmethod
    def _from_cache(cls, config: AnvilConfig, state: Path, book_path: Path) -> World | None:
        book = AddressBook.load(book_path)
        anvil = Anvil(replace(config, load_state=state)).start()
        # A state file that loads but lacks our code (corrupt or foreign) is rebuilt.
        if anvil.rpc("eth_getCode", [book.contract("WETH9"), "latest"]) in (None, "0x"):
            anvil.stop()
            return None
        anvil.catch_up_clock()
        return cls(anvil, book, True)

    def fork(self, **overrides: Any) -> World:
        """A second Anvil forked from this world: same state, separate future."""
        return World(self.anvil.fork(**overrides), self.book, self.started_from_cache)

    def stop(self) -> None:
        self.anvil.stop()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _write_cache(
    anvil: Anvil, book: AddressBook, folder: Path, state: Path, book_path: Path
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    dump = anvil.dump_state()
    raw = bytes.fromhex(dump[2:] if dump.startswith("0x") else dump)
    # anvil_dumpState answers gzip; --load-state reads the plain JSON document.
    text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    json.loads(text)  # refuse to cache something Anvil could not load back
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        out.write(text)
    os.replace(tmp, state)  # atomic: parallel test workers never read half a file
    book.save(book_path)
