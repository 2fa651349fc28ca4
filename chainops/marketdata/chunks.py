"""The chunked recording file and its time index.

A file is a run of chunks: a 32-byte header (magic, payload length, CRC-32,
first and last event time in ns, event count) then the payload. Beside it,
``<file>.idx`` lists each chunk's offset and time span in fixed 28-byte
records, so a reader seeks straight to the chunks a time range needs. A
chunk whose header, length or CRC is wrong is reported and skipped; reading
resumes at the next magic.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "HEADER",
    "MAGIC",
    "ChunkInfo",
    "SkippedChunk",
    "append_chunk",
    "read_chunks",
    "read_index",
]

log = logging.getLogger(__name__)

MAGIC = b"CHMD"
HEADER = struct.Struct("<4sIIqqI")
_INDEX = struct.Struct("<QqqI")


@dataclass(frozen=True)
class ChunkInfo:
    """Where a chunk starts and which times it holds."""

    offset: int
    first_ns: int
    last_ns: int
    count: int


@dataclass(frozen=True)
class SkippedChunk:
    """A chunk that could not be read, where it was, and why."""

    path: Path
    offset: int
    reason: str


def append_chunk(path: Path, payload: bytes, first_ns: int, last_ns: int, count: int) -> int:
    """Append one chunk and its index record; returns the file's new size."""
    with path.open("ab") as f:
        offset = f.tell()
        header = HEADER.pack(MAGIC, len(payload), zlib.crc32(payload), first_ns, last_ns, count)
        f.write(header + payload)
        size = f.tell()
    with index_path(path).open("ab") as f:
        f.write(_INDEX.pack(offset, first_ns, last_ns, count))
    return size


def index_path(path: Path) -> Path:
    return path.with_name(path.name + ".idx")


def read_index(path: Path) -> list[ChunkInfo]:
    """The chunk index of ``path``, with the chunks it does not list found by scanning.

    The index is written after its chunk: a recorder that died in between left a chunk
    the index lacks (and the index may be missing altogether). The file's bytes past the
    last indexed chunk are scanned for chunk headers, so such a chunk is replayed too.
    """
    idx = index_path(path)
    listed: list[ChunkInfo] = []
    if idx.exists():
        data = idx.read_bytes()
        whole = len(data) - len(data) % _INDEX.size
        listed = [ChunkInfo(*_INDEX.unpack_from(data, i)) for i in range(0, whole, _INDEX.size)]
    with path.open("rb") as f:
        start = 0
        if listed:
            last = listed[-1]
            f.seek(last.offset)
            header = f.read(HEADER.size)
            if len(header) < HEADER.size:
                return listed  # the last listed chunk is cut short: reading reports it
            start = last.offset + HEADER.size + HEADER.unpack(header)[1]
        f.seek(start)
        return listed + _scan(f.read(), start)


def _scan(data: bytes, base: int) -> list[ChunkInfo]:
    """The chunk headers found in ``data`` (which starts at file offset ``base``)."""
    out = []
    pos = data.find(MAGIC)
    while pos >= 0 and pos + HEADER.size <= len(data):
        _, length, _, first, last, count = HEADER.unpack_from(data, pos)
        out.append(ChunkInfo(base + pos, first, last, count))
        pos = data.find(MAGIC, pos + HEADER.size + min(length, len(data)))
    return out


def read_chunks(
    path: Path,
    start_ns: int,
    end_ns: int,
    skipped: list[SkippedChunk],
    infos: list[ChunkInfo] | None = None,
) -> Iterator[bytes]:
    """Payloads of the chunks of ``path`` overlapping ``[start_ns, end_ns)``, in order.

    Only those chunks are read (one at a time: a long file is never held whole);
    ``infos`` is the file's index when the caller read it already. Unreadable chunks
    are logged, appended to ``skipped`` and passed over.
    """
    if infos is None:
        infos = read_index(path)
    with path.open("rb") as f:
        for info in infos:
            if info.last_ns < start_ns or info.first_ns >= end_ns:
                continue
            f.seek(info.offset)
            payload, reason = _read_chunk(f.read(HEADER.size), f)
            if reason is not None:
                log.warning("skipped chunk of %s at byte %d: %s", path, info.offset, reason)
                skipped.append(SkippedChunk(path, info.offset, reason))
                continue
            yield payload


def _read_chunk(header: bytes, f: BinaryIO) -> tuple[bytes, str | None]:
    """The payload after ``header`` (read from ``f``), or why it cannot be read."""
    if len(header) < HEADER.size:
        return b"", "truncated header"
    magic, length, crc, _, _, _ = HEADER.unpack(header)
    if magic != MAGIC:
        return b"", "bad magic"
    payload = f.read(length)
    if len(payload) < length:
        return b"", f"truncated payload ({len(payload)} of {length} bytes)"
    if zlib.crc32(payload) != crc:
        return b"", "CRC mismatch"
    return payload, None
