"""Binance error codes and messages, exactly as the venue words them."""

from __future__ import annotations

__all__ = ["ApiError", "filter_failure"]


class ApiError(Exception):
    """An error reply: HTTP status, Binance code and message."""

    def __init__(self, code: int, msg: str, status: int = 400, data: object = None) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.data = data  # cancelReplace puts both halves' outcomes here

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body


def internal() -> ApiError:
    return ApiError(-1001, "Internal error; unable to process your request. Please try again.", 503)


def too_many(limit: int) -> ApiError:
    return ApiError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        429,
    )


def too_many_orders(limit: int, per: str) -> ApiError:
    """-1015: an ORDERS (unfilled order count) limit; ``per`` is e.g. ``10 SECOND``."""
    return ApiError(-1015, f"Too many new orders; current limit is {limit} orders per {per}.", 429)


def banned(until_ms: int) -> ApiError:
    return ApiError(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        418,
    )


def filter_failure(name: str) -> ApiError:
    return ApiError(-1013, f"Filter failure: {name}")


def bad_timestamp() -> ApiError:
    return ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> ApiError:
    return ApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def unknown() -> ApiError:
    return ApiError(-1000, "An unknown error occurred while processing the request.", 500)


def unsupported(status: int = 400) -> ApiError:
    return ApiError(-1020, "This operation is not supported.", status)


def duplicate_param(name: str) -> ApiError:
    return ApiError(-1101, f"Duplicate values for parameter '{name}'.")


def invalid_param(name: str) -> ApiError:
    return ApiError(-1130, f"Data sent for parameter '{name}' is not valid.")


def bad_interval() -> ApiError:
    return ApiError(-1120, "Invalid interval.")


def bad_combo(message: str) -> ApiError:
    return ApiError(-1128, message)


def oco_type(name: str) -> ApiError:
    return ApiError(-1158, f"Order type not supported in OCO. ({name})")


def would_trigger() -> ApiError:
    return ApiError(-2010, "Stop price would trigger immediately.")


def bad_signature() -> ApiError:
    return ApiError(-1022, "Signature for this request is not valid.")


def bad_key_format() -> ApiError:
    return ApiError(-2014, "API-key format invalid.", 401)


def bad_key() -> ApiError:
    return ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def logon_key_type(key_type: str) -> ApiError:
    """``session.logon`` with a key other than Ed25519 (Binance's wording for HMAC keys)."""
    return ApiError(-4056, f"{key_type} API key is not supported.")


def mandatory(name: str) -> ApiError:
    return ApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def not_required(name: str) -> ApiError:
    return ApiError(-1106, f"Parameter '{name}' sent when not required.")


def illegal(name: str, legal: str = "^([0-9]{1,20})(\\.[0-9]{1,20})?$") -> ApiError:
    return ApiError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


_ENUM_CODES = {"timeInForce": -1115, "type": -1116, "orderType": -1116, "side": -1117}
_ENUM_NAMES = {"type": "orderType"}


def bad_enum(name: str) -> ApiError:
    """Binance's own code for side/type/timeInForce; -1130 for other enums."""
    code = _ENUM_CODES.get(name)
    if code is None:
        return invalid_param(name)
    return ApiError(code, f"Invalid {_ENUM_NAMES.get(name, name)}.")


def bad_symbol() -> ApiError:
    return ApiError(-1121, "Invalid symbol.")


def recv_window_too_big() -> ApiError:
    return ApiError(-1131, "recvWindow must be less than 60000.")


def insufficient_balance() -> ApiError:
    return ApiError(-2010, "Account has insufficient balance for requested action.")


def would_take() -> ApiError:
    return ApiError(-2010, "Order would immediately match and take.")


def duplicate_order() -> ApiError:
    return ApiError(-2010, "Duplicate order sent.")


def cancel_unknown() -> ApiError:
    return ApiError(-2011, "Unknown order sent.")


def no_such_order() -> ApiError:
    return ApiError(-2013, "Order does not exist.")
