"""``chainops devnet fork``: a local Anvil fork of any network, nothing deployed."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import typer

from chainops.cli.options import Venue, command
from chainops.cli.runtime import Runtime, err, out

if TYPE_CHECKING:
    from chainops.core.errors import ChainopsError

PROBE_TIMEOUT = 10.0
# what Anvil says when it cannot read the chain it forks (the upstream, not Anvil, failed)
_UPSTREAM = ("failed to get fork", "error sending request", "Connection refused", "tcp connect")


@command(None, "fork", venue=Venue.NONE)
def devnet_fork(
    fork_url: str = typer.Option(..., "--fork-url", help="RPC URL of the network to fork."),
    block: int | None = typer.Option(None, "--block", min=0, help="Fork at this block."),
    port: int = typer.Option(
        0, "--port", min=0, max=65535, help="Port to listen on; 0 picks a free one."
    ),
    *,
    rt: Runtime,
) -> None:
    """Fork a network locally (keeps its chain id) and serve it until Ctrl-C."""
    from chainops.config.networks import mask_url
    from chainops.config.settings import url_problem
    from chainops.core.errors import DevnetError, ValidationError
    from chainops.devnet.anvil import Anvil, AnvilConfig

    as_json = rt.as_json
    if (problem := url_problem(fork_url)) is not None:
        raise ValidationError(f"--fork-url {mask_url(fork_url)!r} {problem}")
    # chain_id None: the fork keeps the forked chain's id, so signed txs match it
    if fork_url.startswith("http"):
        probe(fork_url)
    config = AnvilConfig(fork_url=fork_url, fork_block=block, chain_id=None, port=port or None)
    try:
        node = Anvil(config).start()
    except DevnetError as exc:
        raise upstream_failure(fork_url, str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        info = {
            "rpc_url": node.url,
            "chain_id": node.chain_id(),
            "block": node.block_number(),
            "fork_url": mask_url(fork_url),
        }
        if as_json:
            print(json.dumps(info), flush=True)
        else:
            out.print(
                f"[green]fork up[/green] at [bold]{info['rpc_url']}[/bold] (chain id "
                f"{info['chain_id']}, block {info['block']}, from {info['fork_url']}). "
                "Ctrl-C stops it.",
                highlight=False,
            )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
        if not as_json:
            err.print("fork stopped")


def probe(url: str) -> None:
    """One ``eth_chainId`` call: an unreachable or failing node is an RpcError (exit 3)."""
    from chainops.config.networks import mask_url
    from chainops.core.errors import RpcError

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT) as reply:
            json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        why = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        why = "no answer in time" if isinstance(reason, TimeoutError) else _why(str(reason))
    except ValueError:
        why = "the answer is not JSON-RPC"
    else:
        return
    raise RpcError(f"cannot reach the node to fork at {mask_url(url)} ({why}): check --fork-url")


def upstream_failure(url: str, message: str) -> ChainopsError:
    """Anvil's start-up failure as one line: RpcError when the forked node failed."""
    from chainops.config.networks import mask_url
    from chainops.core.errors import DevnetError, RpcError

    if any(marker in message for marker in _UPSTREAM):
        return RpcError(
            f"cannot reach the node to fork at {mask_url(url)} ({_why(message)}): check --fork-url"
        )
    return DevnetError(" ".join(message.split()))


def _why(text: str) -> str:
    if "refused" in text:
        return "connection refused"
    if "Name or service" in text or "resolve" in text or "dns" in text:
        return "unknown host"
    return text.strip().splitlines()[-1] if text.strip() else "no answer"
