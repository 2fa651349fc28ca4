"""Rich renderings shared by the CLI commands and the demo."""

from __future__ import annotations

from rich.table import Table

from chainops.core.addressbook import AddressBook


def address_book_tables(book: AddressBook, rpc_url: str | None = None) -> list[Table]:
    """The world as three readable tables: contracts, tokens, pools."""
    title = f"devnet world · chain id {book.chain_id}" + (f" · {rpc_url}" if rpc_url else "")
    contracts = Table(title=title, title_justify="left")
    contracts.add_column("contract")
    contracts.add_column("address", style="cyan", no_wrap=True, min_width=42)
    for name, address in book.contracts.items():
        contracts.add_row(name, address)

    tokens = Table(title="tokens", title_justify="left")
    for column in ("symbol", "decimals", "kind", "address"):
        _add_column(tokens, column)
    for token in book.tokens.values():
        tokens.add_row(token.symbol, str(token.decimals), token.kind, token.address)

    pools = Table(title="pools", title_justify="left")
    for column in ("dex", "pair", "fee", "address"):
        _add_column(pools, column)
    for pool in book.pools:
        fee = f"{pool.fee / 10_000:g} %" if pool.fee is not None else "0.3 %"
        pools.add_row(pool.dex, f"{pool.token0}/{pool.token1}", fee, pool.address)
    return [contracts, tokens, pools]


def _add_column(table: Table, name: str) -> None:
    if name == "address":  # never elide an address: a shortened one is useless to copy
        table.add_column(name, style="cyan", no_wrap=True, min_width=42)
    else:
        table.add_column(name)
