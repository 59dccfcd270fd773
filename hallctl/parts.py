"""Parts of a job: part i of N of a campaign, of a sample set or of an evaluation (job arrays, ``--shard i/N``).

A part is fixed by (i, N) alone, and every random choice flows from a seed and a global index, so
the parts together are the whole job, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Part"]


@dataclass(frozen=True)
class Part:
    """Part ``index`` of ``count`` of a job (one task of a job array).

    A campaign part runs the indices k with k mod count = index (``owns``) into its own shard files
    and lock, so parts never contend; an evaluation part scores those truths; a sample part draws
    the contiguous ``span`` of the sample indices. Outputs carry ``suffix``; a merge joins them."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"part {self.index}/{self.count}: need 0 <= i < N")

    @property
    def whole(self) -> bool:
        return self.count == 1

    def owns(self, k: int) -> bool:
        return k % self.count == self.index

    @property
    def prefix(self) -> str:
        """File-name prefix of the part's shards (``shard-NNNNN.h5`` for a whole campaign)."""
        return "shard-" if self.whole else f"shard-p{self.index:04d}of{self.count:04d}-"

    def span(self, total: int) -> range:
        """The contiguous share of ``total`` items (samples) of this part."""
        return range(self.index * total // self.count, (self.index + 1) * total // self.count)

    @property
    def suffix(self) -> str:
        """File-name suffix of a part's output (``""`` for the whole job)."""
        return "" if self.whole else f".part-{self.index:04d}of{self.count:04d}"

    @property
    def lock_name(self) -> str:
        return ".raw.lock" if self.whole else f".raw.p{self.index:04d}of{self.count:04d}.lock"
