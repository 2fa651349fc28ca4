"""First broadcasts leave in nonce order, whatever order the senders finish signing in."""

from __future__ import annotations

import asyncio

import pytest

from chainops.core.errors import RpcPermanentError
from chainops.core.ids import TxHash
from chainops.operators.evm.node_errors import NodeError, node_error
from chainops.operators.evm.ordering import NonceOrderedSends


class Wire:
    """Records what reaches the node, one list per loop turn (one batch)."""

    def __init__(self, refuse: bytes | None = None) -> None:
        self.sent: list[bytes] = []
        self.refuse = refuse

    async def send_raw(self, raw: bytes) -> TxHash:
        self.sent.append(raw)
        await asyncio.sleep(0)
        if raw == self.refuse:
            raise RpcPermanentError("refused")
        return TxHash("0x" + raw.hex().rjust(64, "0"))


async def test_sends_leave_in_nonce_order() -> None:
    wire = Wire()
    ordered = NonceOrderedSends(wire.send_raw)
    for nonce in range(5):
        ordered.expect(nonce)
    order = [3, 1, 4, 0, 2]
    tasks = []
    for nonce in order:
        tasks.append(asyncio.ensure_future(ordered.send(nonce, bytes([nonce]))))
        await asyncio.sleep(0)
        # nothing goes before nonce 0 is ready
        assert wire.sent == [] or wire.sent[0] == b"\x00"
    await asyncio.gather(*tasks)
    assert wire.sent == [bytes([n]) for n in range(5)]
    assert ordered.held == 0


async def test_a_released_nonce_stops_holding_the_later_ones() -> None:
    wire = Wire()
    ordered = NonceOrderedSends(wire.send_raw)
    ordered.expect(0)
    ordered.expect(1)
    later = asyncio.ensure_future(ordered.send(1, b"\x01"))
    await asyncio.sleep(0.01)
    assert wire.sent == [] and ordered.held == 1
    ordered.forget(0)  # nonce 0 failed before signing: given back unsent
    await later
    assert wire.sent == [b"\x01"]


async def test_unreserved_nonces_pass_straight_through_and_errors_reach_their_sender() -> None:
    wire = Wire(refuse=b"\x00")
    ordered = NonceOrderedSends(wire.send_raw)
    assert await ordered.send(7, b"\x07")  # not reserved here (a replacement, a fill)
    ordered.expect(0)
    ordered.expect(1)
    first = asyncio.ensure_future(ordered.send(0, b"\x00"))
    second = asyncio.ensure_future(ordered.send(1, b"\x01"))
    with pytest.raises(RpcPermanentError):
        await first
    assert await second  # a refusal of a lower nonce does not stop the next one
    assert wire.sent == [b"\x07", b"\x00", b"\x01"]


async def test_a_cancelled_sender_still_sends_in_order() -> None:
    wire = Wire()
    ordered = NonceOrderedSends(wire.send_raw)
    ordered.expect(0)
    ordered.expect(1)
    waiting = asyncio.ensure_future(ordered.send(1, b"\x01"))
    await asyncio.sleep(0)
    waiting.cancel()
    ordered.forget(1)  # what the pipeline does when its sender goes away
    await ordered.send(0, b"\x00")
    await ordered.drain()
    assert wire.sent == [b"\x00", b"\x01"]  # journalled bytes are not dropped


async def test_a_hand_over_refused_at_once_fails_its_callers_and_frees_the_later_ones() -> None:
    """A client that raises before queueing (not from its future) blocks nothing after it."""
    wire = Wire()
    refused = [True]

    def hand_over(raw: bytes) -> asyncio.Future[TxHash]:
        if refused[0]:
            refused[0] = False
            raise RpcPermanentError("client closed")
        return asyncio.ensure_future(wire.send_raw(raw))

    ordered = NonceOrderedSends(hand_over)
    ordered.expect(0)
    with pytest.raises(RpcPermanentError, match="client closed"):
        await asyncio.wait_for(ordered.send(0, b"\x00"), 2)
    ordered.expect(1)
    assert await asyncio.wait_for(ordered.send(1, b"\x01"), 2) == TxHash("0x" + "01".rjust(64, "0"))
    assert wire.sent == [b"\x01"]


async def test_the_next_batch_is_handed_over_before_the_answered_callers_resume() -> None:
    """Batch B's flush is queued ahead of batch A's callers: their bookkeeping (hundreds
    of continuations after a large batch) must not hold B's bytes back."""
    from chainops.operators.turnqueue import TurnQueue

    events: list[str] = []

    async def flush(raws: list[bytes]) -> list[TxHash]:
        events.append("flush " + ",".join(str(r[0]) for r in raws))
        await asyncio.sleep(0.01)  # the node answers later
        return [TxHash("0x" + r.hex().rjust(64, "0")) for r in raws]

    wire = TurnQueue(flush, 100)
    ordered = NonceOrderedSends(wire.put)
    for nonce in range(4):
        ordered.expect(nonce)

    async def caller(nonce: int) -> None:
        await ordered.send(nonce, bytes([nonce]))
        events.append(f"resumed {nonce}")

    first = [asyncio.ensure_future(caller(n)) for n in (0, 1)]
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(caller(n)) for n in (2, 3)]  # ready while A is in flight
    await asyncio.gather(*first, *later)
    assert events.index("flush 2,3") < events.index("resumed 0")
    assert events.index("flush 2,3") < events.index("resumed 1")
    assert events[0] == "flush 0,1" and ordered.held == 0


class UnorderedBatches:
    """A node that runs the items of one batch concurrently, as Hardhat does under
    automine: an item whose nonce is not the next one is refused as too high."""

    def __init__(self) -> None:
        self.next = 0
        self.batches: list[list[int]] = []
        self._batch: list[tuple[int, asyncio.Future[TxHash]]] = []

    def send_raw(self, raw: bytes) -> asyncio.Future[TxHash]:
        future: asyncio.Future[TxHash] = asyncio.get_running_loop().create_future()
        if not self._batch:
            asyncio.get_running_loop().call_soon(self._run)
        self._batch.append((raw[0], future))
        return future

    def _run(self) -> None:
        batch, self._batch = self._batch, []
        self.batches.append([nonce for nonce, _ in batch])
        for nonce, future in reversed(batch):  # the last item first: out of order
            if nonce == self.next:
                self.next += 1
                future.set_result(TxHash("0x" + bytes([nonce]).hex().rjust(64, "0")))
            else:
                future.set_exception(
                    node_error(-32000, f"Nonce too high. Expected nonce to be {self.next}")
                )


async def test_a_node_that_runs_a_batch_out_of_order_gets_one_send_per_request() -> None:
    node = UnorderedBatches()
    ordered = NonceOrderedSends(node.send_raw)
    for nonce in range(4):
        ordered.expect(nonce)
    hashes = await asyncio.gather(*(ordered.send(n, bytes([n])) for n in range(4)))
    assert [h.to_bytes()[-1] for h in hashes] == [0, 1, 2, 3]  # every one sent in the end
    assert ordered.one_at_a_time
    assert node.batches[0] == [0, 1, 2, 3]  # only nonce 0 passed: 1-3 were ahead of it
    assert node.batches[1:] == [[1], [2], [3]]  # then alone, each after the one before
    ordered.expect(4)
    ordered.expect(5)
    await asyncio.gather(ordered.send(4, b"\x04"), ordered.send(5, b"\x05"))
    assert node.batches[-2:] == [[4], [5]]


async def test_a_real_gap_is_not_taken_for_an_unordered_node() -> None:
    node = UnorderedBatches()
    node.next = 5  # nonces 0-4 are missing on the node: every send is too high
    ordered = NonceOrderedSends(node.send_raw)
    for nonce in range(2):
        ordered.expect(nonce)
    results = await asyncio.gather(
        *(ordered.send(n, bytes([n])) for n in range(2)), return_exceptions=True
    )
    assert all(isinstance(r, NodeError) for r in results)  # the senders handle the gap
    assert not ordered.one_at_a_time and node.batches == [[0, 1]]
