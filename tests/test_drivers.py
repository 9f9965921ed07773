"""Every experiment driver through its real code path (`--quick` where it trains)."""

import json
import os
import pathlib
import subprocess
import sys

import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
needs_data = pytest.mark.skipif(not os.environ.get("DAEPTR_DATA"),
                                reason="needs the real data sets: set DAEPTR_DATA")


def run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@needs_data
def test_table1_prints_and_writes_raw_statistics_equal_to_the_paper(tmp_path):
    done = run("experiments.table1", f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Equal to the paper: lastfm yes, ml10m yes" in done.stdout
    frame = pd.read_csv(tmp_path / "table1.csv")
    raw = frame[frame.source == "raw"].set_index("dataset")
    assert raw.loc["lastfm", "assignments"] == 186479 and raw.loc["ml10m", "tags"] == 16529
    core5 = frame[(frame.source == "core5") & (frame.dataset == "lastfm")].iloc[0]
    assert core5["test_posts"] == core5["posts"] > core5["valid_posts"] > 0
    assert (tmp_path / "table1.md").read_text().startswith("# Table 1")


@needs_data
def test_table2_quick_trains_and_writes_the_table_then_reuses_finished_runs(tmp_path):
    done = run("experiments.table2", "--quick", f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    frame = pd.read_csv(tmp_path / "table2.csv")
    assert set(frame["metric"]) == {f"{m}@{n}" for m in ("hit", "ndcg") for n in (1, 3, 5, 10)}
    # every model and floor, the paper's value beside the paper's four models
    assert list(frame["model"].unique()) == ["dae_ptr", "pitf", "nltf", "abnt", "mp", "mp_u",
                                             "mp_i", "mp_ui", "cooc"]
    assert frame["paper"].notna().sum() == 4 * 8 and frame["mean"].between(0, 1).all()
    run_dir = tmp_path / "table2" / "lastfm-core5" / "dae_ptr" / "seed0"
    assert (run_dir / "metrics.json").exists() and (run_dir / "model.keras").exists()
    runs = pd.read_csv(tmp_path / "table2" / "runs.csv")
    assert (runs["empty_posts"] + runs["non_empty_posts"] == 59849).all()
    markdown = (tmp_path / "table2.md").read_text()
    for section in ("Beside the paper", "DAE-PTR over PITF", "+28.2%", "Hyper-parameters",
                    "By kind of test post"):
        assert section in markdown
    stamp = (run_dir / "metrics.json").stat().st_mtime_ns
    again = run("experiments.table2", "--quick", f"--output_dir={tmp_path}", "--download=false")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (run_dir / "metrics.json").stat().st_mtime_ns == stamp  # not retrained
    assert pd.read_csv(tmp_path / "table2.csv").equals(frame)


@needs_data
def test_tie_break_compares_both_rules(tmp_path):
    done = run("experiments.tie_break", "--datasets=lastfm", f"--output_dir={tmp_path}",
               "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    frame = pd.read_csv(tmp_path / "tie_break.csv").set_index("tie_break")
    assert set(frame.index) == {"random", "tag_id"}
    # Holding out the highest tag id hides it from the user's other posts more often.
    seen = "test tag used by the user elsewhere"
    assert frame.loc["tag_id", seen] < frame.loc["random", seen]


@needs_data
def test_tune_quick_searches_the_grid_on_validation_and_resumes(tmp_path):
    args = ("--quick", "--grid=corruption:0.2,0.9", f"--output_dir={tmp_path}", "--download=false")
    done = run("experiments.tune", *args)
    assert done.returncode == 0, done.stderr[-2000:]
    root = tmp_path / "tune" / "lastfm-core5" / "dae_ptr"
    frame = pd.read_csv(root / "tune_corruption.csv")
    assert sorted(frame["corruption"]) == [0.2, 0.9]
    assert frame["val_ndcg@3"].is_monotonic_decreasing  # best first
    assert not list(root.rglob("metrics.json")) and not list(root.rglob("model.keras"))  # no test
    stamps = sorted(p.stat().st_mtime_ns for p in root.rglob("selection.json"))
    assert run("experiments.tune", *args).returncode == 0
    assert sorted(p.stat().st_mtime_ns for p in root.rglob("selection.json")) == stamps


@needs_data
def test_tune_writes_the_choice_that_table_drivers_then_use(tmp_path):
    # The mixing weight of MP_u,i: a real (non-quick) search that takes seconds.
    done = run("experiments.tune", "--model=mp_ui", "--grid=alpha:0,0.6,1",
               f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    root = tmp_path / "tune" / "lastfm-core5" / "mp_ui"
    frame = pd.read_csv(root / "tune_alpha.csv")
    chosen = json.loads((root / "chosen.json").read_text())
    assert chosen == {"alpha": frame.iloc[0]["alpha"]}  # the best on validation
    assert frame["val_ndcg@3"].is_monotonic_decreasing and len(frame) == 3
    done = run("experiments.table2", "--models=mp_ui", f"--output_dir={tmp_path}",
               "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"alpha={chosen['alpha']} (tuned)" in (tmp_path / "table2.md").read_text()
    config = json.loads((tmp_path / "table2" / "lastfm-core5" / "mp_ui" / "seed0" / "config.json").read_text())
    assert config["alpha"] == chosen["alpha"]
    # Another data set takes that choice only when asked to, and says where it came from.
    done = run("experiments.table3", "--models=mp_ui", f"--output_dir={tmp_path}",
               "--download=false", "--tuned_from=lastfm-core5")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"alpha={chosen['alpha']} (tuned on lastfm-core5)" in (tmp_path / "table3.md").read_text()


@pytest.mark.parametrize("module, flag, message", [
    ("experiments.table2", "--models=nope", "unknown ['nope']"),
    ("experiments.table2", "--corruption=1.5", "corruption"),
    ("experiments.table2", "--seeds=a", "--seeds"),
    ("experiments.table1", "--cores=x", "--cores must be integers"),
    ("experiments.tune", "--grid=colour:red", "expected NAME:V1,V2"),
    ("experiments.tune", "--grid=corruption:0.5,x", "could not convert"),
    ("experiments.tune", "--model=pitf --grid=corruption:0.5", "expected NAME:V1,V2"),
    ("experiments.table2", "--hparam=pitf.nope=1", "pitf has no 'nope'"),
    ("experiments.table2", "--model_seeds=abnt:x", "--model_seeds"),
    ("experiments.table2", "--hparam=pitf.latent_dim=x", "invalid literal"),
    ("experiments.table3", "--tuned_from=lastfm-core6", "--tuned_from names no data set"),
])
def test_bad_flags_fail_with_a_message_naming_the_flag(module, flag, message, tmp_path):
    done = run(module, *flag.split(), f"--output_dir={tmp_path}")
    assert done.returncode != 0
    assert message in done.stderr
    assert not any(tmp_path.iterdir())  # nothing partial written


def test_missing_data_fails_with_instructions(tmp_path):
    env = {**os.environ, "DAEPTR_DATA": str(tmp_path / "none"), "DAEPTR_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "experiments.table1", "--download=false",
                           f"--output_dir={tmp_path / 'out'}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "user_taggedartists-timestamps.dat" in done.stderr and "hetrec2011-lastfm-2k" in done.stderr
    assert not (tmp_path / "out").exists()


@needs_data
@pytest.mark.parametrize("table, dataset, core", [("table3", "lastfm", 10), ("table4", "ml10m", 5),
                                                  ("table5", "ml10m", 10)])
def test_other_tables_quick(table, dataset, core, tmp_path):
    done = run(f"experiments.{table}", "--quick", "--models=dae_ptr,pitf,mp_ui",
               f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    frame = pd.read_csv(tmp_path / f"{table}.csv")
    assert list(frame["model"].unique()) == ["dae_ptr", "pitf", "mp_ui"]
    assert (tmp_path / table / f"{dataset}-core{core}" / "pitf" / "seed0" / "metrics.json").exists()
    assert f"{dataset} core-{core}" in (tmp_path / f"{table}.md").read_text()
