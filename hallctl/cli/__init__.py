"""The ``hallctl`` command: one Typer app, one module per group of commands.

``main()`` is the single exit path: user errors (``HallctlError``) print one red line and exit
with their code (2); Ctrl-C exits 130 (finished work is already on disk); an unexpected error
prints one line and exits 1, with the traceback only under ``--debug`` or ``HALLCTL_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
import traceback

from hallctl.cli import state
from hallctl.cli.app import app
from hallctl.cli.console import err, print_error
from hallctl.errors import HallctlError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to an exit code."""
    state.debug = os.environ.get("HALLCTL_DEBUG", "") not in ("", "0")
    try:
        app(args=argv, prog_name="hallctl")  # standalone: typer formats usage errors (exit 2)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except HallctlError as exc:
        if state.debug:
            traceback.print_exc()
        print_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: finished work is on disk; run the same command to resume[/yellow]")
        return 130
    except Exception as exc:
        if state.debug:
            traceback.print_exc()
            return 1
        print_error(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback, "
                    "and report it if it persists)")
        return 1
    return 0


def run() -> None:  # pragma: no cover - console-script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
