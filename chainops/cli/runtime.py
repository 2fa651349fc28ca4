"""The one CLI runtime: settings, network, account, journal, prompts, output and errors.

Every command gets a :class:`Runtime` from :func:`chainops.cli.options.command`. It
resolves what the shared options name (lazily: a command that fails on bad input never
loads the SDK parts it does not need), asks before anything is sent, runs the async
body, and turns every ChainopsError into one message and one exit code
(:mod:`chainops.cli.exitcodes`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from chainops.cli.exitcodes import ExitCode, exit_code
from chainops.cli.format import decimal_text, plain
from chainops.cli.options import KEY_ENV, PASSWORD_ENV, Venue

if TYPE_CHECKING:
    from chainops.config import Network, Settings
    from chainops.core.errors import ChainopsError
    from chainops.operators.evm.operator import EvmOperator
    from chainops.operators.evm.signer import LocalSigner

T = TypeVar("T")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
# Anvil's development account 1: the default signer on a local chain (0 deploys the world)
DEV_ACCOUNT = 1


@dataclass
class Runtime:
    """What one command invocation runs with."""

    venue: Venue = Venue.NONE
    config: Path | None = None
    as_json: bool = False
    network: str | None = None
    rpc_url: str | None = None
    wallet: str | None = None
    journal: Path | None = None
    yes: bool = False
    # set while a command waits, so Ctrl-C can say what is pending and how to resume
    pending: tuple[str, str] | None = field(default=None, init=False)
    _settings: Settings | None = field(default=None, init=False, repr=False)
    _net: Network | None = field(default=None, init=False, repr=False)

    # -- running a command ---------------------------------------------------------------

    def call(self, func: Callable[..., None], kwargs: dict[str, Any]) -> None:
        """Run a command body: errors to messages and exit codes, Ctrl-C to a resume hint."""
        from chainops.core.errors import ChainopsError, ValidationError

        try:
            if self.config is not None:
                self.settings()  # a file named with --config is read (and checked) by all
            func(**kwargs, rt=self)
        except ChainopsError as exc:
            self.fail(exc)
        except typer.BadParameter as exc:  # a body's own input check: same path as ours
            self.fail(ValidationError(exc.message))
        except KeyboardInterrupt:
            self.interrupted()
        except ModuleNotFoundError as exc:
            if exc.name not in ("solders", "solana"):
                raise
            from chainops.core.errors import ConfigurationError

            self.fail(
                ConfigurationError(
                    "Solana support needs the solana extra: pip install 'chainops[solana]'"
                )
            )
        except OSError as exc:
            if exc.filename is None:  # not a file: no path to name, so no better message
                raise
            from chainops.core.errors import ConfigurationError

            # a data folder or file the user pointed at that cannot be used (CHAINOPS_HOME)
            self.fail(ConfigurationError(f"cannot use {exc.filename}: {exc.strerror}"))

    def run(self, job: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run an async body to completion (on uvloop when installed: ``CHAINOPS_LOOP``)."""
        from chainops.operators.eventloop import run

        return run(job())

    def fail(self, exc: ChainopsError, code: ExitCode | None = None) -> NoReturn:
        """Report ``exc`` (JSON on stdout under ``--json``) and exit with its code."""
        self.report(type(exc).__name__, str(exc), exit_code(exc) if code is None else code)

    def report(self, name: str, message: str, code: ExitCode) -> NoReturn:
        """One error line (or ``{"error": ...}`` under ``--json``), then exit with ``code``."""
        message = plain_numbers(message)
        if self.as_json:
            document = {"error": name, "message": message, "exit_code": int(code)}
            print(json.dumps(document), flush=True)
        else:
            err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
        raise typer.Exit(code=int(code))

    def interrupted(self) -> NoReturn:
        """Ctrl-C: say what is still pending and the command that resumes waiting."""
        code = int(ExitCode.INTERRUPTED)
        if self.pending is None:
            hint = ""
            if self.venue is Venue.EVM:
                hint = (
                    ": whatever was sent is in the journal; `chainops tx list --pending` "
                    "shows it and `chainops tx wait ID` resumes waiting"
                )
            if self.as_json:
                document = {"error": "Interrupted", "message": f"interrupted{hint}"}
                print(json.dumps(document | {"exit_code": code}), flush=True)
            err.print(f"interrupted{hint}")
            raise typer.Exit(code=code)
        client_id, resume = self.pending
        message = f"interrupted: {client_id} is still pending and may complete"
        if self.as_json:
            document = {"error": "Interrupted", "message": message, "client_id": client_id}
            print(json.dumps(document | {"resume": resume, "exit_code": code}), flush=True)
        err.print(f"{message}.\n  resume waiting with: {escape(resume)}")
        raise typer.Exit(code=code)

    @contextmanager
    def waiting(self, client_id: str, resume: str) -> Iterator[None]:
        """While inside, Ctrl-C reports ``client_id`` and the ``resume`` command."""
        import asyncio

        self.pending = (client_id, resume)
        err.print(f"waiting for {client_id} (Ctrl-C stops waiting, not the operation)")
        try:
            yield
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise  # Ctrl-C: keep the hint for the interrupt handler
        except BaseException:
            self.pending = None
            raise
        self.pending = None

    def waiting_tx(self, client_id: str, *extra: str) -> AbstractContextManager[None]:
        """:meth:`waiting` for an EVM transaction: resumed by ``chainops tx wait``."""
        return self.waiting(client_id, self.resume_tx_wait(client_id, *extra))

    def resume_tx_wait(self, client_id: str, *extra: str) -> str:
        """The ``tx wait`` command reaching the same network and journal as this one."""
        from chainops.config.networks import mask_url

        args = ["tx", "wait", client_id, *extra]
        if self.network:
            args += ["--network", self.network]
        if self.rpc_url:  # masked: an API key in a URL never lands in a terminal log
            args += ["--rpc-url", mask_url(self.rpc_url)]
        if self.journal:
            args += ["--journal", str(self.journal)]
        return command_line(*args)

    # -- output ---------------------------------------------------------------------------

    def show(self, data: dict[str, Any] | list[dict[str, Any]], title: str = "") -> None:
        """A result: JSON on stdout, or a readable key/value listing."""
        data = plain(data)
        if self.as_json:
            print(json.dumps(data, indent=2), flush=True)
            return
        if title:
            out.print(f"[bold green]{escape(title)}[/bold green]")
        rows = data if isinstance(data, list) else [data]
        for row in rows:
            for key, value in row.items():
                out.print(f"  {key:<14} {escape(_text(value))}")
            if isinstance(data, list):
                out.print()

    def confirm(self, lines: dict[str, str], question: str = "Send?") -> None:
        """Show what is about to happen (stderr) and ask, unless ``--yes``.

        Without a terminal the answer is one line of stdin; none at all (stdin closed)
        is an error naming ``--yes``. Either way a refusal exits 10, nothing sent.
        """
        for key, value in lines.items():
            err.print(f"  [bold]{key:<9}[/bold] {escape(str(value))}")
        if self.yes:
            return
        if _interactive():
            try:
                agreed = typer.confirm(question, default=False, err=True)
            except typer.Abort:  # Ctrl-D or Ctrl-C at the prompt
                err.print()
                agreed = False
        else:
            answer = sys.stdin.readline() if sys.stdin is not None else ""
            if not answer:
                self.report(
                    "ConfirmationRequired",
                    "no terminal to confirm on (stdin is closed): pass --yes to go ahead "
                    "without asking; nothing was sent",
                    ExitCode.DECLINED,
                )
            agreed = answer.strip().lower() in ("y", "yes")
        if not agreed:
            if self.as_json:
                print(json.dumps({"declined": True, "exit_code": int(ExitCode.DECLINED)}))
            err.print("declined: nothing sent")
            raise typer.Exit(code=int(ExitCode.DECLINED))

    # -- configuration ----------------------------------------------------------------------

    def settings(self) -> Settings:
        """File < environment < flags."""
        if self._settings is None:
            from chainops.config import load_settings

            flags = {"network": self.network, "rpc_url": self.rpc_url}
            if self.venue is not Venue.EVM:
                flags = {}
            self._settings = load_settings(self.config, **flags)
        return self._settings

    def net(self) -> Network:
        """The EVM network the options name."""
        if self._net is None:
            from chainops.config import resolve_network

            self._net = resolve_network(self.settings())
        return self._net

    def journal_file(self, kind: str = "evm") -> Path | str:
        """``--journal``, else a ``postgresql://`` journal configured for EVM, else this
        venue's journal in the data folder."""
        from chainops.config.paths import journal_path
        from chainops.core.journal import is_database_url

        if self.journal is None and kind == "evm" and is_database_url(self.settings().journal):
            return str(self.settings().journal)
        path = self.journal or journal_path(kind)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from chainops.core.errors import ConfigurationError

            why = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
            raise ConfigurationError(
                f"cannot create the folder {path.parent} for the journal {path.name} ({why}): "
                "set CHAINOPS_HOME to a folder you can write, or pass --journal"
            ) from None
        return path

    def password(self, name: str, *, confirm: bool = False) -> str:
        """$CHAINOPS_WALLET_PASSWORD for scripts, else a prompt."""
        env = os.environ.get(PASSWORD_ENV)
        if env is not None:
            return env
        return prompt_secret(f"Password for wallet {name!r}", PASSWORD_ENV, confirm=confirm)

    def signer(self) -> LocalSigner:
        """``--wallet``, else $CHAINOPS_PRIVATE_KEY, else the config's wallet, else (on a
        local chain) development account 1."""
        from chainops.core.errors import ConfigurationError
        from chainops.operators.evm.signer import LocalSigner

        if self.wallet is None and os.environ.get(KEY_ENV):
            return LocalSigner.from_env(KEY_ENV)
        name = self.wallet or self.settings().wallet
        if name is None:
            if self.net().chain.is_local:
                return LocalSigner.from_key(dev_key(DEV_ACCOUNT))
            raise ConfigurationError(
                f"no account for {self.net().name}: pass --wallet NAME, set `wallet` in the "
                f"config file, or set {KEY_ENV} (create a wallet with `chainops wallet new NAME`)"
            )
        from chainops.wallets import WalletStore

        store = WalletStore()
        store.get(name)  # a missing wallet fails before any password prompt
        return LocalSigner.from_keystore(store.keystore(name), self.password(name))

    def describe(self, account: str) -> dict[str, str]:
        """The lines shown before anything is sent on an EVM network."""
        from chainops.config.networks import mask_url

        net = self.net()
        return {
            "network": f"{net.name} (chain {net.chain.chain_id})",
            "endpoint": mask_url(net.rpc_urls[0]),
            "account": account,
        }

    async def connect(
        self, signer: LocalSigner, *, journal: bool = True, **settings: Any
    ) -> EvmOperator:
        """A started EvmOperator on the network, journalling to the journal file (or, for
        reads with ``journal=False``, in memory)."""
        import dataclasses

        from chainops.core.errors import RpcError
        from chainops.operators.base import OperatorFactory

        net = self.net()
        # close_timeout 0: the CLI waits explicitly; on exit (or Ctrl-C) the journal keeps
        # what is in flight for `tx wait`, so closing never blocks on pending transactions
        options = net.operator_options() | {"rpc_retries": 1, "close_timeout": 0.0} | settings
        if not journal:  # nothing to keep: an in-memory journal, handed in so none is opened
            from chainops.core.journal import open_journal

            options["journal"] = open_journal(None)
        evm = OperatorFactory.create(
            net.chain.name,
            kind="evm",
            cache=False,
            signer=signer,
            journal_path=self.journal_file() if journal else None,
            **options,
        )
        if net.fee.min_tip_gwei is not None:
            tip = int(net.fee.min_tip_gwei * 10**9)
            evm.fees.policy = dataclasses.replace(evm.fees.policy, min_tip_wei=tip)
        try:
            await evm.start()
        except RpcError as exc:
            await evm.close()
            raise unreachable(net, exc) from None
        return evm


def unreachable(net: Network, exc: ChainopsError) -> ChainopsError:
    """An RpcError saying which endpoint failed and what to do, without the client's text."""
    from chainops.config.networks import mask_url

    urls = ", ".join(mask_url(u) for u in net.rpc_urls)
    text = str(exc)
    if "Connect" in text or "connect" in text:
        why = "connection refused"
    elif "imeout" in text:
        why = "no answer in time"
    else:
        why = text.split(";", 1)[0]
    if net.chain.is_local:
        hint = "start it with `chainops devnet up` (or pass --rpc-url to the node you run)"
    else:
        hint = f"check the URL in the config's [networks.{net.name}] or pass --rpc-url"
    return type(exc)(f"cannot reach network {net.name!r} at {urls} ({why}): {hint}")


# a Decimal's str() in scientific notation; never inside an identifier or a hex string
_SCIENTIFIC = re.compile(r"(?<![\w.])-?[0-9]+(\.[0-9]+)?E[-+][0-9]+(?![\w.])")
# ASCII digits only: \d would also admit digits of other scripts
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")


def parse_amount(text: str, what: str = "amount") -> Decimal:
    """A plain positive decimal ("1.5"): commas, exponents, signs and blanks are refused."""
    from chainops.core.errors import InvalidAmount

    value = text.strip()
    if value[:1] in ("-", "\u2212") and _PLAIN_DECIMAL.fullmatch(value[1:]):
        raise InvalidAmount(f"{what} must be positive, got {text!r}")
    if not _PLAIN_DECIMAL.fullmatch(value):
        raise InvalidAmount(
            f"{what} {text!r} is not a plain decimal number: use digits and one dot "
            "(no commas, exponents or signs), e.g. 1.5"
        )
    amount = Decimal(value)
    if amount <= 0:
        raise InvalidAmount(f"{what} must be positive, got {text!r}")
    return amount


def check_places(value: Decimal, places: int) -> None:
    """Refuse ``value`` when it has more fractional digits than the asset's ``places``
    (the conversion a send makes later, made early: before the summary is shown)."""
    from chainops.core.assets import to_raw

    to_raw(value, places)


def prompt_secret(label: str, env: str, *, confirm: bool = False) -> str:
    """A hidden prompt, or without a terminal one line of stdin; none is a
    ConfigurationError naming ``env``."""
    from chainops.core.errors import ConfigurationError

    missing = ConfigurationError(
        f"no {label[0].lower()}{label[1:]} given: type it at the prompt, or set {env}"
    )
    if not _interactive():
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line.rstrip("\r\n"):
            raise missing
        return line.rstrip("\r\n")
    try:
        value: str = typer.prompt(label, hide_input=True, confirmation_prompt=confirm, err=True)
    except typer.Abort:
        raise missing from None
    return value


def plain_numbers(text: str) -> str:
    """``text`` with every number in scientific notation (``1E-19``) written plainly."""
    return _SCIENTIFIC.sub(lambda m: decimal_text(Decimal(m.group(0))), text)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def dev_key(index: int) -> str:
    """Private key ``index`` of Anvil's public development mnemonic."""
    from eth_account import Account

    from chainops.devnet.anvil import DEFAULT_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return str(account.key.to_0x_hex())


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items())
    return str(value)


def command_line(*args: str) -> str:
    """How a user re-runs chainops with ``args`` (for resume hints)."""
    return " ".join(["chainops", *(shlex.quote(a) for a in args)])
