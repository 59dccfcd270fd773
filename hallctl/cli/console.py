"""The CLI's output sink: a rich-backed Reporter and the one error-printing path.

Results go to stdout; progress, information, warnings and errors to stderr, so
``hallctl simulate --json`` stays machine-readable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from hallctl import report

__all__ = ["RichReporter", "err", "out", "print_error"]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class _RichProgress(report.Progress):
    def __init__(self, bar: Progress, task: Any, status_file: Path | None, description: str) -> None:
        self.bar, self.task, self.status_file, self.description = bar, task, status_file, description
        self.fields: dict[str, Any] = {}
        self._last_write = 0.0

    def _status(self) -> str:
        t = self.bar.tasks[0]
        parts = [f"{self.description}: {t.completed:g}/{t.total:g}" if t.total else
                 f"{self.description}: {t.completed:g}"]
        if t.speed:
            parts.append(f"{t.speed:.3g}/s")
        if t.time_remaining is not None:
            parts.append(f"ETA {t.time_remaining:.0f} s")
        parts += [f"{k}={v}" for k, v in self.fields.items()]
        return "  ".join(parts)

    def _write_status(self, force: bool = False) -> None:
        if self.status_file is None:
            return
        now = time.monotonic()
        if force or now - self._last_write > 1.0:
            self._last_write = now
            tmp = self.status_file.with_name(self.status_file.name + ".tmp")
            tmp.write_text(self._status() + "\n", encoding="utf-8")
            tmp.replace(self.status_file)

    def _show(self, fields: dict[str, Any]) -> None:
        self.fields.update(fields)
        text = "  ".join(f"{k} {_fmt(v)}" for k, v in self.fields.items())
        self.bar.update(self.task, info=text)

    def advance(self, n: float = 1, **fields: Any) -> None:
        self.bar.advance(self.task, n)
        self._show(fields)
        self._write_status()

    def update(self, completed: float | None = None, total: float | None = None, **fields: Any) -> None:
        self.bar.update(self.task, completed=completed, total=total)
        self._show(fields)
        self._write_status()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class RichReporter(report.Reporter):
    """Progress bars, info lines and tables on stderr (quiet mode prints warnings only)."""

    def __init__(self, *, quiet: bool = False, status_file: Path | None = None) -> None:
        self.quiet = quiet
        self.status_file = status_file

    @contextmanager
    def progress(self, description: str, total: float | None = None, unit: str = "") -> Iterator[report.Progress]:
        bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()
            if total and float(total).is_integer() else TaskProgressColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=err, disable=self.quiet, transient=False,
        )
        with bar:
            task = bar.add_task(description, total=total, info="")
            handle = _RichProgress(bar, task, self.status_file, description)
            try:
                yield handle
            finally:
                handle._write_status(force=True)

    def info(self, message: str) -> None:
        if not self.quiet:
            err.print(escape(message), soft_wrap=True)

    def warn(self, message: str) -> None:
        err.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        if self.quiet:
            return
        t = Table(title=title, title_justify="left", min_width=min(60, 20 + 12 * len(columns)))
        for i, c in enumerate(columns):
            t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for r in rows:
            t.add_row(*[_fmt(v) for v in r])
        err.print(t)


def print_error(message: str) -> None:
    """The one line a user error prints (red, on stderr)."""
    err.print(f"[bold red]error:[/bold red] [red]{escape(message)}[/red]", soft_wrap=True)
