"""Importing a feature whose extra is absent: one ImportError line naming the extra.

Each case runs in a fresh interpreter with the extra's modules hidden
(``sys.modules[name] = None`` makes them unimportable), as if never installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

SOLANA_HINT = "needs the solana extra (solders is not installed): pip install 'chainops[solana]'"
QUEUES_HINT = "needs the queues extra ({} is not installed): pip install 'chainops[queues]'"

PROBE = """
import json, sys
for name in {hidden!r}:
    sys.modules[name] = None
try:
{body}
except BaseException as exc:
    from chainops.core.errors import ConfigurationError
    print(json.dumps({{
        "type": type(exc).__name__,
        "import_error": isinstance(exc, ImportError),
        "configuration_error": isinstance(exc, ConfigurationError),
        "name": getattr(exc, "name", None),
        "message": str(exc),
    }}))
else:
    print(json.dumps(None))
"""


def _probe(hidden: tuple[str, ...], body: str, **env: str) -> Any:
    code = PROBE.format(hidden=hidden, body="\n".join("    " + line for line in body.split("\n")))
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHAINOPS_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("statement", "package"),
    [
        ("from chainops.operators.solana import SolanaOperator", "chainops.operators.solana"),
        ("import chainops.operators.solana.operator", "chainops.operators.solana"),
        ("from chainops.devnet.solana import SolanaRpcServer", "chainops.devnet.solana"),
    ],
)
def test_solana_packages_without_the_extra_name_it(statement: str, package: str) -> None:
    caught = _probe(("solders",), statement)
    assert caught == {
        "type": "ModuleNotFoundError",
        "import_error": True,
        "configuration_error": False,
        "name": "solders",
        "message": f"{package} {SOLANA_HINT}",
    }


def test_the_uncaught_error_ends_in_the_hint_line() -> None:
    code = "import sys; sys.modules['solders'] = None\nfrom chainops.operators.solana import X"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"ModuleNotFoundError: chainops.operators.solana {SOLANA_HINT}"
    )
    assert "During handling" not in done.stderr  # no second traceback from solders


def test_importorskip_still_skips_without_the_extra() -> None:
    body = "import pytest\npytest.importorskip('chainops.operators.solana')"
    caught = _probe(("solders",), body)
    assert caught["type"] == "Skipped"
    assert SOLANA_HINT in caught["message"]


def test_an_unrelated_missing_module_is_not_blamed_on_an_extra() -> None:
    caught = _probe(("msgspec",), "import chainops.operators.solana")
    assert caught["type"] == "ModuleNotFoundError" and caught["name"] == "msgspec"
    assert "extra" not in caught["message"]


@pytest.mark.parametrize(
    ("module", "hidden", "feature"),
    [
        ("chainops.queues.redis_streams", "redis", "the Redis Streams transport"),
        ("chainops.queues.nats_jetstream", "nats", "the NATS JetStream transport"),
    ],
)
def test_queue_backends_without_the_extra_name_it(module: str, hidden: str, feature: str) -> None:
    caught = _probe((hidden,), f"import {module}")
    assert caught == {
        "type": "ModuleNotFoundError",
        "import_error": True,
        "configuration_error": False,
        "name": hidden,
        "message": f"{feature} {QUEUES_HINT.format(hidden)}",
    }


def test_the_in_process_queue_needs_no_extra() -> None:
    body = (
        "import asyncio\nfrom chainops.queues import MemoryTransport, open_transport\n"
        "assert isinstance(asyncio.run(open_transport(None)), MemoryTransport)"
    )
    assert _probe(("redis", "nats"), body) is None


@pytest.mark.parametrize(
    ("url", "hidden"),
    [("redis://127.0.0.1:6379/0", "redis"), ("nats://127.0.0.1:4222", "nats")],
)
def test_a_configured_events_url_without_the_extra_is_a_configuration_error(
    url: str, hidden: str, tmp_path: Any
) -> None:
    body = (
        "import asyncio\nfrom chainops.queues import open_configured_transport\n"
        "asyncio.run(open_configured_transport())"
    )
    caught = _probe(
        (hidden,), body, CHAINOPS_EVENTS=url, CHAINOPS_CONFIG=str(tmp_path / "none.toml")
    )
    scheme = url.partition(":")[0]
    assert caught == {
        "type": "MissingExtra",
        "import_error": False,
        "configuration_error": True,
        "name": None,
        "message": f"a {scheme}:// events URL {QUEUES_HINT.format(hidden)}",
    }
