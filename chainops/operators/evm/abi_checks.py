"""ABI mistakes as typed errors: a malformed ABI, a wrong argument count, a value that
does not fit its ABI type (named by index, name and type)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eth_utils.abi import get_abi_input_types

from chainops.core.errors import ValidationError

ABI = list[dict[str, Any]]
Fits = Callable[[str, Any], bool]


def check_abi(address: str, abi: object) -> ABI:
    """``abi`` if it is a list of ABI entries (dicts) whose functions have names."""
    if not isinstance(abi, list) or not all(isinstance(entry, dict) for entry in abi):
        raise ValidationError(
            f"the ABI of {address} must be a list of ABI entries (dicts), got {type(abi).__name__}"
        )
    for index, entry in enumerate(abi):
        if functions_in([entry]) and not isinstance(entry.get("name"), str):
            raise ValidationError(
                f"ABI entry {index} of {address} is not a named function: {entry!r}"
            )
    return abi


def functions_in(abi: ABI) -> list[dict[str, Any]]:
    return [e for e in abi if e.get("type", "function") == "function"]


def functions_named(abi: ABI, name: str) -> list[dict[str, Any]]:
    return [e for e in functions_in(abi) if e.get("name") == name]


def signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(get_abi_input_types(entry))})"  # type: ignore[arg-type]


def check_arity(abi: ABI, name: str, args: Sequence[Any]) -> None:
    """A ValidationError unless some overload of ``name`` takes ``len(args)`` arguments."""
    entries = functions_named(abi, name)
    if any(len(e.get("inputs") or ()) == len(args) for e in entries):
        return
    expected = " or ".join(f"{len(e.get('inputs') or ())} ({signature(e)})" for e in entries)
    raise ValidationError(
        f"wrong number of arguments for {name}: expected {expected}, got {len(args)}"
    )


def bad_argument(abi: ABI, name: str, args: Sequence[Any], fits: Fits) -> str | None:
    """Which argument does not fit its ABI type (``fits(type, value) -> bool``), if one can
    be told: only when one overload takes this many arguments."""
    entries = [e for e in functions_named(abi, name) if len(e.get("inputs") or ()) == len(args)]
    if len(entries) != 1:
        return None
    entry = entries[0]
    types = get_abi_input_types(entry)  # type: ignore[arg-type]
    for index, (spec, abi_type, value) in enumerate(
        zip(entry.get("inputs") or (), types, args, strict=True)
    ):
        if not _fits(fits, abi_type, value):
            label = f"{index} ({spec['name']})" if spec.get("name") else str(index)
            return f"argument {label} of {signature(entry)} is not a valid {abi_type}: {value!r}"
    return None


def _fits(fits: Fits, abi_type: str, value: Any) -> bool:
    try:
        return bool(fits(abi_type, value))
    except Exception:  # the codec's validators raise assorted types for foreign values
        return False
