"""``hallctl init`` and ``hallctl config show|check``: a project as a complete, commented TOML file.

Every key is preceded by its one-line description; the output round-trips through
``hallctl.project.load_project``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tomli_w

from hallctl.atomic import atomic_write
from hallctl.errors import ProjectError
from hallctl.project import SECTIONS, Project

__all__ = ["render_project", "write_project_file"]

_HEADER = """\
# hallctl project file.
# Every subcommand reads this file; command-line options override it, and any value can be
# overridden with --set section.key=value. Relative paths are relative to this file's folder.
# Check it with `hallctl config check`; print the resolved values with `hallctl config show`.
"""

_PRIORS_NOTE = """\
# Priors of the campaign parameters: { dist = ..., arguments }.
#   uniform / loguniform: low, high
#   normal / truncated-normal: mean, std, optional low / high (truncation)
#   lognormal: mean, std of ln X, optional low / high (truncation of X)
#   fixed: value
"""


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return tomli_w.dumps({"v": v}).split("=", 1)[1].strip()


def _inline(table: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in table.items()) + " }"


def render_project(project: Project, *, comments: bool = True) -> str:
    """The project as TOML text, with descriptions as comments when ``comments``."""
    data = project.to_dict()
    lines: list[str] = [_HEADER] if comments else []
    for name, cls in SECTIONS.items():
        if comments:
            lines.append(f"# {(cls.__doc__ or '').strip().splitlines()[0]}")
        lines.append(f"[{name}]")
        for f in dataclasses.fields(cls):
            if f.name == "params":
                continue
            if comments:
                lines.append(f"# {f.metadata.get('help', '')}")
            lines.append(f"{f.name} = {_value(data[name][f.name])}")
        lines.append("")
        if name == "generate":
            if comments:
                lines.append(_PRIORS_NOTE.rstrip())
            lines.append("[generate.params]")
            for pname, prior in data["generate"]["params"].items():
                lines.append(f"{pname} = {_inline(prior)}")
            lines.append("")
    return "\n".join(lines)


def write_project_file(path: str | Path, *, project: Project | None = None, force: bool = False) -> Path:
    """Write a commented project file; refuses to overwrite unless ``force``.

    Raises:
        ProjectError: the file exists and ``force`` is False.
    """
    target = Path(path)
    if target.exists() and not force:
        raise ProjectError(f"{target} already exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target) as tmp:
        tmp.write_text(render_project(project or Project()), encoding="utf-8")
    return target
