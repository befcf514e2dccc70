"""A counter of handled stream frames that can be waited on: how an in-process simulator keeps a replay in
lockstep with an adapter (the simulator waits until the adapter has handled every frame it sent).

An adapter only calls it (a plain observer hook, given at construction); it knows nothing of lockstep.
"""

import asyncio


class HandledFrames:
    """Counts calls; `wait_for(n)` returns once it was called `n` times."""

    def __init__(self) -> None:
        self.count = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def __call__(self) -> None:
        self.count += 1
        still = []
        for count, future in self._waiters:
            if count <= self.count:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((count, future))
        self._waiters = still

    async def wait_for(self, count: int) -> None:
        """Return once `count` frames have been handled."""
        if self.count >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((count, future))
        await future
