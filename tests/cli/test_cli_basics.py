"""CLI backbone: version, help, init/config/doctor, error formatting and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hallctl.cli import main


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("hallctl ")


@pytest.mark.parametrize("cmd", [["init"], ["config", "show"], ["config", "check"], ["doctor"]])
def test_help_on_every_command(cmd, capsys):
    code, out, _ = run([*cmd, "--help"], capsys)
    assert code == 0 and "Usage" in out


def test_init_then_check_then_show(tmp_path, capsys):
    path = tmp_path / "p.toml"
    assert run(["init", str(path)], capsys)[0] == 0
    code, _, err = run(["init", str(path)], capsys)
    assert code == 2 and "--force" in err and "Traceback" not in err
    assert run(["config", "check", str(path)], capsys)[0] == 0
    code, out, _ = run(["config", "show", str(path), "--set", "generate.num_sims=9"], capsys)
    assert code == 0 and "num_sims = 9" in out


def test_user_error_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "p.toml"
    path.write_text("[generate]\nnum_sim = 5\n")
    code, _, err = run(["config", "check", str(path)], capsys)
    assert code == 2
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "num_sim" in lines[0] and "num_sims" in lines[0]


def test_bad_override_exit_2(capsys):
    code, _, err = run(["config", "show", "--set", "nonsense"], capsys)
    assert code == 2 and "section.key=value" in err


def test_unknown_option_is_usage_error(capsys):
    code, _, _ = run(["config", "show", "--bogus"], capsys)
    assert code == 2


def test_unexpected_error_hides_traceback_unless_debug(monkeypatch, capsys):
    import hallctl.cli.cmd_project as cmd

    def boom(*a, **k):
        raise ZeroDivisionError("surprise")

    monkeypatch.setattr(cmd, "load_project", boom)
    code, _, err = run(["config", "check"], capsys)
    assert code == 1 and "surprise" in err and "--debug" in err and "Traceback" not in err
    code, _, err = run(["--debug", "config", "check"], capsys)
    assert code == 1 and "Traceback" in err


def test_doctor_runs(capsys):
    code, out, _ = run(["doctor"], capsys)
    assert code == 0 and "torch" in out and "julia backend" in out


def test_python_dash_m():
    res = subprocess.run([sys.executable, "-m", "hallctl", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and "hallctl" in res.stdout
