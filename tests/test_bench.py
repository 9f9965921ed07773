"""`python -m experiments.bench --quick` end to end on the real Last.fm core-5 split.

Runs the driver in a subprocess (its own absl flags and TensorFlow state; importing it here
could clash with the flags of other drivers imported by other tests), reading the data from
DAEPTR_DATA only: no download, and the user's cache is not looked at.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import pytest

REAL_DATA = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not os.environ.get("DAEPTR_DATA"),
        reason="real-data test: set DAEPTR_DATA to the folder holding the official "
        "hetrec2011-lastfm-2k/ files (the benchmark runs on the Last.fm core-5 split)",
    ),
]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(tmp_path, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "DAEPTR_CACHE": str(tmp_path / "cache"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    return subprocess.run(
        [sys.executable, "-m", "experiments.bench", f"--output_dir={tmp_path / 'out'}",
         "--nodownload", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@REAL_DATA[0]
@REAL_DATA[1]
def test_quick_bench_writes_positive_numbers(tmp_path):
    proc = _run(tmp_path, "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "quick" / "bench" / "bench.json").read_text())
    assert (tmp_path / "out" / "quick" / "bench" / "bench.md").read_text() in proc.stdout

    s = result["settings"]
    assert (s["quick"], s["latent_dim"], s["dataset"], s["core"]) == (True, 16, "lastfm", 5)
    assert not s["smoke"]
    assert result["tensorflow"] and result["device_summary"]
    data = result["data"]
    assert data["tags"] > 0 and data["train_posts"] > 0 and data["test_posts"] > 0

    variants = {(v["encoder"], v["jit"], v["precision"]) for v in result["variants"]}
    assert variants == {(e, j, p) for e in ("sparse", "dense") for j in (False, True)
                        for p in ("float32", "mixed_bfloat16")}
    for v in result["variants"]:
        for key in ("step_s", "posts_per_s", "epoch_s", "flops_per_step", "train_flops_per_s",
                    "matmul_flops_per_s", "train_vs_matmul", "eval_s", "peak_rss_bytes"):
            assert v[key] > 0, (v["encoder"], v["jit"], key, v[key])
        assert len(v["step_times_s"]) == s["steps"]
        assert v["steps_per_epoch"] == -(-data["train_posts"] // s["batch_size"])
        assert v["epoch_s"] == pytest.approx(v["steps_per_epoch"] * v["step_s"])
        assert v["flops_per_step"] == _expected_flops(
            s["batch_size"], data["width"], data["tags"], 16, v["encoder"])
        assert v["eval_posts"] == data["test_posts"]
        assert v["gpu_peak_bytes"] is None or v["gpu_peak_bytes"] > 0
    for ref in result["matmul"]:
        assert ref["flops_per_s"] > 0


@REAL_DATA[0]
@REAL_DATA[1]
def test_pairwise_bench_times_each_baselines_step_with_its_committed_settings(tmp_path):
    proc = _run(tmp_path, "--pairwise", f"--data_dir={os.environ['DAEPTR_DATA']}",
                "--steps=3", "--warmup=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out" / "bench" / "pairwise"
    result = json.loads((out / "bench.json").read_text())
    assert (out / "bench.md").read_text() in proc.stdout
    assert [r["model"] for r in result["rows"]] == ["pitf", "nltf", "abnt"]
    for r in result["rows"]:
        assert "error" not in r, r
        assert r["width"] > r["mean_tags"] > 1 and len(r["step_times_s"]) == 3
        assert r["epoch_s"] == pytest.approx(r["steps_per_epoch"] * r["step_s"]) and r["step_s"] > 0
    assert result["rows"][0]["hparams"]["latent_dim"] == 128  # Last.fm core-5's choice


@pytest.mark.parametrize("arg, why", [
    ("--encoder=conv", "flag --encoder=conv: value should be one of <sparse|dense|both>"),
    ("--jit=maybe", "value should be one of <false|true|both>"),
    ("--dataset=ml100k", "--dataset=ml100k: the CDAE benchmark times one fold, e.g. ml100k-fold1"),
    ("--end_to_end --dataset=ml100k-fold1", "--dataset=ml100k-fold1: the benchmark runs on "
     "lastfm-coreP or ml10m-coreP"),
    ("--dataset=ml100k-fold1 --batch_size=0", "--batch_size must be >= 1, got 0"),
    ("--dataset=lastfm", "--dataset: 'lastfm' is not one of"),
    ("--steps=0", "0 is not a positive integer"),
    ("--warmup=0", "0 is not a positive integer"),
    ("--rounds=31", "--rounds must be <= steps=30, got 31"),
    ("--latent_dim=-1", "--latent_dim must be >= 1, got -1"),
    ("--batch_size=0", "--batch_size must be >= 1, got 0"),
    ("--precisions=float16", "--precisions must be a non-empty subset of ('float32', "
     "'mixed_bfloat16'), got ('float16',)"),
    ("--end_to_end --after=schedule=step", "--after: schedule must be one of"),
    ("--end_to_end --after=colour=red", "--after='colour=red': expected NAME=VALUE"),
    ("--end_to_end --after=corruption=2", "--after: MaskOut: `rate` must be in [0, 1]"),
    ("--end_to_end --before=sparse_slots=-1", "--before: sparse_slots must be >= 0, got -1"),
    ("--pairwise", "--pairwise times real data: give --data_dir, not --smoke/--quick"),
])
def test_bad_flag_values_are_one_line_errors_and_write_nothing(arg, why, tmp_path):
    from experiments import bench, cli

    with pytest.raises(SystemExit) as exit_:
        cli.call(bench, [*arg.split(), "--smoke", f"--output_dir={tmp_path / 'out'}"])
    assert why in str(exit_.value) and "\n" not in str(exit_.value)
    assert not (tmp_path / "out").exists()


def test_smoke_bench_runs_on_synthetic_data_without_a_data_folder(tmp_path, monkeypatch, capsys):
    from experiments import bench, cli

    monkeypatch.delenv("DAEPTR_DATA", raising=False)
    cli.call(bench, ["--smoke", "--encoder=sparse", "--jit=false", f"--output_dir={tmp_path}"])
    result = json.loads((tmp_path / "smoke" / "bench" / "bench.json").read_text())
    assert result["settings"]["smoke"] and result["settings"]["latent_dim"] == 16
    assert result["variants"][0]["step_s"] > 0 and result["data"]["test_posts"] > 0
    assert "(--smoke: synthetic data)" in capsys.readouterr().out
    penalty = result["penalty_ms"]  # Eq. 12 over every weight, in XLA and in TF's kernels
    assert penalty["xla"] > 0 and penalty["tensorflow"] > 0
    data = result["data"]
    assert penalty["weights"] == 16 * (2 * data["tags"] + data["users"] + data["items"] + 1) + data["tags"]
    # float32 and mixed_bfloat16 side by side, each with its own matmul reference
    assert [v["precision"] for v in result["variants"]] == ["float32", "mixed_bfloat16"]
    assert sorted(m["dtype"] for m in result["matmul"]) == ["bfloat16", "float32"]
    for precision, variant in zip(("float32", "mixed_bfloat16"), result["variants"]):
        summary = result["precision"][precision]
        assert summary["step_ms"] == pytest.approx(1e3 * variant["step_s"])
        assert variant["step_s"] > 0
        assert set(variant["draw_ms"]) == {"keras_default", "philox"}
        assert min(variant["draw_ms"].values()) > 0
        assert summary["epoch_s"] > 0 and summary["matmul_gflop_per_s"] > 0


def test_smoke_end_to_end_runs_before_and_after_settings_one_after_the_other(tmp_path,
                                                                            monkeypatch):
    from experiments import bench, cli

    monkeypatch.delenv("DAEPTR_DATA", raising=False)
    # Both precisions named: today's is "auto", which depends on the machine.
    cli.call(bench, ["--smoke", "--end_to_end", "--before=sparse_slots=0,precision=float32",
                     "--after=precision=mixed_bfloat16,schedule=linear", f"--output_dir={tmp_path}"])
    out = tmp_path / "smoke" / "bench" / "end_to_end"
    result = json.loads((out / "bench.json").read_text())
    # "before" is today's committed settings (Last.fm's cosine schedule) changed by --before.
    assert result["settings"]["changed"] == {
        "before": {"sparse_slots": 0, "precision": "float32", "schedule": "cosine"},
        "after": {"precision": "mixed_bfloat16", "schedule": "linear"}}
    assert "before: sparse_slots=0, precision=float32" in (out / "bench.md").read_text()
    arms = result["end_to_end"]
    assert list(arms) == ["before", "after"]
    for arm in arms.values():
        assert arm["seconds"] > 0 and 0 <= arm["val_ndcg@3"] <= 1 and 0 <= arm["test_ndcg@3"] <= 1
        assert arm["other_load"] is None or 0 <= arm["other_load"] <= 1
    assert (arms["after"]["train"]["precision"], arms["after"]["train"]["schedule"]) == (
        "mixed_bfloat16", "linear")
    assert arms["after"]["hparams"] == {k: v for k, v in arms["before"]["hparams"].items()
                                        if k != "sparse_slots"}  # the validated settings
    records = {p.parent.parent.name: json.loads(p.read_text()) for p in out.rglob("run.json")}
    assert records["after"]["settings"]["train"]["precision"] == "mixed_bfloat16"
    assert records["before"]["result"]["seconds"] == arms["before"]["seconds"]


def _expected_flops(B, L, T, K, encoder):
    """Forward: encoder 2·B·L·K (sparse) or 2·B·|T|·K (dense), decoder 2·B·K·|T|; backward:
    2× the decoder (∂W′, ∂z) and 1× the encoder (∂W only; ỹ is data)."""
    encoder_fwd = 2 * B * (L if encoder == "sparse" else T) * K
    decoder_fwd = 2 * B * K * T
    return 2 * encoder_fwd + 3 * decoder_fwd


def test_smoke_cdae_bench_times_fit_epochs_and_full_evaluations(tmp_path, monkeypatch, capsys):
    from experiments import bench, cli

    monkeypatch.delenv("DAEPTR_DATA", raising=False)
    cli.call(bench, ["--smoke", "--dataset=ml100k-fold1", f"--output_dir={tmp_path}"])
    result = json.loads((tmp_path / "smoke" / "bench" / "cdae" / "bench.json").read_text())
    assert result["settings"]["latent_dim"] == 50 and result["settings"]["batch_size"] == 256
    assert [v["jit"] for v in result["variants"]] == [False, True]
    for variant in result["variants"]:
        assert len(variant["epoch_times_s"]) == result["settings"]["epochs"]
        assert variant["epoch_s"] == pytest.approx(statistics.median(variant["epoch_times_s"]))
        assert variant["step_ms"] == pytest.approx(
            1e3 * variant["epoch_s"] / -(-variant["users"] // 256))
        assert variant["eval_s"] > 0 and variant["eval_users"] > 0
        assert variant["draw_ms"]["keras_default"] > 0 and variant["draw_ms"]["philox"] > 0
        summary = result["cdae"][f"jit_{str(variant['jit']).lower()}"]
        assert summary["epoch_s"] == variant["epoch_s"] and summary["eval_s"] == variant["eval_s"]
    assert "RecBole" in capsys.readouterr().out


def test_the_step_record_carries_the_trees_end_to_end_record_in_short(tmp_path, monkeypatch):
    from experiments import bench, cli

    monkeypatch.delenv("DAEPTR_DATA", raising=False)
    cli.call(bench, ["--smoke", "--end_to_end", f"--output_dir={tmp_path}"])
    cli.call(bench, ["--smoke", "--encoder=sparse", "--jit=false", "--precisions=float32",
                     f"--output_dir={tmp_path}"])
    out = tmp_path / "smoke" / "bench"
    full = json.loads((out / "end_to_end" / "bench.json").read_text())["end_to_end"]
    short = json.loads((out / "bench.json").read_text())["end_to_end"]
    for arm in ("before", "after"):
        for key in ("seconds", "val_ndcg@3", "test_ndcg@3"):
            assert short[arm][key] == full[arm][key]
    assert short["speedup"] == pytest.approx(full["before"]["seconds"] / full["after"]["seconds"])
    assert "End to end (" in (out / "bench.md").read_text()
    # without an end-to-end record there is nothing to carry
    cli.call(bench, ["--smoke", "--encoder=sparse", "--jit=false", "--precisions=float32",
                     f"--output_dir={tmp_path / 'other'}"])
    assert json.loads((tmp_path / "other" / "smoke" / "bench" / "bench.json").read_text())[
        "end_to_end"] is None
