"""Random streams and data order of training: every draw is a function of (seed, stream, position).

Streams (docs/model.md §6, style "randomness is passed in"): 1 = σ and noise of a step (keyed by nimg),
2 = dropout, 3 = data order (one permutation per epoch), 4-5 = validation subset and noise,
6 = initialization. Resuming therefore needs only the image counter.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["DataOrder", "derive_seed", "sigint_deferred"]


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed from (seed, *keys) (numpy SeedSequence), e.g. (seed, stream, nimg)."""
    words = np.random.SeedSequence([seed, *keys]).generate_state(2, dtype=np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


class DataOrder:
    """Position p in the endless stream of examples → index: epoch p // N shuffled by (seed, 3, epoch)."""

    def __init__(self, num_examples: int, seed: int) -> None:
        self.N = num_examples
        self.seed = seed
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(derive_seed(self.seed, 3, epoch))
            self._epoch, self._perm = epoch, torch.randperm(self.N, generator=g)
        return self._perm

    def indices(self, position: int, count: int) -> torch.Tensor:
        """Indices of the ``count`` examples starting at stream position ``position``."""
        parts, p = [], position
        while p < position + count:
            epoch, offset = divmod(p, self.N)
            take = min(self.N - offset, position + count - p)
            parts.append(self._permutation(epoch)[offset : offset + take])
            p += take
        return torch.cat(parts)


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, so an interrupt never splits an optimizer/EMA update."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
