"""The simulator's signature checks for HMAC, RSA and Ed25519 API keys, and every way to fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from chainops.devnet.exchange import auth, errors
from chainops.devnet.exchange.accounts import Account, new_account
from chainops.devnet.exchange.sessions import Session

NOW = 1_700_000_000_000
KINDS = ("hmac", "rsa", "ed25519")


def _raw_signature(account: Account, payload: str) -> bytes | str:
    """The signature a client makes: hex HMAC, or the raw bytes of an RSA/Ed25519 one."""
    if account.key_type == "HMAC_SHA256":
        return hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    key = serialization.load_pem_private_key(account.private_key.encode(), None)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign(payload.encode())


def _text(signature: bytes | str) -> str:
    return signature if isinstance(signature, str) else base64.b64encode(signature).decode()


def rest_check(account: Account, query: str, signature: str, *, key: str | None = None) -> Account:
    """``verify`` of a REST query with ``signature`` appended as sent."""
    payload = f"{query}&signature={signature}"
    params = dict(parse_qsl(payload))
    return auth.verify({account.api_key: account}, key or account.api_key, payload, params, NOW)


def ws_check(account: Account, params: dict[str, str], signature: str) -> Account:
    """``verify`` of WebSocket API params (sorted, not URL-encoded) and a JSON signature."""
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    payload += f"&signature={signature}"
    return auth.verify(
        {account.api_key: account}, account.api_key, payload, params, NOW, encoded=False
    )


def query() -> str:
    return urlencode({"symbol": "ETHUSDT", "side": "BUY", "price": "1999.5", "timestamp": NOW})


def signed_query_signature(account: Account, payload: str) -> str:
    """The signature as a client appends it to a query string (base64 URL-encoded)."""
    return quote(_text(_raw_signature(account, payload)), safe="")


@pytest.fixture(scope="module", params=KINDS)
def account(request: pytest.FixtureRequest) -> Account:
    return new_account(f"key-{request.param}", request.param)


@pytest.fixture(scope="module")
def accounts() -> dict[str, Account]:
    return {kind: new_account(f"key-{kind}", kind) for kind in KINDS}


def test_each_key_type_verifies_rest_and_websocket_requests(account: Account) -> None:
    q = query()
    assert rest_check(account, q, signed_query_signature(account, q)) is account
    params = {"apiKey": account.api_key, "symbol": "ETHUSDT", "timestamp": str(NOW)}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    assert ws_check(account, params, _text(_raw_signature(account, payload))) is account


def test_generated_accounts_keep_the_public_key_and_hand_out_the_private_one(
    accounts: dict[str, Account],
) -> None:
    hmac_account, rsa_account, ed_account = (accounts[k] for k in KINDS)
    assert (hmac_account.key_type, hmac_account.public_key, hmac_account.private_key) == (
        "HMAC_SHA256",
        "",
        "",
    )
    for asymmetric in (rsa_account, ed_account):
        assert asymmetric.secret == ""
        assert asymmetric.public_key.startswith("-----BEGIN PUBLIC KEY-----")
        assert asymmetric.private_key.startswith("-----BEGIN PRIVATE KEY-----")
        assert asymmetric.private_key not in repr(asymmetric)
    assert (rsa_account.key_type, ed_account.key_type) == ("RSA", "ED25519")


def test_a_registered_public_key_verifies_its_owners_signatures() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    account = new_account("mine", "ED25519", public_key=public.decode())
    assert account.private_key == ""
    q = query()
    signature = quote(base64.b64encode(private.sign(q.encode())).decode(), safe="")
    assert rest_check(account, q, signature) is account


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        ("dsa", {}, "key_type must be one of"),
        ("hmac", {"public_key": "x"}, "takes a secret"),
        ("ed25519", {"secret": "s"}, "takes a public key"),
        ("ed25519", {"public_key": "not a pem"}, "not a PEM public key"),
        ("rsa", {"public_key": "ED25519"}, "not an RSA key"),
    ],
)
def test_bad_account_options_are_refused(kind: str, options: dict[str, str], match: str) -> None:
    if options.get("public_key") == "ED25519":
        private = ed25519.Ed25519PrivateKey.generate()
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        options = {"public_key": pem.decode()}
    with pytest.raises(ValueError, match=match):
        new_account("k", kind, **options)


def test_hmac_signatures_are_read_in_either_case(accounts: dict[str, Account]) -> None:
    account, q = accounts["hmac"], query()
    upper = str(_raw_signature(account, q)).upper()
    assert rest_check(account, q, upper) is account


def _flip(signature: str) -> str:
    """Another first character, in hex and base64 alike (HMAC hex is read in either case)."""
    return ("1" if signature[0] == "0" else "0") + signature[1:]


def _rsa_variant(
    account: Account, payload: str, pad: padding.AsymmetricPadding, digest: hashes.HashAlgorithm
) -> str:
    """An RSA signature made another way than Binance's PKCS#1 v1.5 with SHA-256."""
    key = serialization.load_pem_private_key(account.private_key.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return quote(base64.b64encode(key.sign(payload.encode(), pad, digest)).decode(), safe="")


PSS = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH)


# each: (key types it applies to, the wrong signature made from the account and payload)
WRONG: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Account], str, str], str]]] = {
    "another key of the same type": (
        KINDS,
        lambda acc, kind, q: signed_query_signature(new_account("other", kind), q),
    ),
    "a different payload": (
        KINDS,
        lambda acc, kind, q: signed_query_signature(acc[kind], q + "0"),
    ),
    "one character changed": (
        KINDS,
        lambda acc, kind, q: _flip(signed_query_signature(acc[kind], q)),
    ),
    "truncated": (KINDS, lambda acc, kind, q: signed_query_signature(acc[kind], q)[:-8]),
    "empty": (KINDS, lambda acc, kind, q: ""),
    "not base64": (("rsa", "ed25519"), lambda acc, kind, q: "%21%21not-base64%21%21"),
    "a hex HMAC where base64 is due": (
        ("rsa", "ed25519"),
        lambda acc, kind, q: signed_query_signature(acc["hmac"], q),
    ),
    "base64 where a hex HMAC is due": (
        ("hmac",),
        lambda acc, kind, q: signed_query_signature(acc["ed25519"], q),
    ),
    "the other asymmetric type's key": (
        ("rsa", "ed25519"),
        lambda acc, kind, q: signed_query_signature(acc["ed25519" if kind == "rsa" else "rsa"], q),
    ),
    "RSA-PSS instead of PKCS#1 v1.5": (
        ("rsa",),
        lambda acc, kind, q: _rsa_variant(acc["rsa"], q, PSS, hashes.SHA256()),
    ),
    "RSA over SHA-1": (
        ("rsa",),
        lambda acc, kind, q: _rsa_variant(acc["rsa"], q, padding.PKCS1v15(), hashes.SHA1()),
    ),
}
CASES = [(kind, name) for name, (kinds, _) in WRONG.items() for kind in kinds]


@pytest.mark.parametrize(("kind", "wrong"), CASES, ids=[f"{k}-{w}" for k, w in CASES])
def test_every_wrong_signature_is_1022(accounts: dict[str, Account], kind: str, wrong: str) -> None:
    q = query()
    signature = WRONG[wrong][1](accounts, kind, q)
    with pytest.raises(errors.ApiError) as refused:
        rest_check(accounts[kind], q, signature)
    assert (refused.value.code, refused.value.msg, refused.value.status) == (
        -1022,
        "Signature for this request is not valid.",
        400,
    )


def _with_plus(account: Account) -> tuple[str, str]:
    """A query whose base64 signature holds a ``+`` (the timestamp varies until one does)."""
    for step in range(500):
        q = urlencode({"symbol": "ETHUSDT", "timestamp": NOW - step})
        text = _text(_raw_signature(account, q))
        if "+" in text:
            return q, text
    raise AssertionError("no signature with a '+' in 500 tries")


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_base64_must_be_url_encoded_in_a_query_but_not_in_json(
    accounts: dict[str, Account], kind: str
) -> None:
    account = accounts[kind]
    q, text = _with_plus(account)
    with pytest.raises(errors.ApiError, match="-1022"):
        rest_check(account, q, text)  # the "+" reads as a space, as on Binance
    assert rest_check(account, q, quote(text, safe="")) is account
    params = dict(parse_qsl(q)) | {"apiKey": account.api_key}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    assert ws_check(account, params, _text(_raw_signature(account, payload))) is account


@pytest.mark.parametrize("kind", KINDS)
def test_key_and_timestamp_errors_come_with_any_key_type(
    accounts: dict[str, Account], kind: str
) -> None:
    account, q = accounts[kind], query()
    good = signed_query_signature(account, q)
    with pytest.raises(errors.ApiError, match="-2015"):
        rest_check(account, q, good, key="unknown")
    with pytest.raises(errors.ApiError, match="-1102"):  # no signature at all
        auth.verify({account.api_key: account}, account.api_key, q, dict(parse_qsl(q)), NOW)
    late = urlencode({"symbol": "ETHUSDT", "timestamp": NOW - 60_000})
    with pytest.raises(errors.ApiError, match="-1021"):
        rest_check(account, late, signed_query_signature(account, late))


def test_an_account_with_a_broken_public_key_verifies_nothing() -> None:
    account = Account("k", "", key_type="ED25519", public_key="garbage")
    q = query()
    with pytest.raises(errors.ApiError, match="-1022"):
        rest_check(account, q, "AAAA")


@pytest.mark.parametrize(("kind", "name"), [("hmac", "HMAC_SHA256"), ("rsa", "RSA")])
def test_only_ed25519_keys_may_log_a_session_on(
    accounts: dict[str, Account], kind: str, name: str
) -> None:
    session = Session(connected_since=NOW)
    with pytest.raises(errors.ApiError) as refused:
        session.logon(accounts[kind], NOW)
    assert (refused.value.code, refused.value.msg) == (-4056, f"{name} API key is not supported.")
    assert session.api_key is None
    session.logon(accounts["ed25519"], NOW + 5)
    status = session.status(NOW + 9, rate_limits=False, user_stream=False)
    assert status == {
        "apiKey": "key-ed25519",
        "authorizedSince": NOW + 5,
        "connectedSince": NOW,
        "returnRateLimits": False,
        "serverTime": NOW + 9,
        "userDataStream": False,
    }
    session.logout()
    assert session.status(NOW, rate_limits=True, user_stream=True)["apiKey"] is None
