"""The listing queries both SQL journals share; each store names its dialect's two pieces."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from chainops.core.operation import Operation

__all__: list[str] = []


class SqlListing:
    """Loading by client id, ``non_terminal`` and ``list_operations`` over ``operations``.

    A store sets ``_MARK`` (its parameter placeholder) and ``_OPEN`` (its SQL test of a row
    that is not terminal) and provides ``_read`` and ``_hydrate``.
    """

    _MARK: ClassVar[str]
    _OPEN: ClassVar[str]

    @abstractmethod
    def _read(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]: ...

    @abstractmethod
    def _hydrate(self, rows: list[Any]) -> list[Operation[Any]]: ...

    def _load(self, client_id: str) -> Operation[Any] | None:
        query = f"SELECT client_id, kind, body FROM operations WHERE client_id = {self._MARK}"
        rows = self._read(query, (str(client_id),))
        return self._hydrate(rows)[0] if rows else None

    def _select(self, where: list[str], params: list[Any], limit: int | None) -> list[Any]:
        query = "SELECT client_id, kind, body FROM operations"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY created_at, client_id"
        if limit is not None:
            query += f" LIMIT {self._MARK}"
            params.append(int(limit))
        return self._hydrate(self._read(query, tuple(params)))

    def _filters(self, **columns: str | None) -> tuple[list[str], list[Any]]:
        where, params = [], []
        for column, value in columns.items():
            if value is not None:
                where.append(f"{column} = {self._MARK}")
                params.append(value)
        return where, params

    def non_terminal(
        self, *, kind: str | None = None, platform: str | None = None, owner: str | None = None
    ) -> list[Operation[Any]]:
        where, params = self._filters(
            kind=kind, platform=None if platform is None else platform.lower(), owner=owner
        )
        return self._select([self._OPEN, *where], params, None)

    def list_operations(
        self,
        *,
        owner: str | None = None,
        platform: str | None = None,
        kind: str | None = None,
        state: str | None = None,
        limit: int | None = None,
    ) -> list[Operation[Any]]:
        where, params = self._filters(
            owner=owner,
            platform=None if platform is None else platform.lower(),
            kind=kind,
            state=None if state is None else str(state).upper(),
        )
        return self._select(where, params, limit)
