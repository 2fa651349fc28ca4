"""``chainops config``: the merged configuration, secrets masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from chainops.cli.runtime import CONFIG, JSON, NETWORK, RPC_URL, fail, settings_for, show
from chainops.config import resolve_network
from chainops.config.networks import mask_url
from chainops.core.errors import ChainopsError

config_app = typer.Typer(help="Show the configuration (file < environment < flags).")


@config_app.command("show")
def config_show(
    config: Path | None = CONFIG,
    network: str | None = NETWORK,
    rpc_url: str | None = RPC_URL,
    as_json: bool = JSON,
) -> None:
    """Print the merged settings and the resolved network; API keys in URLs are masked."""
    try:
        settings = settings_for(config, network, rpc_url)
        document: dict[str, Any] = {
            "config_file": str(settings.source_file),
            "config_file_exists": bool(settings.source_file and settings.source_file.is_file()),
            "network": settings.network,
            "rpc_url": mask_url(settings.rpc_url) if settings.rpc_url else None,
            "wallet": settings.wallet,
            "networks": {
                name: spec.model_dump(mode="json")
                | {"rpc_urls": [mask_url(u) for u in spec.rpc_urls]}
                for name, spec in settings.networks.items()
            },
        }
        try:
            document["resolved"] = resolve_network(settings).to_dict(mask=True)
        except ChainopsError as exc:
            document["resolved"] = {"error": str(exc)}
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    if as_json:
        show(document, True)
        return
    show({k: v for k, v in document.items() if k not in ("networks", "resolved")}, False)
    for name, spec in document["networks"].items():
        show(spec, False, f"[networks.{name}]")
    show(document["resolved"], False, "resolved network")
