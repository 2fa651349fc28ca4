"""Run the ``chainops`` CLI as a subprocess with an isolated home, config and journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT = 120


@dataclass
class Cli:
    """One user's environment: data dir, config file, journal, extra variables."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    def base_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CHAINOPS_") and k not in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")
        }
        env |= {
            "CHAINOPS_HOME": str(self.home / "data"),
            "CHAINOPS_CONFIG": str(self.config),
            "CHAINOPS_SCRYPT_N": "1024",  # tests only: real keystores use 2**18
            "COLUMNS": "200",
        }
        return env | self.env

    def run(
        self, *args: str, code: int = 0, stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "chainops.cli.main", *args],
            env=self.base_env() | env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert proc.returncode == code, (args, proc.returncode, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def json(self, *args: str, code: int = 0, **env: str) -> Any:
        return json.loads(self.run(*args, "--json", code=code, **env).stdout)
