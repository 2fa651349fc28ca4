"""Routes beyond spot that ccxt and python-binance call at start-up, answered as for spot-only.

A spot-only account on Binance sees no margin pairs and no futures or
options symbols; its coins' deposit and withdrawal configuration is listed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainops.devnet.exchange.engine import Engine

__all__ = ["CompatApi"]

Params = dict[str, str]


class CompatApi:
    """Answers for the non-spot routes clients touch while loading."""

    def __init__(self, engine: Engine, clock: Callable[[], int]) -> None:
        self.engine, self.clock = engine, clock

    def _assets(self) -> list[str]:
        return sorted({a for s in self.engine.specs.values() for a in (s.base, s.quote)})

    def empty_list(self, params: Params) -> Any:
        return []

    def system_status(self, params: Params) -> Any:
        return {"status": 0, "msg": "normal"}

    def derivatives_info(self, params: Params) -> Any:
        """``fapi``/``dapi`` exchangeInfo: the venue lists no futures here."""
        return {
            "timezone": "UTC",
            "serverTime": self.clock(),
            "futuresType": "U_MARGINED",
            "rateLimits": [],
            "exchangeFilters": [],
            "assets": [],
            "symbols": [],
        }

    def options_info(self, params: Params) -> Any:
        return {
            "timezone": "UTC",
            "serverTime": self.clock(),
            "optionContracts": [],
            "optionAssets": [],
            "optionSymbols": [],
            "rateLimits": [],
        }

    def coins(self, account: Any, params: Params) -> Any:
        """``sapi/v1/capital/config/getall``: each asset, deposits and withdrawals closed."""
        out = []
        for asset in self._assets():
            balance = account.balance(asset)
            out.append(
                {
                    "coin": asset,
                    "name": asset,
                    "depositAllEnable": False,
                    "withdrawAllEnable": False,
                    "free": f"{balance.free:.8f}",
                    "locked": f"{balance.locked:.8f}",
                    "freeze": "0",
                    "withdrawing": "0",
                    "ipoing": "0",
                    "ipoable": "0",
                    "storage": "0",
                    "isLegalMoney": False,
                    "trading": True,
                    "networkList": [
                        {
                            "network": asset,
                            "coin": asset,
                            "name": asset,
                            "isDefault": True,
                            "depositEnable": False,
                            "withdrawEnable": False,
                            "withdrawFee": "0",
                            "withdrawMin": "0",
                            "withdrawMax": "0",
                            "withdrawIntegerMultiple": "0.00000001",
                            "minConfirm": 1,
                            "unLockConfirm": 1,
                            "depositDesc": "Deposits are closed on this venue",
                            "withdrawDesc": "Withdrawals are closed on this venue",
                            "specialTips": "",
                            "busy": False,
                            "sameAddress": False,
                        }
                    ],
                }
            )
        return out

    def trade_fee(self, account: Any, params: Params) -> Any:
        """``sapi/v1/asset/tradeFee``: the account's rate on every symbol (or the one asked)."""
        symbol = params.get("symbol")
        rate = f"{account.commission:.8f}"
        return [
            {"symbol": s, "makerCommission": rate, "takerCommission": rate}
            for s in self.engine.specs
            if symbol in (None, s)
        ]
