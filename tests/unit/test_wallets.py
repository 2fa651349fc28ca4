"""Wallet store: encrypted files, wrong password, missing wallet, never overwritten."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from chainops.core.errors import AuthenticationError, ConfigurationError, ValidationError
from chainops.operators.evm.signer import LocalSigner
from chainops.wallets import WalletExists, WalletNotFound, WalletStore

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PASSWORD = "correct horse"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WalletStore:
    monkeypatch.setenv("CHAINOPS_SCRYPT_N", "1024")  # fast in tests; real files use 2**18
    return WalletStore(tmp_path / "wallets")


def test_import_list_show_unlock(store: WalletStore) -> None:
    info = store.import_key("main", KEY, PASSWORD)
    assert str(info.address) == ADDRESS
    assert [w.name for w in store.list()] == ["main"]
    signer = LocalSigner.from_keystore(store.keystore("main"), PASSWORD)
    assert signer.address == info.address
    assert store.export_key("main", PASSWORD) == KEY
    document = json.loads(info.path.read_text())
    assert document["crypto"]["kdf"] == "scrypt"
    assert KEY[2:] not in info.path.read_text()
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert KEY[2:] not in repr(info) and KEY[2:] not in repr(
        LocalSigner.from_keystore(store.keystore("main"), PASSWORD)
    )


def test_new_wallets_differ(store: WalletStore) -> None:
    a = store.create("a", PASSWORD)
    b = store.create("b", PASSWORD)
    assert a.address != b.address


def test_wrong_password(store: WalletStore) -> None:
    store.import_key("main", KEY, PASSWORD)
    with pytest.raises(AuthenticationError, match="wrong password"):
        LocalSigner.from_keystore(store.keystore("main"), "not the password")
    with pytest.raises(AuthenticationError):
        store.export_key("main", "not the password")


def test_missing_wallet(store: WalletStore) -> None:
    with pytest.raises(WalletNotFound, match=r"no wallet 'ghost'.*wallet new"):
        store.get("ghost")
    store.create("real", PASSWORD)
    with pytest.raises(WalletNotFound, match=r"known: real"):
        store.keystore("ghost")


def test_bad_input(store: WalletStore) -> None:
    with pytest.raises(ValidationError, match="invalid wallet name"):
        store.create("../evil", PASSWORD)
    with pytest.raises(ValidationError, match="too short"):
        store.create("short", "pw")
    with pytest.raises(ValidationError, match="invalid private key") as err:
        store.import_key("bad", "0x1234zz", PASSWORD)
    assert "1234zz" not in str(err.value)
    store.create("once", PASSWORD)
    with pytest.raises(WalletExists):
        store.import_key("once", KEY, PASSWORD)


def test_foreign_files_are_skipped(store: WalletStore) -> None:
    store.create("ok", PASSWORD)
    (store.directory / "notes.json").write_text("[1, 2]")
    assert [w.name for w in store.list()] == ["ok"]


def test_keystore_is_owner_only_despite_a_stale_temp_file(store: WalletStore) -> None:
    # a temp file left by an older writer, world-readable, under the name it used
    store.directory.mkdir(parents=True)
    stale = store.directory / "main.tmp"
    stale.write_text("{}")
    stale.chmod(0o644)
    info = store.import_key("main", KEY, PASSWORD)
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert store.export_key("main", PASSWORD) == KEY
    # nothing of ours is left beside the keystore
    assert sorted(p.name for p in store.directory.iterdir()) == ["main.json", "main.tmp"]


def test_keystore_write_is_atomic_and_never_overwrites(
    store: WalletStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.import_key("main", KEY, PASSWORD)
    before = (store.directory / "main.json").read_bytes()
    with pytest.raises(WalletExists):
        store.create("main", PASSWORD)
    assert (store.directory / "main.json").read_bytes() == before

    def crash(*args: object) -> None:
        raise OSError("disk gone")

    # a failure before the file gets its name leaves neither a keystore nor a temp file
    monkeypatch.setattr("chainops.wallets.files.os.link", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.create("other", PASSWORD)
    assert sorted(p.name for p in store.directory.iterdir()) == ["main.json"]


def test_a_keystore_that_is_not_utf8_is_skipped_and_named(store: WalletStore) -> None:
    store.create("ok", PASSWORD)
    (store.directory / "latin.json").write_bytes(b'{"crypto": "\xe9t\xe9"}')
    assert [w.name for w in store.list()] == ["ok"]  # listing skips it
    with pytest.raises(ConfigurationError, match="cannot read keystore"):
        store.get("latin")
    with pytest.raises(WalletNotFound, match="known: ok"):
        store.get("ghost")  # the message lists the others without tripping on it


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: c.pop("kdfparams"),
        lambda c: c.update(kdf="argon2"),
        lambda c: c.update(cipherparams=None),
        lambda c: c.pop("ciphertext"),
    ],
)
def test_exporting_a_damaged_keystore_is_one_typed_error(store: WalletStore, damage) -> None:
    info = store.import_key("main", KEY, PASSWORD)
    document = json.loads(info.path.read_text())
    damage(document["crypto"])
    info.path.write_text(json.dumps(document))
    with pytest.raises(ConfigurationError, match="not a valid v3 keystore"):
        store.export_key("main", PASSWORD)


def test_a_keystore_file_that_is_not_utf8_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigurationError, match="cannot read keystore"):
        LocalSigner.from_keystore(path, PASSWORD)
