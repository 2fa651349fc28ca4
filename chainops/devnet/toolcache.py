"""The per-user tool cache: the pinned Anvil and Uniswap artifacts, fetched once per user.

Those packages are not ours to bundle (their licences include BUSL-1.1 and GPL), so
``chainops setup``, or the first command that needs them, fetches each one by name
and pinned version with ``npm pack``, checks the tarball against the sha512
integrity pinned in ``tools.lock.json`` (the value npm's own lock files carry) and
unpacks it into ``<cache>/tools/node_modules/<name>``, the layout npm would give.

Every package is unpacked in a staging folder and renamed into place only when
complete, with a marker holding its integrity, so an interrupted setup leaves
nothing half-installed and a re-run finishes the rest. The cache folder is
``$CHAINOPS_CACHE_DIR``, else ``$CHAINOPS_HOME/cache``, else the platform's cache
folder (``$XDG_CACHE_HOME/chainops``, ``~/Library/Caches/chainops``,
``%LOCALAPPDATA%\\chainops\\Cache``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from chainops.core.errors import ConfigurationError

ENV_CACHE = "CHAINOPS_CACHE_DIR"
LOCK_FILE = Path(__file__).with_name("tools.lock.json")
# Written last inside a package folder: its presence with the pinned integrity means complete.
MARKER = ".chainops-integrity"
# A cached package manifest is good enough; npm still checks tarballs against its own index.
NPM_FLAGS = ("--json", "--ignore-scripts", "--prefer-offline", "--loglevel=error")
NPM_TIMEOUT = 600.0  # seconds for one package: the Anvil tarball is tens of MB

Progress = Callable[[str], None]


class ToolSetupError(ConfigurationError):
    """A third-party tool could not be provisioned into the tool cache."""


class IntegrityMismatch(ToolSetupError):
    """A downloaded tarball does not hash to the pinned integrity; nothing was installed."""


class CacheNotWritable(ToolSetupError):
    """The tool cache folder cannot be created or written."""


class PrerequisiteMissing(ToolSetupError):
    """A program the setup needs (npm, which comes with Node.js) is not installed."""


@dataclass(frozen=True)
class Pin:
    """One npm package at an exact version with the sha512 integrity of its tarball."""

    name: str
    version: str
    integrity: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Pins:
    """What ``tools.lock.json`` pins for this machine."""

    anvil: Pin | None  # None: no npm build of Anvil for this platform
    anvil_min: tuple[int, ...]
    anvil_below: tuple[int, ...]
    artifacts: tuple[Pin, ...]

    def anvil_fits(self, version: tuple[int, ...]) -> bool:
        """Whether an Anvil of ``version`` (e.g. one on PATH) can stand in for the pinned one."""
        return self.anvil_min <= version < self.anvil_below


@dataclass(frozen=True)
class Installed:
    """The outcome of provisioning one package."""

    pin: Pin
    path: Path
    downloaded: int  # tarball bytes fetched; 0 when it was already in the cache


def platform_key() -> str:
    """``linux-x86_64``, ``darwin-arm64``, ``win32-amd64``...: the lock file's platform keys."""
    return f"{sys.platform}-{platform.machine().lower()}"


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("-")[0].split("."))


def load_pins(platform_name: str | None = None) -> Pins:
    data: dict[str, Any] = json.loads(LOCK_FILE.read_text())
    anvil = data["anvil"]
    native = anvil["platforms"].get(platform_name or platform_key())
    return Pins(
        anvil=Pin(native["name"], anvil["version"], native["integrity"]) if native else None,
        anvil_min=version_tuple(anvil["compatible"]["min"]),
        anvil_below=version_tuple(anvil["compatible"]["below"]),
        artifacts=tuple(Pin(a["name"], a["version"], a["integrity"]) for a in data["artifacts"]),
    )


def cache_dir() -> Path:
    """The per-user cache folder of chainops (tools, the devnet world's state)."""
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("CHAINOPS_HOME")
    if home:
        return Path(home).expanduser() / "cache"
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / "chainops" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "chainops"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # XDG says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "chainops"


def package_dir(tools: Path, pin: Pin) -> Path:
    return tools / "node_modules" / pin.name


def is_installed(tools: Path, pin: Pin) -> bool:
    try:
        return (package_dir(tools, pin) / MARKER).read_text().strip() == pin.integrity
    except OSError:
        return False


def missing(tools: Path, pins: Sequence[Pin]) -> list[Pin]:
    return [pin for pin in pins if not is_installed(tools, pin)]


def provision(
    pins: Sequence[Pin], tools: Path, *, progress: Progress | None = None
) -> list[Installed]:
    """Install every pin not yet in ``tools`` (a folder holding ``node_modules``)."""
    say = progress or (lambda _line: None)
    _writable(tools)
    results: list[Installed] = []
    with _locked(tools):
        staging = tools / ".staging"
        # Leftovers of an interrupted run: nobody else uses them while we hold the lock.
        shutil.rmtree(staging, ignore_errors=True)
        todo = missing(tools, pins)
        npm = _npm() if todo else ""
        try:
            for pin in pins:
                if pin not in todo:
                    results.append(Installed(pin, package_dir(tools, pin), 0))
                    continue
                step = f"[{todo.index(pin) + 1}/{len(todo)}]"
                say(f"{step} fetching {pin.spec}")
                size = _install(npm, pin, tools, staging)
                say(f"{step} {pin.spec}: {size / 1e6:.1f} MB, verified")
                results.append(Installed(pin, package_dir(tools, pin), size))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return results


def _writable(tools: Path) -> None:
    try:
        tools.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=tools):
            pass
    except OSError as exc:
        raise CacheNotWritable(
            f"the tool cache {tools} is not writable ({exc.strerror or exc}); make it "
            f"writable, or set {ENV_CACHE} (or CHAINOPS_HOME) to a folder you own"
        ) from None


@contextlib.contextmanager
def _locked(tools: Path) -> Iterator[None]:
    """One provisioning at a time per cache (parallel test workers, two shells)."""
    with open(tools / ".lock", "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: renames still keep every package whole
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def npm_missing_message() -> str:
    return (
        "npm was not found; chainops uses it to fetch the pinned Anvil and Uniswap "
        "artifacts. Either install Node.js 18 or later (it brings npm; e.g. "
        "`apt install nodejs npm`, `brew install node`) and run `chainops setup`, or "
        "run `chainops setup` where npm is available and copy that cache folder here "
        f"(or point {ENV_CACHE} at it). Foundry users with `anvil` on PATH need npm "
        "only for the Uniswap artifacts."
    )


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise PrerequisiteMissing(npm_missing_message())
    return npm


def _install(npm: str, pin: Pin, tools: Path, staging: Path) -> int:
    staging.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=staging))
    tarball = _fetch(npm, pin, work)
    _verify(tarball, pin)
    unpacked = _unpack(tarball, work / "unpacked")
    _make_bins_executable(unpacked)
    (unpacked / MARKER).write_text(pin.integrity + "\n")
    target = package_dir(tools, pin)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # another version, or a folder without our marker
        target.rename(work / "previous")
    unpacked.rename(target)  # atomic: the package is either whole or absent
    size = tarball.stat().st_size
    shutil.rmtree(work, ignore_errors=True)
    return size


def _fetch(npm: str, pin: Pin, work: Path) -> Path:
    try:
        done = subprocess.run(
            [npm, "pack", pin.spec, *NPM_FLAGS],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:  # the npm script found, but Node.js missing behind it
        raise PrerequisiteMissing(npm_missing_message()) from None
    except subprocess.TimeoutExpired:
        raise ToolSetupError(f"npm took over {NPM_TIMEOUT:.0f} s to fetch {pin.spec}") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        if done.returncode == 127 or ("node" in detail and "not found" in detail):
            raise PrerequisiteMissing(npm_missing_message())
        raise ToolSetupError(f"npm could not fetch {pin.spec}: {detail}")
    try:
        filename = json.loads(done.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        raise ToolSetupError(f"npm pack {pin.spec} answered: {done.stdout[:200]!r}") from None
    # npm names scoped tarballs scope-name-version.tgz; older releases keep the '@'.
    path = work / str(filename).replace("/", "-").lstrip("@")
    if not path.is_file():
        found = sorted(work.glob("*.tgz"))
        if len(found) != 1:
            raise ToolSetupError(f"npm pack {pin.spec} left no tarball in {work}")
        path = found[0]
    return path


def integrity_of(path: Path) -> str:
    """npm's integrity string (``sha512-<base64>``) of a file."""
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def _verify(tarball: Path, pin: Pin) -> None:
    actual = integrity_of(tarball)
    if actual != pin.integrity:
        raise IntegrityMismatch(
            f"{pin.spec}: the downloaded tarball does not match the pinned integrity "
            f"(expected {pin.integrity[:23]}…, got {actual[:23]}…); nothing was installed. "
            "Run `chainops setup` again; if it persists, the registry or a proxy in between "
            "serves a different file than the one chainops pins."
        )


def _unpack(tarball: Path, into: Path) -> Path:
    """Extract the package's single top folder (npm calls it ``package``) and return it."""
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            members = archive.getmembers()
            tops = {PurePosixPath(m.name).parts[0] for m in members if m.name.strip("/")}
            for member in members:
                parts = PurePosixPath(member.name).parts
                if (
                    member.name.startswith("/")
                    or ".." in parts
                    or not (member.isfile() or member.isdir())
                ):
                    raise ToolSetupError(f"{tarball.name}: refusing archive entry {member.name}")
            if len(tops) != 1:
                raise ToolSetupError(f"{tarball.name}: expected one top folder, found {tops}")
            if hasattr(tarfile, "data_filter"):
                archive.extractall(into, filter="data")
            else:  # pragma: no cover - Python before 3.11.4; entries were checked above
                archive.extractall(into)
    except (tarfile.TarError, OSError) as exc:
        raise ToolSetupError(f"cannot unpack {tarball.name}: {exc}") from None
    return into / tops.pop()


def _make_bins_executable(package: Path) -> None:
    """What ``npm install`` does for a package's ``bin`` entries."""
    manifest = json.loads((package / "package.json").read_text())
    bins = manifest.get("bin") or {}
    for relative in [bins] if isinstance(bins, str) else bins.values():
        path = package / relative
        if path.is_file():
            path.chmod(path.stat().st_mode | 0o111)
