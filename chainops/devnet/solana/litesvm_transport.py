"""The transport over an in-process :class:`LocalChain` (LiteSVM with slots and statuses).

No network and no thread hops: every call runs the SVM directly, so tests and
simulations see exactly the rules a cluster applies (blockhash lifetimes,
commitment levels, fees on failed transactions) at in-process speed.
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.pubkey import Pubkey

from chainops.core.errors import RpcPermanentError
from chainops.devnet.solana.localchain import LocalChain, SendOutcome
from chainops.operators.solana.spl import parse_token_account
from chainops.operators.solana.transport import (
    AccountData,
    Blockhash,
    CommitmentLevel,
    LandedDetails,
    SignatureStatus,
    Simulation,
    SolanaTransport,
)

__all__ = ["LiteSvmTransport"]


class LiteSvmTransport(SolanaTransport):
    """A :class:`SolanaTransport` over a :class:`LocalChain` in this process."""

    name = "litesvm"

    def __init__(self, chain: LocalChain | None = None) -> None:
        self.chain = chain if chain is not None else LocalChain()

    async def genesis_hash(self) -> str | None:
        return None

    async def latest_blockhash(self) -> Blockhash:
        blockhash, last_valid = self.chain.latest_blockhash("confirmed")
        return Blockhash(blockhash, last_valid)

    async def block_height(self, commitment: CommitmentLevel = "confirmed") -> int:
        return self.chain.block_height(commitment)

    async def simulate(self, raw: bytes) -> Simulation:
        result = self.chain.simulate(raw)
        return Simulation(result.err, result.logs, result.units_consumed)

    async def send_raw(self, raw: bytes) -> None:
        _, outcome = self.chain.send(raw)
        if outcome is SendOutcome.REJECTED:
            # What a node's sanity checks refuse outright (bad signature, unknown payer).
            raise RpcPermanentError("transaction rejected before execution")

    async def signature_statuses(self, signatures: Sequence[str]) -> list[SignatureStatus | None]:
        out: list[SignatureStatus | None] = []
        for view in self.chain.statuses(signatures):
            if view is None:
                out.append(None)
            else:
                level: CommitmentLevel = view.commitment.value
                out.append(SignatureStatus(view.slot, view.confirmations, view.err, level))
        return out

    async def landed_details(self, signature: str) -> LandedDetails | None:
        found = self.chain.transaction(signature)
        if found is None:
            return None
        return LandedDetails(found.slot, found.err, found.fee, found.logs, found.units_consumed)

    async def balance(self, pubkey: str) -> int:
        return self.chain.balance(pubkey)

    async def account(self, pubkey: str) -> AccountData | None:
        found = self.chain.account(pubkey)
        if found is None:
            return None
        return AccountData(found.lamports, str(found.owner), bytes(found.data), found.executable)

    async def token_balance(self, token_account: str) -> int | None:
        found = self.chain.account(token_account)
        if found is None:
            return None
        address = Pubkey.from_string(token_account)
        info = parse_token_account(address, found.owner, bytes(found.data))
        return None if info is None else info.amount

    async def prioritization_fees(self, accounts: Sequence[str]) -> list[int]:
        return [fee for _, fee in self.chain.prioritization_fees(accounts)]

    async def airdrop(self, pubkey: str, lamports: int) -> str:
        return self.chain.airdrop(pubkey, lamports)

    async def minimum_balance_for_rent_exemption(self, size: int) -> int:
        return self.chain.minimum_balance_for_rent_exemption(size)
