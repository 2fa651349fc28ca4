from __future__ import annotations

import asyncio
import itertools
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.errors import InvalidIdentifier, ValidationError
from chainops.core.ids import (
    ClientId,
    ClientIdGenerator,
    EvmAddress,
    SolanaPubkey,
    SolanaSignature,
    TradingPair,
    TxHash,
    VenueId,
    b58decode,
    b58encode,
    parse_account,
    parse_tx_id,
)

# EIP-55 test vectors from the EIP itself
CHECKSUMMED = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


class TestClientId:
    def test_valid(self) -> None:
        assert ClientId("abc-DEF_123") == "abc-DEF_123"
        assert isinstance(ClientId("x"), str)
        assert ClientId("x" * 36) == "x" * 36

    @pytest.mark.parametrize("bad", ["", "x" * 37, "has space", "semi;colon", "ü", "a.b"])
    def test_invalid(self, bad: str) -> None:
        with pytest.raises(InvalidIdentifier, match="client id"):
            ClientId(bad)

    def test_not_a_string(self) -> None:
        with pytest.raises(InvalidIdentifier, match="expected a string"):
            ClientId(123)

    def test_is_a_validation_error(self) -> None:
        with pytest.raises(ValidationError):
            ClientId("")
        with pytest.raises(ValueError):
            ClientId("")

    def test_repr_and_identity(self) -> None:
        cid = ClientId("abc")
        assert repr(cid) == "ClientId('abc')"
        assert ClientId(cid) is cid
        assert {cid: 1}["abc"] == 1


class TestVenueId:
    def test_int_is_converted(self) -> None:
        assert VenueId(12345) == "12345"

    def test_bool_rejected(self) -> None:
        with pytest.raises(InvalidIdentifier):
            VenueId(True)

    @pytest.mark.parametrize("bad", ["", "a b", "x" * 129, "tab\t", "nl\n"])
    def test_invalid(self, bad: str) -> None:
        with pytest.raises(InvalidIdentifier, match="venue id"):
            VenueId(bad)

    def test_hash_like(self) -> None:
        assert VenueId("0x" + "ab" * 32) == "0x" + "ab" * 32


class TestEvmAddress:
    @pytest.mark.parametrize("addr", CHECKSUMMED)
    def test_checksum_vectors(self, addr: str) -> None:
        assert EvmAddress(addr) == addr
        assert EvmAddress(addr.lower()) == addr
        assert EvmAddress("0x" + addr[2:].upper()) == addr

    def test_wrong_checksum(self) -> None:
        addr = CHECKSUMMED[0]
        flipped = addr[:3] + addr[3].swapcase() + addr[4:]
        assert flipped != addr and flipped.lower() != flipped
        with pytest.raises(InvalidIdentifier, match="checksum"):
            EvmAddress(flipped)

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            "0x",
            "0x1234",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x" + "g" * 40,
            "0x" + "a" * 41,
            "0x" + "a" * 64,
        ],
    )
    def test_malformed(self, bad: str) -> None:
        with pytest.raises(InvalidIdentifier, match="EVM address"):
            EvmAddress(bad)

    def test_bytes(self) -> None:
        raw = bytes.fromhex(CHECKSUMMED[1][2:])
        assert EvmAddress(raw) == CHECKSUMMED[1]
        assert EvmAddress(raw).to_bytes() == raw
        with pytest.raises(InvalidIdentifier, match="20 bytes"):
            EvmAddress(b"\x00" * 19)

    def test_upper_0x(self) -> None:
        assert EvmAddress("0X" + CHECKSUMMED[0][2:].lower()) == CHECKSUMMED[0]

    @given(st.binary(min_size=20, max_size=20))
    def test_any_bytes_round_trip(self, raw: bytes) -> None:
        addr = EvmAddress(raw)
        assert EvmAddress(str(addr).lower()) == addr
        assert EvmAddress(str(addr)) == addr
        assert addr.to_bytes() == raw


class TestTxHash:
    def test_normalised_lower(self) -> None:
        h = "0x" + "AB" * 32
        assert TxHash(h) == "0x" + "ab" * 32

    def test_bytes(self) -> None:
        assert TxHash(b"\x01" * 32) == "0x" + "01" * 32
        assert TxHash(b"\x01" * 32).to_bytes() == b"\x01" * 32

    @pytest.mark.parametrize("bad", ["0x" + "a" * 63, "0x" + "a" * 65, "a" * 66, "0x" + "z" * 64])
    def test_invalid(self, bad: str) -> None:
        with pytest.raises(InvalidIdentifier, match="transaction hash"):
            TxHash(bad)


class TestBase58:
    @given(st.binary(max_size=80))
    def test_round_trip(self, data: bytes) -> None:
        assert b58decode(b58encode(data)) == data

    def test_known_vector(self) -> None:
        assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
        assert b58encode(b"\0\0\x01") == "112"

    def test_bad_char(self) -> None:
        with pytest.raises(InvalidIdentifier, match="base58"):
            b58decode("0OIl")


class TestSolana:
    SYSTEM_PROGRAM = "11111111111111111111111111111111"

    def test_pubkey(self) -> None:
        assert SolanaPubkey(self.SYSTEM_PROGRAM) == self.SYSTEM_PROGRAM
        assert SolanaPubkey(self.SYSTEM_PROGRAM).to_bytes() == b"\0" * 32
        assert SolanaPubkey(b"\x07" * 32).to_bytes() == b"\x07" * 32

    def test_pubkey_wrong_length(self) -> None:
        with pytest.raises(InvalidIdentifier, match="32"):
            SolanaPubkey("1" * 31)
        with pytest.raises(InvalidIdentifier, match="32"):
            SolanaPubkey(b58encode(b"\x05" * 33))

    def test_pubkey_bad_char(self) -> None:
        with pytest.raises(InvalidIdentifier, match="base58"):
            SolanaPubkey("0" * 44)

    def test_matches_solders(self) -> None:
        solders = pytest.importorskip("solders.keypair")
        pub = solders.Keypair().pubkey()
        assert SolanaPubkey(str(pub)) == str(pub)
        assert SolanaPubkey(pub) == str(pub)
        assert SolanaPubkey(str(pub)).to_bytes() == bytes(pub)
        assert SolanaPubkey(str(pub)).to_solders() == pub

    def test_signature(self) -> None:
        sig = b58encode(bytes(range(64)))
        assert SolanaSignature(sig) == sig
        with pytest.raises(InvalidIdentifier, match="64"):
            SolanaSignature(b58encode(bytes(range(32))))

    def test_parse_helpers(self) -> None:
        assert isinstance(parse_account(CHECKSUMMED[0].lower()), EvmAddress)
        assert isinstance(parse_account(self.SYSTEM_PROGRAM), SolanaPubkey)
        assert isinstance(parse_tx_id("0x" + "00" * 32), TxHash)
        assert isinstance(parse_tx_id(b58encode(b"\1" * 64)), SolanaSignature)
        with pytest.raises(InvalidIdentifier):
            parse_account("nonsense!")


class TestTradingPair:
    def test_normalised(self) -> None:
        pair = TradingPair("eth-usdt")
        assert pair == "ETH-USDT"
        assert (pair.base, pair.quote) == ("ETH", "USDT")

    def test_ccxt_style(self) -> None:
        assert TradingPair("ETH/USDT") == "ETH-USDT"

    def test_of(self) -> None:
        assert TradingPair.of("weth", "usdc") == "WETH-USDC"

    def test_dotted_symbol(self) -> None:
        assert TradingPair("usdc.e-eth").base == "USDC.E"

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            "ETH",
            "ETHUSDT",
            "ETH-",
            "-USDT",
            "ETH-USDT-X",
            "ETH-ETH",
            "E TH-USDT",
            "ETH_USDT",
            "ETH--USDT",
            ".ETH-USDT",
        ],
    )
    def test_malformed(self, bad: str) -> None:
        with pytest.raises(InvalidIdentifier, match="trading pair"):
            TradingPair(bad)


class FakeClock:
    def __init__(self, start_ns: int) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now


class TestClientIdGenerator:
    def test_format(self) -> None:
        gen = ClientIdGenerator("bot-")
        cid = gen.next()
        assert isinstance(cid, ClientId)
        assert cid.startswith("bot-")
        assert len(cid) == 4 + 17
        assert gen.last_issued == cid
        assert gen() > cid

    def test_max_prefix_fits_binance(self) -> None:
        gen = ClientIdGenerator("p" * 19)
        assert len(gen.next()) == 36
        with pytest.raises(InvalidIdentifier, match="too long"):
            ClientIdGenerator("p" * 20)

    def test_bad_prefix(self) -> None:
        with pytest.raises(InvalidIdentifier):
            ClientIdGenerator("a b")

    def test_monotonic_when_clock_stalls(self) -> None:
        gen = ClientIdGenerator(clock=FakeClock(1_700_000_000_000_000_000))
        ids = [gen.next() for _ in range(1000)]
        assert ids == sorted(ids)
        assert len(set(ids)) == 1000

    def test_clock_moving_backwards(self) -> None:
        clock = FakeClock(1_700_000_000_000_000_000)
        gen = ClientIdGenerator(clock=clock)
        first = gen.next()
        clock.now -= 3_600 * 10**9  # an NTP step back by an hour
        second = gen.next()
        third = gen.next()
        assert first < second < third
        assert gen.time_of(second) == gen.time_of(first) + 1

    def test_follows_clock_forward(self) -> None:
        clock = FakeClock(1_700_000_000_000_000_000)
        gen = ClientIdGenerator(clock=clock)
        gen.next()
        clock.now += 5_000_000
        assert gen.time_of(gen.next()) == 1_700_000_000_005_000

    def test_restart_is_unique_and_increasing(self) -> None:
        clock = FakeClock(1_700_000_000_000_000_000)
        before = ClientIdGenerator(clock=clock)
        old = [before.next() for _ in range(100)]
        # the restarted process sees the same clock value: tags keep ids apart
        after = ClientIdGenerator(clock=clock)
        new = [after.next() for _ in range(100)]
        assert before.tag != after.tag
        assert not set(old) & set(new)

    def test_restart_with_clock_behind_resumes_after_last(self) -> None:
        clock = FakeClock(1_700_000_000_000_000_000)
        before = ClientIdGenerator("x", clock=clock)
        last = [before.next() for _ in range(10)][-1]
        clock.now -= 10**12  # the new process starts with an earlier clock
        after = ClientIdGenerator("x", clock=clock, last_issued=last)
        assert after.next() > last

    def test_last_issued_with_other_prefix_rejected(self) -> None:
        with pytest.raises(InvalidIdentifier):
            ClientIdGenerator("a", last_issued="b" + "0" * 17)
        with pytest.raises(InvalidIdentifier):
            ClientIdGenerator("a", last_issued="a" + "!" * 11 + "0" * 6)

    def test_fixed_tag(self) -> None:
        gen = ClientIdGenerator(tag="abc123")
        assert gen.next().endswith("abc123")
        with pytest.raises(InvalidIdentifier):
            ClientIdGenerator(tag="ABC")

    def test_threads(self) -> None:
        gen = ClientIdGenerator("t", clock=FakeClock(1_700_000_000_000_000_000))
        results: list[list[str]] = []
        barrier = threading.Barrier(8)

        def work() -> None:
            barrier.wait()
            mine = [gen.next() for _ in range(2000)]
            results.append(mine)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        everything = [cid for chunk in results for cid in chunk]
        assert len(set(everything)) == 8 * 2000
        for chunk in results:
            assert chunk == sorted(chunk) and len(set(chunk)) == len(chunk)

    async def test_asyncio_tasks(self) -> None:
        gen = ClientIdGenerator()

        async def work() -> list[str]:
            out = []
            for _ in range(200):
                out.append(gen.next())
                await asyncio.sleep(0)
            return out

        chunks = await asyncio.gather(*(work() for _ in range(10)))
        flat = [c for chunk in chunks for c in chunk]
        assert len(set(flat)) == len(flat)
        for chunk in chunks:
            assert chunk == sorted(chunk)

    @given(st.lists(st.integers(min_value=0, max_value=2**62), min_size=1, max_size=50))
    def test_monotonic_for_any_clock(self, readings: list[int]) -> None:
        it = iter(readings)
        gen = ClientIdGenerator(clock=lambda: next(it))
        ids = [gen.next() for _ in readings]
        assert all(a < b for a, b in itertools.pairwise(ids))
        assert all(ClientId(c) == c for c in ids)
