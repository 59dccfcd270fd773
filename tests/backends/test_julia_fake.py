"""`hallctl generate --backend julia` down to the driver call, against a fake juliacall with juliacall's rules."""

from __future__ import annotations

import numpy as np
import pytest

from hallctl.cli import main
from hallctl.data.store import read_raw_shard
from tests.backends.fake_juliacall import FakeJulia, JuliaError, driver_signatures, fake_module
from tests.conftest import REPO, write_tiny_project


def generate(project, capsys, *args):
    code = main(["generate", str(project), *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def shards(folder):
    records = [read_raw_shard(p) for p in sorted((folder / "data" / "raw").glob("shard-*.h5"))]
    assert records
    return records


def by_index(records):
    out = {}
    for rec in records:
        for i, index in enumerate(rec.index):
            out[int(index)] = (rec, i)
    return out


def assert_one_line(code, err, *needles):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_generate_runs_through_the_driver_with_juliacalls_rules(fake_julia, tmp_path, capsys):
    julia = fake_julia(retcodes={1: "failure"})
    project = write_tiny_project(tmp_path / "julia")
    code, _, err = generate(project, capsys, "--backend", "julia", "-n", 4, "-t", 2)
    assert code == 0, err

    # juliacall was imported with the executable and the project together, threads and signal handling set
    assert julia.environ == {"PYTHON_JULIACALL_EXE": julia.executable, "PYTHON_JULIACALL_PROJECT": julia.project,
                             "PYTHON_JULIACALL_THREADS": "2", "PYTHON_JULIACALL_HANDLE_SIGNALS": "yes",
                             "PYTHON_JULIAPKG_OFFLINE": "yes"}
    # a warm-up on the main thread, then one simulation per call, GIL released, on worker threads
    assert [c[0] for c in julia.calls] == ["run_one"] * 5
    assert all(kinds == ["String", "Float64", "Int64"] for _, kinds, _ in julia.calls)
    assert julia.calls[0][2] and not any(main_thread for _, _, main_thread in julia.calls[1:])
    assert julia.nogil_calls == 4 and julia.yields >= 1
    assert all(doc["config"]["filter_circuit"]["elements"] == [] for doc in julia.inputs)

    records = by_index(shards(tmp_path / "julia"))
    assert sorted(records) == [0, 1, 2, 3]
    rec, i = records[1]
    assert rec.status[i] == "failure" and "HallThruster.jl returned failure: NaN detected" in rec.reason[i]
    assert np.isnan(rec.fields[i]).all()
    for index in (0, 2, 3):
        rec, i = records[index]
        assert rec.status[i] == "success"
        assert np.isfinite(rec.fields[i]).all() and np.isfinite(rec.series[i]).all()
        perf = dict(zip(rec.performance_names, rec.performance[i], strict=True))
        tev = rec.fields[i, rec.field_names.index("Tev")]
        assert perf["max_Te_eV"] == pytest.approx(float(tev.max()), rel=1e-6)
        assert perf["z_max_Te_m"] == pytest.approx(float(rec.z_m[np.argmax(tev)]))
        assert np.all(np.isfinite(list(perf.values())))
        assert rec.steps[i] > 0 and rec.wall_s[i] == pytest.approx(0.01)
        assert (rec.fields[i, rec.field_names.index("ni_3")] > 0).all()  # 3 charge states written and returned


def test_julia_records_have_the_native_schema(fake_julia, tmp_path, capsys):
    fake_julia()
    code, _, err = generate(write_tiny_project(tmp_path / "julia"), capsys, "--backend", "julia", "-n", 2, "-t", 1)
    assert code == 0, err
    code, _, err = generate(write_tiny_project(tmp_path / "native"), capsys, "-n", 2, "-t", 1)
    assert code == 0, err
    julia, native = shards(tmp_path / "julia")[0], shards(tmp_path / "native")[0]
    for name in ("field_names", "field_units", "series_names", "performance_names", "param_names"):
        assert getattr(julia, name) == getattr(native, name), name
    for name in ("z_m", "t_s", "params", "anom_z_m", "anom_profile", "index", "seed"):
        np.testing.assert_array_equal(getattr(julia, name), getattr(native, name), err_msg=name)
    for name in ("fields", "series", "performance", "steps", "wall_s"):
        a, b = getattr(julia, name), getattr(native, name)
        assert a.shape == b.shape and a.dtype == b.dtype, name
    assert set(julia.attrs) == set(native.attrs)
    assert julia.attrs["backend"] == "julia" and native.attrs["backend"] == "native"
    assert julia.status == native.status == ["success", "success"]


def test_without_nogil_batches_go_to_run_batch_as_pylists(fake_julia, tmp_path, capsys):
    julia = fake_julia(nogil=False)
    code, _, err = generate(write_tiny_project(tmp_path), capsys, "--backend", "julia", "-n", 3, "-t", 2)
    assert code == 0, err
    batches = [kinds for name, kinds, _ in julia.calls if name == "run_batch"]
    assert batches == [["PyList", "PyList", "PyList"]] * 2  # 2 + 1 simulations
    records = by_index(shards(tmp_path))
    assert [records[i][0].status[records[i][1]] for i in range(3)] == ["success"] * 3


def test_a_typed_julia_method_refuses_pylists(tmp_path):
    """What the driver's run_batch(paths::Vector{String}, …) did: juliacall's PyList does not match it."""
    old = tmp_path / "generate.jl"
    old.write_text("module HallctlDriver\nfunction run_batch(paths::Vector{String}, average_starts::Vector{Float64}, "
                   "max_charge::Int)\nend\nfunction run_one(path::String, s::Float64, m::Int)\nend\nend\n")
    julia = FakeJulia()
    julia.include(str(old))
    with pytest.raises(JuliaError, match=r"MethodError: no method matching run_batch\(::PyList"):
        julia.HallctlDriver.run_batch(["a.json"], [0.0], 1)
    current = driver_signatures((REPO / "julia" / "generate.jl").read_text())
    assert current["run_batch"] == ["AbstractVector"] * 3
    assert current["run_one"] == ["AbstractString", "Real", "Integer"]


def test_juliacall_needs_executable_and_project_together(clean_julia_environment):
    clean_julia_environment.setenv("PYTHON_JULIACALL_EXE", "/usr/bin/julia")
    with pytest.raises(RuntimeError, match="set together"):
        fake_module(FakeJulia()).Main  # noqa: B018 - the attribute access is the import


def test_a_driver_that_cannot_load_is_one_line(fake_julia, tmp_path, capsys):
    fake_julia(include_error="LoadError: HallThruster.jl 0.21.7 is installed, but hallctl's julia backend needs "
                             "exactly 0.21.6: julia -e '…'\nin expression starting at generate.jl:22")
    code, _, err = generate(write_tiny_project(tmp_path), capsys, "--backend", "julia", "-n", 2)
    assert_one_line(code, err, "could not start Julia through juliacall", "0.21.7")


def test_an_input_hallthruster_cannot_read_stops_the_campaign_in_one_line(fake_julia, tmp_path, capsys):
    fake_julia(retcodes={-1: "exception"})  # the warm-up run
    code, _, err = generate(write_tiny_project(tmp_path), capsys, "--backend", "julia", "-n", 2)
    assert_one_line(code, err, "HallThruster.jl cannot run hallctl's input", "KeyError")


@pytest.mark.parametrize(("found", "needle"), [("0.21.7", "HallThruster.jl 0.21.7 is installed"),
                                               ("", "HallThruster.jl is not installed")])
def test_another_hallthruster_version_is_refused_before_julia_starts(fake_julia, tmp_path, capsys, found, needle):
    julia = fake_julia(hallthruster=found)
    code, _, err = generate(write_tiny_project(tmp_path), capsys, "--backend", "julia", "-n", 2)
    assert_one_line(code, err, needle, "0.21.6")
    assert julia.environ == {} and not (tmp_path / "data").exists()


def test_missing_juliacall_is_refused(fake_julia, tmp_path, capsys):
    fake_julia(juliacall="")
    code, _, err = generate(write_tiny_project(tmp_path), capsys, "--backend", "julia", "-n", 2)
    assert_one_line(code, err, "juliacall is not installed", "hallctl[julia]")


def test_doctor_reports_the_versions(fake_julia, capsys):
    fake_julia()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for needle in ("1.11.5", "HallThruster.jl", "0.21.6", "PythonCall.jl", "0.9.28", "ready"):
        assert needle in out, needle
