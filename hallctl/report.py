"""One small progress/reporting helper that library code calls.

Library functions take ``report: Reporter | None``; ``None`` means silent, so hallctl works
quietly from Python and notebooks. The CLI passes a rich-backed reporter (``hallctl.cli.console``).

Example::

    report = report or Reporter()
    with report.progress("simulating", total=n, unit="sims") as bar:
        for i in range(n):
            ...
            bar.advance(1, status="ok 3 / failed 0")
    report.info("wrote data/raw/shard-0000.h5")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Progress", "Reporter"]


class Progress:
    """Handle of one running progress bar; the silent base class ignores everything."""

    def advance(self, n: float = 1, **fields: Any) -> None:
        """Advance by ``n`` units; ``fields`` are shown beside the bar (e.g. ``loss=0.1``)."""

    def update(self, completed: float | None = None, total: float | None = None, **fields: Any) -> None:
        """Set the absolute position and/or total, and the displayed fields."""


class Reporter:
    """Silent reporter. Subclasses (the CLI's rich reporter) display what it receives."""

    @contextmanager
    def progress(self, description: str, total: float | None = None, unit: str = "") -> Iterator[Progress]:
        """Open a progress bar for the duration of the ``with`` block."""
        yield Progress()

    def info(self, message: str) -> None:
        """A line of information for a human (e.g. where a file was written)."""

    def warn(self, message: str) -> None:
        """A warning that does not stop the command."""

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        """A small table (e.g. a filter report or a performance summary)."""


def resolve(report: Reporter | None) -> Reporter:
    """``report`` or a silent reporter when ``None``."""
    return report if report is not None else Reporter()
