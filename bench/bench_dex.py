"""DEX benchmarks on a fork of the devnet world, each side by side with its baseline.

1. ``dex_swap_round_trips`` / ``dex_swap_wall_time``: one warm V3 swap (allowance already
   set) through ``UniswapV3`` (quote, swap, wait for the fill) against a straightforward
   web3.py script doing the same swap (QuoterV2 quote, nonce, estimate, fees, sign, send,
   receipt). HTTP requests are counted by a loopback proxy in front of Anvil.
2. ``v3_offline_quotes``: exact offline quotes per second over a loaded pool state against
   QuoterV2 ``eth_call`` quotes per second (web3.py), for a swap that crosses ticks.
3. ``v3_warm_quote``: the public ``quote_exact_in`` through a ``PoolCache`` that follows
   the chain (zero requests) against one QuoterV2 ``eth_call`` through the same operator.
4. ``v3_cold_quote``: ``quote_exact_in`` reading the pool afresh (batched pool views:
   slot0, liquidity, tick bitmap, ticks) against the same QuoterV2 ``eth_call``.
5. ``best_route_cold`` / ``best_route_warm``: every candidate route WETH -> DAI (V2 and
   the V3 tiers, direct and through the wrapped token or a stablecoin) priced exactly,
   first on a new router (pools discovered and read) then through a following cache,
   against quoting the same routes on chain (QuoterV2 and ``getAmountsOut`` calls, sent
   concurrently in one batch by the same operator).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_account import Account
from web3 import Web3

from bench.harness import Result, per_second
from chainops.abis import load_abi
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import DexContext, PoolCache, UniswapRoutes, UniswapV3
from chainops.operators.dapps.erc20 import MAX_UINT256
from chainops.operators.evm import EvmOperator

ROUNDS = 5
SWAP = Decimal("0.5")  # WETH sold per swap
QUOTE_WETH = 500  # crosses the concentrated ranges of the WETH/USDC 0.05 % pool
WEB3_SCRIPT = "web3.py script (quote, nonce, estimate, send, receipt)"


class CountingProxy:
    """A loopback JSON-RPC proxy that counts HTTP requests and JSON-RPC calls."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests = 0
        self.calls = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parsed = json.loads(body)
                proxy.requests += 1
                proxy.calls += len(parsed) if isinstance(parsed, list) else 1
                request = urllib.request.Request(
                    proxy.upstream, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request) as answer:
                    data = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> tuple[int, int]:
        counts = (self.requests, self.calls)
        self.requests = self.calls = 0
        return counts

    def close(self) -> None:
        self.server.shutdown()


def _approve_all(world: World, index: int) -> None:
    """Unlimited WETH allowance for the router: both sides start warm."""
    w3 = Web3(Web3.HTTPProvider(world.rpc_url))
    account = Account.from_key(world.book.accounts[index].private_key)
    weth = w3.eth.contract(address=world.book.contracts["WETH9"], abi=load_abi("WETH9"))
    tx = weth.functions.approve(world.book.contracts["SwapRouter"], MAX_UINT256).build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
    )
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )


def _web3_swap(w3: Web3, world: World, account: Any) -> None:
    """The script a user writes: quote, build, nonce, estimate, fees, sign, send, receipt."""
    book = world.book
    weth, usdc = book.token("WETH").address, book.token("USDC").address
    quoter = w3.eth.contract(address=book.contracts["QuoterV2"], abi=load_abi("QuoterV2"))
    router = w3.eth.contract(address=book.contracts["SwapRouter"], abi=load_abi("SwapRouter"))
    amount = int(SWAP * 10**18)
    out = quoter.functions.quoteExactInputSingle((weth, usdc, amount, 500, 0)).call()[0]
    # The next block is stamped at least at wall time, whatever the head's age: a deadline
    # from the head alone expires on a world whose last block is older than ten minutes.
    deadline = max(w3.eth.get_block("latest")["timestamp"], int(time.time())) + 600
    params = (weth, usdc, 500, account.address, deadline, amount, out * 995 // 1000, 0)
    tx = router.functions.exactInputSingle(params).build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
    )
    # A margin, as such scripts add: estimated inside the head block's second, the swap
    # skips the pool's price-observation write; mined in the next second it pays for it,
    # and the estimate alone then runs out of gas (about one fresh world in ten here).
    tx["gas"] = tx["gas"] * 6 // 5
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1


async def _our_swaps(url: str, world: World, proxy: CountingProxy) -> tuple[list[float], list[int]]:
    evm = OperatorFactory.create(
        "devnet", cache=False, rpc_url=url, private_key=world.book.accounts[2].private_key,
        track_finality=False,
    )  # fmt: skip
    assert isinstance(evm, EvmOperator)
    times: list[float] = []
    requests: list[int] = []
    async with evm:
        v3 = UniswapV3(DexContext(evm, world.book))
        await (await v3.swap(await v3.quote_exact_in(["WETH", "USDC"], SWAP, fee=500))).wait()
        for _ in range(ROUNDS):
            await asyncio.sleep(0.2)  # let the block monitor's idle polls fall outside the count
            proxy.reset()
            began = time.perf_counter()
            quote = await v3.quote_exact_in(["WETH", "USDC"], SWAP, fee=500)
            await (await v3.swap(quote)).wait()
            times.append(time.perf_counter() - began)
            requests.append(proxy.reset()[0])
    return times, requests


def _swap_results(world: World) -> list[Result]:
    _approve_all(world, 1)
    _approve_all(world, 2)
    proxy = CountingProxy(world.rpc_url)
    try:
        w3 = Web3(Web3.HTTPProvider(proxy.url))
        account = Account.from_key(world.book.accounts[1].private_key)
        _web3_swap(w3, world, account)  # warm caches (chain id, ABI) like ours
        base_times, base_requests = [], []
        for _ in range(ROUNDS):
            proxy.reset()
            began = time.perf_counter()
            _web3_swap(w3, world, account)
            base_times.append(time.perf_counter() - began)
            base_requests.append(proxy.reset()[0])
        ours_times, ours_requests = asyncio.run(_our_swaps(proxy.url, world, proxy))
    finally:
        proxy.close()
    details = {"rounds": ROUNDS, "ours_requests": ours_requests, "web3_requests": base_requests}
    return [
        Result(
            "dex_swap_round_trips", "requests", statistics.median(ours_requests),
            statistics.median(base_requests), WEB3_SCRIPT,
            higher_is_better=False, details=details,
        ),
        Result(
            "dex_swap_wall_time", "s", statistics.median(ours_times), statistics.median(base_times),
            "web3.py script, same swap", higher_is_better=False, details=details,
        ),
    ]  # fmt: skip


def _quote_results(world: World) -> list[Result]:
    async def load() -> Any:
        evm = OperatorFactory.create(
            "devnet", cache=False, rpc_url=world.rpc_url,
            private_key=world.book.accounts[3].private_key,
        )  # fmt: skip
        async with evm:
            return await UniswapV3(DexContext(evm, world.book)).pool("WETH", "USDC", 500)  # type: ignore[arg-type]

    state = asyncio.run(load())
    weth = world.book.token("WETH").address
    amount = QUOTE_WETH * 10**18
    offline_out = state.amount_out(weth, amount)
    w3 = Web3(Web3.HTTPProvider(world.rpc_url))
    quoter = w3.eth.contract(address=world.book.contracts["QuoterV2"], abi=load_abi("QuoterV2"))
    usdc = world.book.token("USDC").address
    call = quoter.functions.quoteExactInputSingle((weth, usdc, amount, 500, 0))
    assert call.call()[0] == offline_out  # same answer to the wei, or the race is void
    ours = per_second(lambda: state.amount_out(weth, amount), 200)
    baseline = per_second(call.call, 50)
    crossed = state.swap(str(weth).lower() == state.token0.lower(), amount).ticks_crossed
    return [
        Result(
            "v3_offline_quotes", "quotes/s", ours, baseline, "QuoterV2 eth_call (web3.py)",
            higher_is_better=True,
            details={"weth_in": QUOTE_WETH, "ticks_crossed": crossed, "usdc_out": offline_out},
        )
    ]  # fmt: skip


async def _time(fn: Any, n: int) -> float:
    """Median seconds per awaited call of ``fn`` over ``n`` calls (after one warm-up)."""
    await fn()
    times = []
    for _ in range(n):
        began = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def _public_quotes(world: World, proxy: CountingProxy) -> list[Result]:
    evm = OperatorFactory.create(
        "devnet", cache=False, rpc_url=proxy.url, private_key=world.book.accounts[3].private_key,
        track_finality=False,
    )  # fmt: skip
    assert isinstance(evm, EvmOperator)
    path, amount = ["WETH", "USDC"], Decimal(QUOTE_WETH)
    async with evm:
        ctx = DexContext(evm, world.book)
        cache = PoolCache(evm.batcher, poll_interval=3600)
        warm, cold = UniswapV3(ctx, cache=cache), UniswapV3(ctx)
        async with cache:
            quoter = await _time(lambda: cold.quoter_exact_in(path, amount, fee=500), 50)
            warm_s = await _time(lambda: warm.quote_exact_in(path, amount, fee=500), 200)
            proxy.reset()
            await warm.quote_exact_in(path, amount, fee=500)
            warm_requests = proxy.reset()
            cold_s = await _time(lambda: cold.quote_exact_in(path, amount, fee=500), 50)
            proxy.reset()
            await cold.quote_exact_in(path, amount, fee=500)
            cold_requests = proxy.reset()
            same = (await warm.quote_exact_in(path, amount, fee=500)).amount_out
            assert same == await cold.quoter_exact_in(path, amount, fee=500)
    baseline = "QuoterV2 eth_call (same operator)"
    return [
        Result(
            "v3_warm_quote", "s", warm_s, quoter, baseline, higher_is_better=False,
            details={"requests_and_calls": warm_requests, "weth_in": QUOTE_WETH},
        ),
        Result(
            "v3_cold_quote", "s", cold_s, quoter, baseline, higher_is_better=False,
            details={"requests_and_calls": cold_requests, "weth_in": QUOTE_WETH},
        ),
    ]  # fmt: skip


async def _route_quotes(world: World, proxy: CountingProxy) -> list[Result]:
    evm = OperatorFactory.create(
        "devnet", cache=False, rpc_url=proxy.url, private_key=world.book.accounts[3].private_key,
        track_finality=False,
    )  # fmt: skip
    assert isinstance(evm, EvmOperator)
    async with evm:
        ctx = DexContext(evm, world.book)
        raw = 3 * 10**18
        fresh = UniswapRoutes(ctx)  # building the contract handles is not part of routing
        proxy.reset()
        began = time.perf_counter()
        routes = await fresh.routes("WETH", "DAI", raw, gas_price=10**9)
        cold_s, cold_requests = time.perf_counter() - began, proxy.reset()
        cache = PoolCache(evm.batcher, poll_interval=3600)
        router = UniswapRoutes(ctx, cache=cache)
        async with cache:
            warm_s = await _time(lambda: router.routes("WETH", "DAI", raw, gas_price=10**9), 20)
            proxy.reset()
            await router.routes("WETH", "DAI", raw, gas_price=10**9)
            warm_requests = proxy.reset()
        v2_router = evm.contract(
            world.book.contracts["UniswapV2Router02"], load_abi("UniswapV2Router02")
        )

        async def onchain() -> None:
            calls = []
            for r in routes:
                if r.dex == "uniswap-v3":
                    calls.append(router.v3.quoter_raw(r.path, r.fees, raw, exact_in=True))
                else:
                    path = [t.address for t in r.path]
                    calls.append(evm.call(v2_router.request("getAmountsOut", raw, path)))
            await asyncio.gather(*calls)

        onchain_s = await _time(onchain, 10)
    details = {
        "routes": len(routes),
        "cold_requests_and_calls": cold_requests,
        "warm_requests_and_calls": warm_requests,
        "best": routes[0].symbols,
    }
    baseline = f"quoting the {len(routes)} routes on chain (one batch)"
    return [
        Result("best_route_cold", "s", cold_s, onchain_s, baseline, higher_is_better=False,
               details=details),
        Result("best_route_warm", "s", warm_s, onchain_s, baseline, higher_is_better=False,
               details=details),
    ]  # fmt: skip


def _route_results(world: World) -> list[Result]:
    proxy = CountingProxy(world.rpc_url)
    try:
        return asyncio.run(_route_quotes(world, proxy))
    finally:
        proxy.close()


def _public_quote_results(world: World) -> list[Result]:
    proxy = CountingProxy(world.rpc_url)
    try:
        return asyncio.run(_public_quotes(world, proxy))
    finally:
        proxy.close()


def run() -> list[Result]:
    with World.start() as world, world.fork() as fork:
        return (
            _swap_results(fork)
            + _quote_results(fork)
            + _public_quote_results(fork)
            + _route_results(fork)
        )


if __name__ == "__main__":
    for result in run():
        print(result.to_dict())
