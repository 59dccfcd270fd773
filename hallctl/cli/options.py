"""Options shared by several commands, declared once so their help is identical everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ProjectArg", "QuietOpt", "SetOpt"]

ProjectArg = Annotated[
    Path | None,
    typer.Argument(help="Project file (default: ./hallctl.toml if present, else built-in defaults).",
                   show_default=False),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override any project value: section.key=value (repeatable).",
                 show_default=False),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or info lines.")]
