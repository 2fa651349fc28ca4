"""Build the chainops wheel from a copy of the sources: ``python scripts/build_wheel.py [DIR]``.

A copy, because setuptools' own ``build/`` folder must not mix with the checkout's
(a module deleted here would linger there and ship). Writes the wheel into DIR
(default ``dist/``, which ignores itself in git) and prints its path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "chainops")


def build_wheel(into: Path) -> Path:
    """The wheel built into ``into`` (created if missing, holding no other chainops wheel)."""
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chainops-wheel-") as folder:
        source = Path(folder)
        for name in SOURCES:
            if (ROOT / name).is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".stamp")
                shutil.copytree(ROOT / name, source / name, ignore=ignore)
            else:
                shutil.copy2(ROOT / name, source / name)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
        command += ["--disable-pip-version-check", "-w", str(into), str(source)]
        subprocess.run(command, check=True, capture_output=True, timeout=600)
    (wheel,) = into.glob("chainops-*.whl")  # the one: callers start from a folder without
    return wheel


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"
    if target == ROOT / "dist":
        target.mkdir(exist_ok=True)
        (target / ".gitignore").write_text("*\n")
        for old in target.glob("chainops-*.whl"):
            old.unlink()
    print(build_wheel(target))
