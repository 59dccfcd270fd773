"""The training loop: learning, outputs, exact resume, loud failures (docs/model.md §4-6)."""

from __future__ import annotations

import csv
import json
import math
from contextlib import contextmanager

import pytest
import torch
from safetensors import safe_open

from hallctl.errors import ModelError
from hallctl.model import ModelConfig, TrainSettings, build_precond, load_model, posthoc_ema, train
from hallctl.model.lr_schedule import learning_rate
from hallctl.report import Progress, Reporter
from tests.model.conftest import synthetic_profiles, tiny_settings

DATASET = {"rows": ["a", "b", "c"], "grid_m": list(range(16)), "normalization": {"mean": [0, 0, 0]}}


class Recorder(Reporter):
    """Keeps warnings; raises KeyboardInterrupt on the n-th progress advance (n = None: never)."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.warnings: list[str] = []
        self.interrupt_at = interrupt_at

    @contextmanager
    def progress(self, description, total=None, unit=""):
        outer = self

        class Bar(Progress):
            calls = 0

            def advance(self, n=1, **fields):
                assert {"loss", "samples_per_s"} <= set(fields)
                Bar.calls += 1
                if Bar.calls == outer.interrupt_at:
                    raise KeyboardInterrupt

        yield Bar()

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def read_metrics(run_dir):
    with (run_dir / "metrics.csv").open() as f:
        return list(csv.DictReader(f))


def tensors(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny training run shared by the output checks: 300 steps, power and fixed EMA."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = ModelConfig(channels=16, channel_mult=(1, 2), num_blocks=1, attn_resolutions=(8,), channels_per_head=16)
        x = synthetic_profiles(320)
        settings = tiny_settings(
            duration_nimg=16 * 300,
            val_every_nimg=16 * 50,
            ema_snapshot_every_nimg=16 * 25,
            checkpoint_every_nimg=16 * 100,
            fixed_ema_decay=0.99,
            ema_stds=(0.05, 0.1, 0.07),
        )
        run_dir = tmp_path_factory.mktemp("run")
        summary = train(x[:256], x[256:], model_config=cfg, settings=settings, run_dir=run_dir, dataset_meta=DATASET)
        return run_dir, summary, cfg
    finally:
        torch.set_num_threads(threads)


def test_tiny_model_lowers_its_validation_loss(run):
    run_dir, summary, _ = run
    rows = read_metrics(run_dir)
    assert [int(r["nimg"]) for r in rows] == [16 * 50 * k for k in range(1, 7)]
    first, last = float(rows[0]["val_raw"]), float(rows[-1]["val_raw"])
    assert last < 0.75 * first
    assert float(rows[-1]["val_ema"]) < 0.75 * float(rows[0]["val_ema"])
    assert summary.nimg == 16 * 300 and summary.nonfinite_steps == 0 and "samples/s" in str(summary)


def test_run_directory_holds_every_output(run):
    run_dir, summary, cfg = run
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "training_options.json",
        "metrics.csv",
        "checkpoint",
        "ema-snapshots",
        "model.safetensors",
        "ema-0.05.safetensors",
        "ema-0.1.safetensors",
        "ema-0.07.safetensors",
        "ema-fixed-0.99.safetensors",
    } <= names
    options = json.loads((run_dir / "training_options.json").read_text())
    assert options["seed"] == 0 and options["settings"]["device"] == "cpu"
    assert options["model_config"] == cfg.to_dict()
    header = read_metrics(run_dir)[0].keys()
    for column in (
        "step",
        "nimg",
        "lr",
        "train_loss",
        "grad_norm",
        "val_raw",
        "val_ema",
        "val_raw_sigma0.05",
        "val_ema_sigma2",
        "samples_per_s",
        "nonfinite_steps",
    ):
        assert column in header
    for path in summary.outputs:
        net, record = load_model(path)
        assert record["dataset"] == DATASET and record["nimg"] == 16 * 300
        assert ModelConfig.from_dict(record["model_config"]) == cfg
        assert torch.isfinite(net(torch.randn(2, 3, 16), 0.5)).all()
    assert load_model(run_dir / "ema-0.1.safetensors")[1]["ema"]["std"] == 0.1
    assert load_model(run_dir / "ema-fixed-0.99.safetensors")[1]["ema"] == {"kind": "fixed", "decay": 0.99}


def test_posthoc_matches_the_tracked_profile_of_a_run(run, tmp_path):
    run_dir, _, _ = run
    for p in (run_dir / "ema-snapshots").glob("*-0.07.safetensors"):
        p.unlink()  # reconstruct 0.07 from the 0.05 and 0.1 snapshots only
    direct = tensors(run_dir / "ema-0.07.safetensors")
    raw = tensors(run_dir / "model.safetensors")
    (path,) = posthoc_ema(run_dir, [0.07])
    rebuilt = tensors(path)
    num = sum((rebuilt[k] - direct[k]).square().sum() for k in direct)
    den = sum((raw[k] - direct[k]).square().sum() for k in direct)
    assert math.sqrt(num / den) < 0.05


def test_resume_after_ctrl_c_is_bitwise_identical(tmp_path, tiny_cfg, profiles):
    settings = tiny_settings(duration_nimg=16 * 24, checkpoint_every_nimg=16 * 100)
    train(profiles, model_config=tiny_cfg, settings=settings, run_dir=tmp_path / "a", dataset_meta={})
    with pytest.raises(KeyboardInterrupt):
        train(
            profiles,
            model_config=tiny_cfg,
            settings=settings,
            run_dir=tmp_path / "b",
            dataset_meta={},
            report=Recorder(interrupt_at=11),
        )
    assert (tmp_path / "b" / "checkpoint" / "state.pt").is_file()
    assert not (tmp_path / "b" / "model.safetensors").exists()
    summary = train(profiles, model_config=tiny_cfg, settings=settings, run_dir=tmp_path / "b", dataset_meta={})
    assert summary.resumed_from_nimg == 16 * 11
    for name in ("model.safetensors", "ema-0.05.safetensors", "ema-0.1.safetensors"):
        a, b = tensors(tmp_path / "a" / name), tensors(tmp_path / "b" / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
    strip = [{k: v for k, v in r.items() if k != "samples_per_s"} for r in read_metrics(tmp_path / "a")]
    assert strip == [{k: v for k, v in r.items() if k != "samples_per_s"} for r in read_metrics(tmp_path / "b")]


def test_restart_starts_over(tmp_path, tiny_cfg, profiles):
    settings = tiny_settings(duration_nimg=16 * 4)
    train(profiles, model_config=tiny_cfg, settings=settings, run_dir=tmp_path, dataset_meta={})
    again = train(profiles, model_config=tiny_cfg, settings=settings, run_dir=tmp_path, dataset_meta={})
    assert again.resumed_from_nimg == 16 * 4 and again.steps == 4  # already done: nothing to train
    fresh = train(profiles, model_config=tiny_cfg, settings=settings, run_dir=tmp_path, dataset_meta={}, restart=True)
    assert fresh.resumed_from_nimg is None and fresh.steps == 4


def test_resume_with_other_data_or_model_fails_in_one_line(tmp_path, tiny_cfg, profiles):
    settings = tiny_settings(duration_nimg=16 * 2)
    train(profiles, model_config=tiny_cfg, settings=settings, run_dir=tmp_path, dataset_meta={})
    longer = tiny_settings(duration_nimg=16 * 4)
    for data, cfg, match in (
        (synthetic_profiles(64, rows=2), tiny_cfg, "3 rows × 16 points but the dataset has 2 × 16"),
        (synthetic_profiles(64, length=32), tiny_cfg, "3 rows × 16 points but the dataset has 3 × 32"),
        (profiles, ModelConfig(**{**tiny_cfg.to_dict(), "num_blocks": 2}), r"differs in \['num_blocks'\]"),
    ):
        with pytest.raises(ModelError, match=match) as info:
            train(data, model_config=cfg, settings=longer, run_dir=tmp_path, dataset_meta={})
        assert "\n" not in str(info.value)


def test_bad_length_and_settings_raise_model_error(tmp_path, tiny_cfg):
    with pytest.raises(ModelError, match="not divisible"):
        train(
            synthetic_profiles(32, length=15),
            model_config=tiny_cfg,
            settings=tiny_settings(),
            run_dir=tmp_path,
            dataset_meta={},
        )
    with pytest.raises(ModelError, match="batch_size"):
        TrainSettings(batch_size=0)
    with pytest.raises(ModelError, match=r"train\.amp"):
        train(
            synthetic_profiles(32),
            model_config=tiny_cfg,
            settings=tiny_settings(amp="fp8"),
            run_dir=tmp_path,
            dataset_meta={},
        )
    with pytest.raises(ModelError, match="labels"):
        train(
            synthetic_profiles(32),
            labels=torch.zeros(32, 2),
            model_config=tiny_cfg,
            settings=tiny_settings(),
            run_dir=tmp_path,
            dataset_meta={},
        )


def test_non_finite_gradients_are_skipped_and_counted(tmp_path, tiny_cfg, profiles):
    data = profiles.clone()
    data[7, 0, 3] = float("nan")  # one poisoned example: once per epoch of 10 steps
    summary = train(
        data,
        profiles[:32],
        model_config=tiny_cfg,
        settings=tiny_settings(duration_nimg=16 * 20),
        run_dir=tmp_path,
        dataset_meta={},
    )
    assert summary.nonfinite_steps == 2
    assert int(read_metrics(tmp_path)[-1]["nonfinite_steps"]) == 2
    net, _ = load_model(tmp_path / "model.safetensors")
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_compile_failure_falls_back_to_eager(tmp_path, tiny_cfg, profiles, monkeypatch):
    def broken(fn, *args, **kwargs):
        def call(*a, **k):
            raise RuntimeError("no compiler here")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    report = Recorder()
    summary = train(
        profiles,
        model_config=tiny_cfg,
        settings=tiny_settings(duration_nimg=16 * 3, compile=True),
        run_dir=tmp_path,
        dataset_meta={},
        report=report,
    )
    assert summary.nimg == 48 and not summary.compiled
    assert any("torch.compile failed" in w for w in report.warnings)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile's own use of torch.jit
def test_compiled_training_step_gives_the_eager_gradients(tmp_path, tiny_cfg, profiles):
    """torch.compile traces the fused layers (Conv3, NormalizedConv), and the weights are forced (Eq. 66) outside
    the compiled graph, so a compiled step has eager mode's loss and gradients (in-graph forcing did not)."""
    from hallctl.model.loop import Trainer

    results = []
    for compiled in (False, True):
        (tmp_path / str(compiled)).mkdir()
        trainer = Trainer(profiles, None, None, None, cfg=tiny_cfg, settings=tiny_settings(compile=compiled),
                          run_dir=tmp_path / str(compiled), dataset_meta={}, device=torch.device("cpu"),
                          amp_dtype=None, report=Recorder())
        with torch.no_grad():
            trainer.net.unet.out_gain.fill_(0.5)
        x = profiles[:8]
        trainer._forward_backward(x, None)
        assert (trainer.net.runner is not None) == compiled  # no fallback to eager mode
        results.append({n: p.grad.clone() for n, p in trainer.net.named_parameters() if p.grad is not None})
    eager, comp = results
    assert comp.keys() == eager.keys() and len(eager) > 20
    for name, g in eager.items():
        torch.testing.assert_close(comp[name], g, rtol=1e-3, atol=1e-5, msg=name)


def test_the_training_unet_traces_as_one_graph(tiny_cfg):
    """torch.compile sees the whole training forward (fused layers included) as one graph: a graph break
    (e.g. an op with out= into a strided view) would split it into many small compiled pieces, slower
    than eager mode."""
    import torch._dynamo

    from hallctl.model.runtime import force_weights

    net = build_precond(tiny_cfg, 3, 16).train()
    force_weights(net.unet)
    explained = torch._dynamo.explain(net.unet)(torch.randn(2, 3, 16), torch.randn(2))
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]
    assert explained.graph_count == 1


def test_learning_rate_ramps_up_then_decays_as_inverse_sqrt():
    lr = dict(lr_ref=0.01, lr_ref_nimg=1000, lr_rampup_nimg=100)
    assert learning_rate(50, **lr) == pytest.approx(0.005)
    assert learning_rate(500, **lr) == pytest.approx(0.01)
    assert learning_rate(4000, **lr) == pytest.approx(0.005)
    assert learning_rate(4000, lr_ref=0.01, lr_ref_nimg=0, lr_rampup_nimg=0) == 0.01


def test_bf16_autocast_trains_on_the_cpu(tmp_path, tiny_cfg, profiles):
    summary = train(
        profiles,
        model_config=tiny_cfg,
        settings=tiny_settings(duration_nimg=16 * 3, amp="bf16"),
        run_dir=tmp_path,
        dataset_meta={},
    )
    assert summary.amp == "bf16" and math.isfinite(summary.train_loss)
    net, _ = load_model(tmp_path / "model.safetensors")
    assert all(p.dtype == torch.float32 for p in net.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_learns_and_resumes(tmp_path, tiny_cfg, profiles):
    settings = tiny_settings(duration_nimg=16 * 200, val_every_nimg=16 * 50, device="cuda", amp="auto")
    with pytest.raises(KeyboardInterrupt):
        train(
            profiles,
            model_config=tiny_cfg,
            settings=settings,
            run_dir=tmp_path,
            dataset_meta={},
            report=Recorder(interrupt_at=120),
        )
    summary = train(profiles, model_config=tiny_cfg, settings=settings, run_dir=tmp_path, dataset_meta={})
    assert summary.device.startswith("cuda") and summary.amp == "bf16" and summary.resumed_from_nimg == 16 * 120
    rows = read_metrics(tmp_path)
    assert [int(r["nimg"]) for r in rows] == [800, 1600, 2400, 3200]
    assert float(rows[-1]["val_raw"]) < 0.8 * float(rows[0]["val_raw"])
    net, _ = load_model(tmp_path / "ema-0.1.safetensors", device="cuda")
    assert torch.isfinite(net(torch.randn(2, 3, 16, device="cuda"), 0.5)).all()


@pytest.mark.parametrize("limit_factor", [0.5, 2.0])
def test_gradients_are_clipped_to_the_limit_and_untouched_below_it(tmp_path, tiny_cfg, profiles, limit_factor):
    """train.grad_clip scales the gradients to the limit when their norm exceeds it; below the limit the step
    skips the scaling pass, and Adam sees the gradients as the backward left them."""
    from hallctl.model.loop import Trainer

    def trainer(clip: float) -> Trainer:
        run = tmp_path / f"clip{clip:g}"
        run.mkdir()
        return Trainer(profiles, None, None, None, cfg=tiny_cfg, settings=tiny_settings(grad_clip=clip),
                       run_dir=run, dataset_meta={}, device=torch.device("cpu"), amp_dtype=None, report=Recorder())

    probe = trainer(0.0)
    probe.opt.step = lambda: None  # keep the gradients as the backward left them
    _, norm = probe.train_step()
    raw = [p.grad.clone() for p in probe.params]
    limit = limit_factor * norm
    clipped = trainer(limit)
    clipped.opt.step = lambda: None
    _, reported = clipped.train_step()
    assert reported == pytest.approx(norm, rel=1e-6)  # the norm before clipping
    after = torch.nn.utils.get_total_norm([p.grad for p in clipped.params]).item()
    if limit < norm:
        assert after == pytest.approx(limit, rel=1e-5)
    else:
        for g, r in zip((p.grad for p in clipped.params), raw, strict=True):
            assert torch.equal(g, r)
