"""Child process: joins a consumer group, takes N messages without acking, then hangs."""

from __future__ import annotations

import asyncio
import sys

from chainops.queues import open_transport


async def main(url: str, stream: str, group: str, n: int) -> None:
    transport = await open_transport(url)
    consumer = await transport.consumer(stream, group, "doomed", claim_after=1.0)
    taken: list[str] = []
    while len(taken) < n:
        taken.extend(d.message_id for d in await consumer.fetch(n - len(taken), timeout=1.0))
    print(f"took {len(taken)}", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
