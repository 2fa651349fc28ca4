"""``chainops config``: the merged configuration, secrets masked."""

from __future__ import annotations

from typing import Any

import typer

from chainops.cli.options import command
from chainops.cli.runtime import Runtime

config_app = typer.Typer(
    help="Show the configuration (file < environment < flags).", no_args_is_help=True
)


@command(config_app, "show", account=False, journal=False)
def config_show(*, rt: Runtime) -> None:
    """Print the merged settings and the resolved network; API keys in URLs are masked."""
    from chainops.config.networks import mask_url
    from chainops.core.errors import ChainopsError

    settings = rt.settings()
    document: dict[str, Any] = {
        "config_file": str(settings.source_file),
        "config_file_exists": bool(settings.source_file and settings.source_file.is_file()),
        "network": settings.network,
        "rpc_url": mask_url(settings.rpc_url) if settings.rpc_url else None,
        "wallet": settings.wallet,
        "networks": {
            name: spec.model_dump(mode="json") | {"rpc_urls": [mask_url(u) for u in spec.rpc_urls]}
            for name, spec in settings.networks.items()
        },
    }
    try:
        document["resolved"] = rt.net().to_dict(mask=True)
    except ChainopsError:
        # an unusable network is an invalid configuration: fail with its one-line error,
        # after the settings (readable output only: --json stays one error document)
        if not rt.as_json:
            _show_settings(rt, document)
        raise
    if rt.as_json:
        rt.show(document)
        return
    _show_settings(rt, document)
    rt.show(document["resolved"], "resolved network")


def _show_settings(rt: Runtime, document: dict[str, Any]) -> None:
    rt.show({k: v for k, v in document.items() if k not in ("networks", "resolved")})
    for name, spec in document["networks"].items():
        rt.show(spec, f"[networks.{name}]")
