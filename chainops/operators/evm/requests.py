"""What a caller asks the EVM operator to send: a validated, venue-ready request.

A request comes from a plain transfer, raw calldata, a web3.py contract function
(``token.functions.transfer(to, amount)``) or :class:`ContractHandle`, which
turns ABI mistakes (unknown function, wrong argument types) into typed errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from eth_utils.abi import function_abi_to_4byte_selector, get_abi_output_types

from chainops.core.assets import Asset
from chainops.core.attempt import FeeParams
from chainops.core.errors import ValidationError
from chainops.core.ids import EvmAddress
from chainops.core.priority import Priority
from chainops.operators.evm.abi_checks import bad_argument, check_abi, check_arity, functions_in

if TYPE_CHECKING:
    from web3 import Web3


@cache
def _encoder() -> Web3:
    """A provider-less Web3 for ABI encoding, built on first use: a plain transfer needs none."""
    from web3 import Web3

    return Web3()


@dataclass(frozen=True)
class TxRequest:
    """One transaction to send. ``value`` is in native units (ETH), never a float.

    Every fee and gas field is optional: left out, the operator estimates it.
    ``abi`` lets a revert's custom error be decoded by name.
    """

    to: EvmAddress | None
    value: Decimal = Decimal(0)
    data: bytes = b""
    gas_limit: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    gas_price: int | None = None
    priority: Priority = Priority.NORMAL
    abi: list[dict[str, Any]] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.value, float | bool) or not isinstance(self.value, Decimal | int):
            raise ValidationError(
                f"value must be a Decimal in native units, not {type(self.value).__name__}; "
                "floats are never used for money"
            )
        if self.to is not None:
            object.__setattr__(self, "to", EvmAddress(self.to))
        object.__setattr__(self, "value", Decimal(self.value))
        object.__setattr__(self, "data", _as_bytes(self.data))
        for name in ("gas_limit", "max_fee_per_gas", "max_priority_fee_per_gas", "gas_price"):
            got = getattr(self, name)
            if got is not None and (not isinstance(got, int) or isinstance(got, bool) or got < 0):
                raise ValidationError(f"{name} must be a non-negative int (wei/gas), got {got!r}")
        if self.gas_limit is not None and self.gas_limit < 21_000:
            raise ValidationError(f"gas limit {self.gas_limit} is below the 21000 intrinsic gas")
        if self.gas_price is not None and self.max_fee_per_gas is not None:
            raise ValidationError("give gas_price (legacy) or EIP-1559 fees, not both")
        object.__setattr__(self, "priority", check_priority(self.priority))


REQUEST_FIELDS = tuple(f.name for f in dataclass_fields(TxRequest))
# what a contract call sets itself
_OVERRIDES = tuple(name for name in REQUEST_FIELDS if name not in ("to", "data", "abi"))


def check_priority(value: object) -> Priority:
    """A :class:`Priority` from itself or its name (any case); ValidationError otherwise."""
    if not isinstance(value, str):  # a Priority is a str too
        choices = ", ".join(p.value for p in Priority)
        raise ValidationError(f"priority must be one of {choices}, got {value!r}")
    return Priority.parse(value, "priority")


def check_fields(given: Any, allowed: tuple[str, ...]) -> None:
    """Refuse keyword fields a request does not have, naming them and the accepted ones."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValidationError(
            f"unknown request field(s) {', '.join(unknown)}; accepted: {', '.join(allowed)}"
        )


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        text = data[2:] if data.startswith(("0x", "0X")) else data
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValidationError("data is not valid hex") from None
    raise ValidationError(f"data must be bytes or hex, not {type(data).__name__}")


def from_contract_function(function: Any, **overrides: Any) -> TxRequest:
    """A request from a bound web3.py contract function (``contract.functions.f(...)``)."""
    from web3.exceptions import Web3Exception  # a caller holding a web3 function has web3 loaded

    check_fields(overrides, _OVERRIDES)
    try:
        data = function._encode_transaction_data()
    except Web3Exception as exc:
        raise ValidationError(f"cannot encode {function.fn_name}: {exc}") from None
    return TxRequest(to=function.address, data=data, abi=list(function.contract_abi), **overrides)


class ContractHandle:
    """A contract by address and ABI: builds requests and encodes calls, with typed errors."""

    def __init__(self, address: str, abi: list[dict[str, Any]]) -> None:
        self.address = EvmAddress(address)
        self.abi = check_abi(str(self.address), abi)
        try:
            self._contract = _encoder().eth.contract(address=self.address, abi=abi)  # type: ignore[call-overload]
        except Exception as exc:  # web3 refuses a malformed ABI with assorted types
            raise ValidationError(f"invalid ABI for {self.address}: {_first_line(exc)}") from None
        self._functions = {e["name"] for e in functions_in(abi)}

    def encode(self, function: str, *args: Any) -> bytes:
        """Calldata for ``function(*args)``; unknown names or bad arguments are ValidationError."""
        if function not in self._functions:
            known = ", ".join(sorted(self._functions))
            raise ValidationError(f"{self.address} has no function {function!r} (has: {known})")
        check_arity(self.abi, function, args)
        try:
            encoded: str = self._contract.encode_abi(function, list(args))
        except Exception as exc:  # web3 raises assorted types (even AttributeError) for bad args
            why = bad_argument(self.abi, function, args, _encoder().codec.is_encodable)
            raise ValidationError(
                f"bad arguments for {function}{tuple(args)!r}: {why or _first_line(exc)}"
            ) from None
        return bytes.fromhex(encoded[2:])

    def request(self, function: str, *args: Any, **overrides: Any) -> TxRequest:
        """A transaction request calling ``function(*args)``."""
        check_fields(overrides, _OVERRIDES)
        return TxRequest(
            to=self.address, data=self.encode(function, *args), abi=self.abi, **overrides
        )

    def decode_result(self, function: str, data: bytes) -> Any:
        """Decode the return data of ``function`` (one value unwrapped, several as a tuple)."""
        fn = self._contract.get_function_by_name(function)
        # get_abi_output_types spells structs as "(uint256,address)", which eth_abi decodes
        values = _encoder().codec.decode(get_abi_output_types(fn.abi), data)
        return values[0] if len(values) == 1 else tuple(values)

    def selector(self, function: str) -> bytes:
        for entry in self.abi:
            if entry.get("type") == "function" and entry.get("name") == function:
                return function_abi_to_4byte_selector(entry)  # type: ignore[arg-type]
        raise ValidationError(f"{self.address} has no function {function!r}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def build_request(request: TxRequest | Any = None, **fields: Any) -> TxRequest:
    """A TxRequest from whatever ``send`` was given: a request, a contract function, fields."""
    if isinstance(request, TxRequest):
        if fields:
            raise ValidationError("pass a TxRequest or keyword fields, not both")
        return request
    if request is None:
        if "to" not in fields:
            raise ValidationError("send needs a request or at least `to=`")
        check_fields(fields, REQUEST_FIELDS)
        return TxRequest(**fields)
    if hasattr(request, "_encode_transaction_data"):
        return from_contract_function(request, **fields)
    raise ValidationError(f"cannot send a {type(request).__name__}")


def call_object(sender: str, native: Asset, req: TxRequest) -> dict[str, Any]:
    """The JSON-RPC call object for ``eth_call`` / ``eth_estimateGas``."""
    obj: dict[str, Any] = {"from": sender, "value": hex(native.to_raw(req.value))}
    if req.to is not None:
        obj["to"] = str(req.to)
    if req.data:
        obj["data"] = "0x" + req.data.hex()
    if req.gas_limit is not None:
        obj["gas"] = hex(req.gas_limit)
    return obj


def tx_fields(
    chain_id: int, req: TxRequest, wei: int, gas: int, nonce: int, fees: FeeParams
) -> dict[str, Any]:
    """The transaction dict the signer takes (type 2, or legacy with ``gasPrice``)."""
    tx: dict[str, Any] = {
        "chainId": chain_id,
        "nonce": nonce,
        "gas": gas,
        "value": wei,
        "data": req.data,
        "to": bytes(req.to.to_bytes()) if req.to is not None else b"",
    }
    if fees.is_eip1559:
        tx.update(
            type=2,
            maxFeePerGas=fees.max_fee_per_gas,
            maxPriorityFeePerGas=fees.max_priority_fee_per_gas,
        )
    else:
        tx["gasPrice"] = fees.gas_price
    return tx
