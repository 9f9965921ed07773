"""The sweep driver and its figure presets: bookkeeping, resume, outputs, bad flags."""

import json
import sys

import pandas as pd
import pytest

from experiments import presets, sweep
from tests.test_drivers import needs_data, run


@needs_data
def test_sweep_writes_csv_summary_plot_and_hparams_then_resumes(tmp_path):
    # A count-based model sweeps in seconds through the same driver code.
    args = ("experiments.sweep", "--name=mix", "--model=mp_ui", "--param=alpha",
            "--values=0,0.5,1", f"--output_dir={tmp_path}", "--download=false")
    done = run(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    sweeps = tmp_path / "sweeps"
    runs = pd.read_csv(sweeps / "mix.csv")
    assert sorted(runs["alpha"]) == [0, 0.5, 1] and runs["hit@3"].between(0, 1).all()
    assert (sweeps / "mix.png").stat().st_size > 1000
    markdown = (sweeps / "mix.md").read_text()
    assert "best by val_ndcg@3" in markdown and "on the edge of the range" in markdown
    assert "| lastfm-core5 | 0.5 |" in markdown  # swept values as given, not as 0.50000
    assert (runs["seconds"] > 0).all() and "| all | 3 |" in markdown  # the sweep's cost
    assert list((sweeps / "mix").glob("events.out.tfevents.*"))  # HParams configuration
    stamps = {p: p.stat().st_mtime_ns for p in sweeps.rglob("metrics.json")}
    assert len(stamps) == 3
    again = run(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {p: p.stat().st_mtime_ns for p in sweeps.rglob("metrics.json")} == stamps
    assert pd.read_csv(sweeps / "mix.csv").equals(runs)


@needs_data
def test_sweep_retunes_a_parameter_on_validation_at_every_point(tmp_path):
    done = run("experiments.sweep", "--name=k", "--model=pitf", "--param=latent_dim",
               "--values=4", "--retune=l2:0.001,0.05", "--quick", f"--output_dir={tmp_path}",
               "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    runs = pd.read_csv(tmp_path / "sweeps" / "k.csv")
    assert runs.loc[0, "retuned_l2"] in (0.001, 0.05)
    point = tmp_path / "sweeps" / "k" / "lastfm-core5" / "latent_dim=4"
    # validation-only selections for both options, one full run at the chosen one
    assert len(list(point.glob("retune_l2=*/seed0/selection.json"))) == 2
    assert not list(point.glob("retune_l2=*/seed0/metrics.json"))
    assert (point / "seed0" / "metrics.json").exists()
    # The point's cost counts its selection runs as well as the full run.
    spent = [json.loads(f.read_text())["seconds"] for f in point.glob("retune_l2=*/seed0/selection.json")]
    spent.append(json.loads((point / "seed0" / "metrics.json").read_text())["train_seconds"])
    assert runs.loc[0, "seconds"] == pytest.approx(sum(spent))


def test_cost_table_adds_up_measured_runs_and_counts_untimed_ones_apart():
    runs = pd.DataFrame({"dataset": ["a", "a", "b"], "seconds": [1800.0, 5400.0, float("nan")]})
    table = sweep.cost_table(runs)
    assert table.to_dict("records") == [
        {"dataset": "a", "runs": 2, "hours": "2.00", "runs without a stored time": 0},
        {"dataset": "b", "runs": 1, "hours": "0.00", "runs without a stored time": 1},
        {"dataset": "all", "runs": 3, "hours": "2.00", "runs without a stored time": 1}]


@needs_data
def test_figure_preset_runs_the_sweep_with_the_papers_settings(tmp_path):
    done = run("experiments.fig3", "--quick", "--datasets=lastfm-core5", "--values=0.5",
               f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    config = (tmp_path / "sweeps" / "fig3" / "lastfm-core5" / "corruption=0.5" / "seed0"
              / "config.json").read_text()
    assert '"learning_rate": 0.001' in config and '"corruption": 0.5' in config
    assert '"output_bias": "log_odds"' in config  # no popularity plateau (BUILD_NOTES.md)
    assert "c ≈ 0.3" in (tmp_path / "sweeps" / "fig3.md").read_text()


@pytest.mark.parametrize("flags, message", [
    (["--param=colour", "--values=1,2"], "expected NAME:V1,V2"),
    (["--param=corruption"], "--param and --values go together"),
    (["--param=corruption", "--values=0.1,x"], "could not convert"),
    (["--grid=latent_dim:8", "--retune=latent_dim:4,8"], "already swept"),
    (["--param=corruption", "--values=0.5", "--datasets=delicious-core5"], "--datasets"),
    (["--param=corruption", "--values=0.5", "--datasets=ml100k-fold9"], "--datasets"),
    (["--model=cddae", "--param=l2", "--values=0.1", "--user_features=zip"], "--user_features"),
    ([], "nothing to sweep"),
])
def test_bad_sweep_flags_fail_clearly_and_write_nothing(flags, message, tmp_path):
    done = run("experiments.sweep", *flags, f"--output_dir={tmp_path}")
    assert done.returncode != 0
    assert message in done.stderr
    assert not any(tmp_path.iterdir())


@needs_data
def test_figure4_preset_retunes_corruption_per_latent_dimension(tmp_path):
    done = run("experiments.fig4", "--quick", "--datasets=lastfm-core5", "--values=8",
               "--retune=corruption:0.3,0.9", f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    runs = pd.read_csv(tmp_path / "sweeps" / "fig4.csv")
    assert runs.loc[0, "latent_dim"] == 8 and runs.loc[0, "retuned_corruption"] in (0.3, 0.9)
    assert "quality rises with K" in (tmp_path / "sweeps" / "fig4.md").read_text()


def test_presets_put_the_papers_settings_first_so_the_users_flags_win(monkeypatch):
    seen = []
    monkeypatch.setattr(presets.common, "run", lambda main: seen.extend(sys.argv))
    monkeypatch.setattr(sys, "argv", ["fig3", "--epochs=2000"])
    presets.run({"name": "fig3", "latent_dim": 16, "tuned": False})
    assert {"--hparam=dae_ptr.output_bias=log_odds", "--patience=30", "--latent_dim=16",
            "--notuned"} <= set(seen)
    assert seen.index("--epochs=1000") < seen.index("--epochs=2000")  # absl keeps the last
