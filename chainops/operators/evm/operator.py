"""EvmOperator: build, sign, journal, broadcast and track transactions on an EVM chain.

This first version is deliberately sequential: one nonce counter per operator
under an asyncio lock, fees from the latest block, and receipts polled per
transaction. It keeps the exactly-once order (sign -> journal -> broadcast)
that the full pipeline builds on; the concurrent nonce allocator, fee history,
batched block monitor, speed-up/cancel and restore come next.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from eth_typing import ChecksumAddress
from pydantic import Field
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import TransactionNotFound

from chainops.core.assets import Fee, native_asset
from chainops.core.errors import (
    ConfigurationError,
    InsufficientFunds,
    Rejected,
    RpcTransientError,
    UnknownOutcome,
    ValidationError,
)
from chainops.core.events import EventBus
from chainops.core.ids import ClientIdGenerator, EvmAddress, TxHash
from chainops.core.journal import Journal, SqliteJournal
from chainops.core.platforms import ChainPlatform
from chainops.core.transactions import (
    FeeParams,
    Transaction,
    TxAttempt,
    TxReceipt,
    TxState,
    TxUpdate,
)
from chainops.operators.base import Operator, OperatorConfiguration, OperatorFactory
from chainops.operators.evm.signer import LocalSigner

# Gas estimates are exact for the state they ran on; 20 % covers state that moves
# between estimate and inclusion (storage slots warmed or cleared by other txs).
GAS_HEADROOM = Decimal("1.2")


def _checksum(address: str) -> ChecksumAddress:
    return ChecksumAddress(EvmAddress(address))  # type: ignore[arg-type]


class EvmConfiguration(OperatorConfiguration):
    """Settings of an EVM operator."""

    # 1 gwei: Anvil and most L1s accept it; per-call overrides exist for busy chains.
    default_tip_wei: int = Field(default=10**9, ge=0)
    receipt_poll_seconds: float = Field(default=0.05, gt=0)


@OperatorFactory.register("chain:EVM")
class EvmOperator(Operator):
    """The BlockchainOperator for EVM chains."""

    config: EvmConfiguration

    def __init__(
        self,
        config: EvmConfiguration,
        signer: LocalSigner,
        journal: Journal | None = None,
        events: EventBus | None = None,
    ) -> None:
        super().__init__(config, events)
        if not isinstance(self.platform, ChainPlatform) or not self.platform.is_evm:
            raise ConfigurationError(f"{self.platform.name} is not an EVM chain")
        if not config.endpoints:
            raise ConfigurationError("an EVM operator needs at least one RPC endpoint")
        self.chain: ChainPlatform = self.platform
        self.signer = signer
        self.native = native_asset(self.chain)
        path = config.journal_path
        self.journal: Journal = journal or SqliteJournal(path if path else ":memory:")
        self.ids = ClientIdGenerator(prefix="tx")
        self._w3: AsyncWeb3[Any] | None = None
        self._nonce_lock = asyncio.Lock()
        self._next_nonce: int | None = None

    @classmethod
    def from_options(
        cls,
        platform: str | int,
        *,
        rpc_url: str | None = None,
        private_key: str | None = None,
        signer: LocalSigner | None = None,
        journal: Journal | None = None,
        events: EventBus | None = None,
        **settings: Any,
    ) -> EvmOperator:
        if signer is None:
            signer = LocalSigner.from_key(private_key) if private_key else LocalSigner.from_env()
        endpoints = tuple(settings.pop("endpoints", ())) or ((rpc_url,) if rpc_url else ())
        config = EvmConfiguration(platform=platform, endpoints=endpoints, **settings)
        return cls(config, signer, journal, events)

    @property
    def owner(self) -> str:
        return str(self.signer.address)

    @property
    def w3(self) -> AsyncWeb3[Any]:
        if self._w3 is None:
            raise ConfigurationError(f"{self!r} is not started; use `async with`")
        return self._w3

    async def _start(self) -> None:
        provider = AsyncHTTPProvider(
            self.config.endpoints[0], request_kwargs={"timeout": self.config.request_timeout}
        )
        self._w3 = AsyncWeb3(provider)
        chain_id = await self._w3.eth.chain_id
        if chain_id != self.chain.chain_id:
            await self._close()
            raise ConfigurationError(
                f"node at {self.config.endpoints[0]} is chain {chain_id}, "
                f"but this operator is for {self.chain.name} ({self.chain.chain_id})"
            )

    async def _close(self) -> None:
        if self._w3 is not None:
            await self._w3.provider.disconnect()
            self._w3 = None

    # -- reads -----------------------------------------------------------------------------

    async def balance(self, address: str | None = None) -> Decimal:
        """Native balance of ``address`` (default: this operator's account)."""
        who = EvmAddress(address or self.owner)
        return self.native.from_raw(await self.w3.eth.get_balance(_checksum(who)))

    async def nonce(self) -> int:
        """The next nonce the chain expects from this account (pending block)."""
        return int(await self.w3.eth.get_transaction_count(_checksum(self.owner), "pending"))

    # -- sending ---------------------------------------------------------------------------

    async def send(
        self,
        to: str,
        *,
        value: Decimal = Decimal(0),
        data: bytes | str = b"",
        gas_limit: int | None = None,
    ) -> Transaction:
        """Sign, journal and broadcast a transaction; returns its handle at once."""
        if self.closed:
            raise ConfigurationError(f"{self!r} is closed: it accepts no new sends")
        if isinstance(value, float):
            raise ValidationError("value must be a Decimal in native units, never a float")
        target = EvmAddress(to)
        wei = self.native.to_raw(value)
        calldata = (
            bytes.fromhex(data[2:] if data.startswith("0x") else data)
            if isinstance(data, str)
            else bytes(data)
        )
        request: dict[str, Any] = {
            "from": EvmAddress(self.owner),
            "to": target,
            "value": wei,
            "data": calldata,
            "chainId": self.chain.chain_id,
        }
        if gas_limit is None:
            estimate = await self._estimate(request)
            gas_limit = int(Decimal(estimate) * GAS_HEADROOM)
        fees = await self._fees()
        await self._check_funds(wei, gas_limit, fees)
        async with self._nonce_lock:
            nonce = await self._reserve_nonce()
            tx = Transaction(
                client_id=self.ids.next(),
                platform=self.chain.name,
                sender=self.owner,
                to=target,
                value=wei,
                data=calldata,
                gas_limit=gas_limit,
                nonce=nonce,
                fee_params=fees,
            )
            self.events.track(tx)
            signed = self.signer.sign(
                {
                    **request,
                    "nonce": nonce,
                    "gas": gas_limit,
                    "type": 2,
                    "maxFeePerGas": fees.max_fee_per_gas,
                    "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                }
            )
            tx.add_attempt(
                TxAttempt(index=0, hash=signed.hash, raw=signed.raw, nonce=nonce, fee=fees)
            )
            # Journal before the network hears of it: after a crash we re-send these bytes.
            self.journal.save(tx)
            try:
                await self.w3.eth.send_raw_transaction(signed.raw)
            except (TimeoutError, OSError) as exc:
                # Outcome unknown: the bytes may have reached the node. Keep the nonce used.
                self._next_nonce = nonce + 1
                raise UnknownOutcome(f"broadcast of {signed.hash} timed out: {exc}") from exc
            except Exception as exc:
                tx.apply(TxUpdate(state=TxState.REJECTED, error=Rejected(str(exc))))
                self.journal.save(tx)
                raise Rejected(f"node refused {signed.hash}: {exc}") from exc
            self._next_nonce = nonce + 1
            tx.mark_broadcast(0)
            self.journal.save(tx)
        return tx

    async def wait(self, tx: Transaction, *, timeout: float = 60.0) -> Transaction:
        """Wait for the receipt; the transaction ends CONFIRMED or REVERTED."""
        deadline = time.monotonic() + timeout
        while tx.state not in (TxState.CONFIRMED, TxState.FINALIZED, TxState.REVERTED):
            try:
                receipt = await self.w3.eth.get_transaction_receipt(tx.hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    raise RpcTransientError(
                        f"no receipt for {tx.hash} after {timeout}s; still pending, not failed"
                    ) from None
                await asyncio.sleep(self.config.receipt_poll_seconds)
                continue
            status = int(receipt["status"])
            gas_used, price = int(receipt["gasUsed"]), int(receipt["effectiveGasPrice"])
            tx.apply(
                TxUpdate(
                    state=TxState.CONFIRMED if status == 1 else TxState.REVERTED,
                    receipt=TxReceipt(
                        transaction_hash=TxHash(receipt["transactionHash"].to_0x_hex()),
                        block_number=int(receipt["blockNumber"]),
                        block_hash=receipt["blockHash"].to_0x_hex(),
                        transaction_index=int(receipt["transactionIndex"]),
                        status=status,
                        gas_used=gas_used,
                        effective_gas_price=price,
                    ),
                    confirmations=1,
                    fee=Fee.from_raw(self.native, gas_used * price),
                )
            )
            self.journal.save(tx)
        return tx

    async def send_and_wait(self, to: str, **kwargs: Any) -> Transaction:
        return await self.wait(await self.send(to, **kwargs))

    # -- parts -----------------------------------------------------------------------------

    async def _reserve_nonce(self) -> int:
        chain = await self.nonce()
        # Never move backwards: a lagging node may report an older count than we used.
        nonce = chain if self._next_nonce is None else max(chain, self._next_nonce)
        return nonce

    async def _estimate(self, request: dict[str, Any]) -> int:
        try:
            return int(await self.w3.eth.estimate_gas(request))  # type: ignore[arg-type]
        except Exception as exc:
            message = str(exc)
            if "insufficient funds" in message.lower():
                raise InsufficientFunds(message) from exc
            raise Rejected(f"the call would fail: {message}") from exc

    async def _fees(self) -> FeeParams:
        block = await self.w3.eth.get_block("latest")
        base = int(block.get("baseFeePerGas", 0))
        tip = self.config.default_tip_wei
        # 2 x base fee survives six consecutive full blocks (+12.5 % each) before stalling.
        return FeeParams(max_fee_per_gas=2 * base + tip, max_priority_fee_per_gas=tip)

    async def _check_funds(self, wei: int, gas_limit: int, fees: FeeParams) -> None:
        assert fees.max_fee_per_gas is not None
        need = wei + gas_limit * fees.max_fee_per_gas
        have = await self.w3.eth.get_balance(_checksum(self.owner))
        if have < need:
            raise InsufficientFunds(
                f"{self.owner} has {self.native.from_raw(have)} {self.native.symbol}, "
                f"needs up to {self.native.from_raw(need)} (value + gas)"
            )
