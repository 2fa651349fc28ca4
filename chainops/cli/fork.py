"""``chainops devnet fork``: a local Anvil fork of any network, nothing deployed."""

from __future__ import annotations

import json
import signal
import threading

import typer

from chainops.cli.options import Venue, command
from chainops.cli.runtime import Runtime, err, out


@command(None, "fork", venue=Venue.NONE)
def devnet_fork(
    fork_url: str = typer.Option(..., "--fork-url", help="RPC URL of the network to fork."),
    block: int | None = typer.Option(None, "--block", min=0, help="Fork at this block."),
    port: int = typer.Option(0, "--port", help="Port to listen on; 0 picks a free one."),
    *,
    rt: Runtime,
) -> None:
    """Fork a network locally (keeps its chain id) and serve it until Ctrl-C."""
    from chainops.config.networks import mask_url
    from chainops.core.errors import ValidationError
    from chainops.devnet.anvil import Anvil, AnvilConfig

    as_json = rt.as_json
    if not fork_url.startswith(("http://", "https://", "ws://", "wss://")):
        raise ValidationError(f"--fork-url {mask_url(fork_url)!r} is not an http(s) URL")
    # chain_id None: the fork keeps the forked chain's id, so signed txs match it
    config = AnvilConfig(fork_url=fork_url, fork_block=block, chain_id=None, port=port or None)
    node = Anvil(config).start()
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
