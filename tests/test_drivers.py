"""Every experiment driver through its real code path: `--smoke` in-process on the package's
synthetic data (no data folder), `--quick` on the real data where DAEPTR_DATA is set, and
the checks that stop a bad command line before anything is loaded or written."""

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
METRICS = {f"{m}@{n}" for m in ("hit", "ndcg") for n in (1, 3, 5, 10)}


def run(module, *args):
    """`python -m module args…` in a subprocess (its own flags and TensorFlow state)."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


# ---- --smoke: every driver, no data folder -------------------------------------------------

def test_table2_smoke_trains_every_model_and_writes_the_table(drive, tmp_path):
    printed = drive("table2", "--smoke", f"--output_dir={tmp_path}")
    tree = tmp_path / "smoke"
    frame = pd.read_csv(tree / "table2.csv")
    assert list(frame["model"].unique()) == ["dae_ptr", "pitf", "nltf", "abnt", "mp", "mp_u",
                                             "mp_i", "mp_ui", "cooc"]
    assert set(frame["metric"]) == METRICS and frame["mean"].between(0, 1).all()
    assert frame["paper"].notna().sum() == 4 * 8
    markdown = (tree / "table2.md").read_text()
    assert markdown == printed.rstrip("\n") + "\n" or markdown in printed
    for section in ("(--smoke: synthetic data; not a result)", "Beside the paper",
                    "DAE-PTR over PITF", "+28.2%", "Hyper-parameters", "latent_dim=16 (smoke)",
                    "By kind of test post"):
        assert section in markdown
    runs = pd.read_csv(tree / "table2" / "runs.csv")
    assert (runs["seed"] == 0).all() and len(runs) == 9
    assert not (tmp_path / "table2.md").exists()  # nothing in the full tree


def test_table2_smoke_in_mixed_precision_with_a_cosine_schedule(drive, tmp_path):
    drive("table2", "--smoke", "--models=dae_ptr,pitf,mp_ui", "--precision=mixed_bfloat16",
          "--schedule=cosine", "--hparam=pitf.schedule=linear", f"--output_dir={tmp_path}")
    tree = tmp_path / "smoke"
    frame = pd.read_csv(tree / "table2.csv")
    assert set(frame["model"]) == {"dae_ptr", "pitf", "mp_ui"} and frame["mean"].between(0, 1).all()
    records = {r["settings"]["model"]: r for r in
               (json.loads(p.read_text()) for p in (tree / "table2").rglob("run.json"))}
    for name, schedule in (("dae_ptr", "cosine"), ("pitf", "linear")):
        train = records[name]["settings"]["train"]
        assert (train["precision"], train["schedule"]) == ("mixed_bfloat16", schedule)
        history = pd.read_csv(next((tree / "table2").rglob(f"{name}/**/history.csv")))
        rate = train["learning_rate"]
        # 2 smoke epochs: cosine η, η/2; linear η, η/2 as well (p = 0, 1/2)
        assert list(history["learning_rate"]) == pytest.approx([rate, rate / 2], rel=1e-6)
    assert "precision=mixed_bfloat16 (flag), schedule=cosine (flag)" in (tree / "table2.md").read_text()


def test_tune_searches_a_training_setting_such_as_the_schedule(drive, tmp_path):
    drive("tune", "--smoke", "--grid=schedule:constant,cosine", f"--output_dir={tmp_path}")
    root = tmp_path / "smoke" / "tune" / "lastfm-core5" / "dae_ptr"
    assert sorted(pd.read_csv(root / "tune_schedule.csv")["schedule"]) == ["constant", "cosine"]
    schedules = [json.loads(p.read_text())["settings"]["train"].get("schedule", "constant")
                 for p in root.rglob("run.json")]
    assert sorted(schedules) == ["constant", "cosine"]


def test_a_table_run_logs_a_line_per_run_and_per_evaluation(drive, tmp_path, caplog):
    caplog.set_level("INFO", logger="absl")
    # --verbosity=0 (INFO) is what app.run gives a command line; in-process it must be said.
    drive("table2", "--smoke", "--models=dae_ptr,mp", "--verbosity=0", f"--output_dir={tmp_path}")
    lines = [r.getMessage() for r in caplog.records]
    assert "run 1 of 2 (dae_ptr on lastfm-core5, seed 0): starting" in lines
    epochs = [m for m in lines if m.startswith("run 1 of 2 (dae_ptr") and "epoch" in m]
    evaluations = [m for m in epochs if "val_ndcg@3 " in m]
    assert len(evaluations) == 2  # eval_every=1 for 2 epochs
    assert "epoch 2/2: loss " in evaluations[1]
    assert "(best " in evaluations[1] and "s left" in evaluations[1]
    retraining = [m for m in epochs if "retraining" in m]  # for the selected epochs
    assert retraining and retraining[-1].startswith("run 1 of 2 (dae_ptr on lastfm-core5, seed 0): epoch ")
    assert any(m.startswith("run 2 of 2: trained in") for m in lines)


@pytest.mark.parametrize("table, title", [("table3", "lastfm core-10"), ("table4", "ml10m core-5"),
                                          ("table5", "ml10m core-10")])
def test_other_tables_smoke(table, title, drive, tmp_path):
    drive(table, "--smoke", "--models=dae_ptr,mp_ui", f"--output_dir={tmp_path}")
    assert f"{title} (--smoke" in (tmp_path / "smoke" / f"{table}.md").read_text()


def test_table1_and_tie_break_smoke(drive, tmp_path):
    drive("table1", "--smoke", f"--output_dir={tmp_path}")
    frame = pd.read_csv(tmp_path / "smoke" / "table1.csv")
    assert set(frame["source"]) == {"paper", "raw", "core5", "core10"}
    assert "Equal to the paper: lastfm NO, ml10m NO" in (tmp_path / "smoke" / "table1.md").read_text()
    drive("tie_break", "--smoke", f"--output_dir={tmp_path}")
    frame = pd.read_csv(tmp_path / "smoke" / "tie_break.csv")
    assert set(frame["tie_break"]) == {"random", "tag_id"} and len(frame) == 4


def test_tune_smoke_searches_on_validation_only_chooses_nothing_and_resumes(drive, tmp_path):
    args = ("tune", "--smoke", "--grid=corruption:0.2,0.9", f"--output_dir={tmp_path}")
    printed = drive(*args)
    root = tmp_path / "smoke" / "tune" / "lastfm-core5" / "dae_ptr"
    frame = pd.read_csv(root / "tune_corruption.csv")
    assert sorted(frame["corruption"]) == [0.2, 0.9]
    assert frame["val_ndcg@3"].is_monotonic_decreasing  # best first
    assert not list(root.rglob("metrics.json")) and not list(root.rglob("model.keras"))  # no test
    assert not (root / "chosen.json").exists() and "Nothing chosen" in printed
    stamps = sorted(p.stat().st_mtime_ns for p in root.rglob("run.json"))
    assert len(stamps) == 2
    drive(*args)
    assert sorted(p.stat().st_mtime_ns for p in root.rglob("run.json")) == stamps


def test_sweep_smoke_writes_csv_summary_plot_and_hparams_then_resumes(drive, tmp_path):
    args = ("sweep", "--smoke", "--name=mix", "--model=mp_ui", "--param=alpha",
            "--values=0,0.5,1", "--datasets=lastfm-core5", f"--output_dir={tmp_path}")
    drive(*args)
    sweeps = tmp_path / "smoke" / "sweeps"
    runs = pd.read_csv(sweeps / "mix.csv")
    assert sorted(runs["alpha"]) == [0, 1]  # a smoke sweep: the first and last value
    assert (sweeps / "mix.png").stat().st_size > 1000
    markdown = (sweeps / "mix.md").read_text()
    assert "best by val_ndcg@3" in markdown and "| lastfm-core5 | 0.0 |" in markdown
    assert (runs["seconds"] > 0).all() and "| all | 2 |" in markdown  # the sweep's cost
    assert list((sweeps / "mix").glob("events.out.tfevents.*"))  # HParams configuration
    stamps = {p: p.stat().st_mtime_ns for p in sweeps.rglob("run.json")}
    drive(*args)
    assert {p: p.stat().st_mtime_ns for p in sweeps.rglob("run.json")} == stamps
    assert pd.read_csv(sweeps / "mix.csv").equals(runs)


def test_fig2_smoke_runs_the_preset_with_the_papers_model_and_each_data_sets_training(
        drive, tmp_path):
    drive("fig2", "--smoke", f"--output_dir={tmp_path}")
    tree = tmp_path / "smoke"
    runs = pd.read_csv(tree / "sweeps" / "fig2.csv")
    assert set(runs["dataset"]) == {"lastfm-core5", "ml10m-core5"}  # one label per data set
    assert sorted(set(runs["corruption"])) == [0.0, 1.0]
    records = [json.loads(p.read_text()) for p in (tree / "sweeps" / "fig2").rglob("run.json")]
    schedules = {r["settings"]["data"]: r["settings"]["train"].get("schedule", "constant")
                 for r in records}
    # The preset's recipe per data set family: Last.fm's cosine decay, ML10M's constant rate
    assert schedules == {"lastfm-core5": "cosine", "ml10m-core5": "constant"}
    for record in records:
        settings = record["settings"]
        # lr 0.01 on both, not ML10M's validated 0.003 (experiments/validated.json), and the
        # paper's λ over each data set's validated one.
        assert settings["train"]["learning_rate"] == 0.01 and settings["hparams"]["l2"] == 0.01
        assert settings["hparams"]["output_bias"] == "log_odds"  # no popularity plateau
    patience = {r["settings"]["data"]: r["settings"]["train"]["patience"] for r in records}
    assert patience["ml10m-core5"] == 1  # the smoke run's size wins over the preset's 20
    summary = (tree / "sweeps" / "fig2.md").read_text()
    assert "collapses at c = 1" in summary
    assert "Training: lastfm-core5: lr 0.01, cosine decay over 2 epochs" in summary
    assert "ml10m-core5: constant lr 0.01, early stopping" in summary


def test_a_figure_presets_training_does_not_follow_the_tables_validated_choices(
        drive, tmp_path, monkeypatch):
    # A figure is one recipe: a changed validated choice for the tables leaves its runs as
    # they are, so the committed figure's command reuses its records.
    from experiments import settings

    args = ("fig2", "--smoke", "--values=0.5", "--datasets=ml10m-core10", f"--output_dir={tmp_path}")
    drive(*args)
    first = {p.parent.name for p in tmp_path.rglob("run.json")}
    validated = settings.read_validated()
    validated["ml10m-core10"]["dae_ptr"]["learning_rate"] = {"value": 0.0005, "source": "x"}
    validated["ml10m-core10"]["dae_ptr"]["schedule"] = {"value": "cosine", "source": "x"}
    monkeypatch.setattr(settings, "read_validated", lambda path=None: validated)
    drive(*args)
    assert {p.parent.name for p in tmp_path.rglob("run.json")} == first
    drive(*args, "--tuned")  # the tables' choices when asked for
    assert len({p.parent.name for p in tmp_path.rglob("run.json")}) == 2


def test_fig3_preset_keeps_k16_and_the_users_flags_win(drive, tmp_path):
    drive("fig3", "--smoke", "--values=0.5", "--datasets=lastfm-core10", "--learning_rate=0.01",
          "--hparam=dae_ptr.output_bias=zeros", f"--output_dir={tmp_path}")
    record = json.loads(next((tmp_path / "smoke").rglob("run.json")).read_text())
    assert record["settings"]["hparams"]["latent_dim"] == 16
    assert record["settings"]["train"]["learning_rate"] == 0.01
    assert record["settings"]["hparams"]["output_bias"] == "zeros"
    assert record["settings"]["data"] == "lastfm-core10"


def test_fig4_smoke_retunes_corruption_on_validation_at_every_k(drive, tmp_path):
    drive("fig4", "--smoke", "--datasets=lastfm-core5", f"--output_dir={tmp_path}")
    tree = tmp_path / "smoke" / "sweeps"
    runs = pd.read_csv(tree / "fig4.csv")
    assert sorted(runs["latent_dim"]) == [32, 1024]
    assert set(runs["retuned_corruption"]) <= {0.1, 0.9}
    records = [json.loads(p.read_text()) for p in (tree / "fig4").rglob("run.json")]
    kinds = sorted(r["kind"] for r in records)
    assert kinds == ["full"] * 2 + ["selection"] * 4
    # the point's cost counts its selection runs as well as the full run
    point = runs.iloc[0]
    spent = [r["result"]["seconds"] for r in records
             if r["settings"]["hparams"]["latent_dim"] == point["latent_dim"]]
    assert point["seconds"] + point["retune_seconds"] == pytest.approx(sum(spent))


@pytest.mark.parametrize("experiment, arms", [
    ("cddae_exp1", {"MP", "DAE", "CDAE", "CDDAE"}),
    ("cddae_exp2", {"MP", "CDAE", "CDAE-BCE", "CDDAE (output=sigmoid_bce)"}),
    ("cddae_exp3", {"CDAE", "CDAE-BCE", "CDDAE (corruption=0.3, l2=0.001)"}),
    ("cddae_exp4", {"CDAE", "CDAE-BCE", "CDDAE-width (latent_dim=10)",
                    "CDDAE-encoder (encoder_units=(100,))", "CDDAE-decoder (decoder_units=(100,))"}),
])
def test_cddae_experiment_smoke_writes_table_and_figure(experiment, arms, drive, tmp_path):
    drive(experiment, "--smoke", f"--output_dir={tmp_path}")
    out = tmp_path / "smoke" / "cddae"
    runs = pd.read_csv(out / f"{experiment}.csv")
    assert set(runs["arm"]) == arms and set(runs["part"]) == {"ml100k-fold1"}
    for n in (1, 10):
        assert runs[f"pu@{n}"].between(0, 1).all() and (runs[f"pu@{n}"] >= runs[f"p@{n}"] - 1e-9).all()
    markdown = (out / f"{experiment}.md").read_text()
    assert "(--smoke: synthetic data; not a result)" in markdown
    assert "Relative difference to CDAE" in markdown and "The paper:" in markdown
    assert (out / f"{experiment}.png").stat().st_size > 1000


# ---- checked before anything is loaded or written ------------------------------------------

@pytest.mark.parametrize("driver, flags, message", [
    ("table2", ["--corruption=nan"], "--corruption=nan: must be a finite number"),
    ("table2", ["--seeds=0,0"], "--seeds=0,0: a seed is repeated"),
    ("table2", ["--seeds=-1"], "--seeds=-1: expected distinct integers >= 0"),
    ("table2", ["--seeds=a"], "--seeds=a"),
    ("table2", ["--hparam=dae_ptr.corruption=1.5"], "--hparam=dae_ptr.corruption=1.5: MaskOut"),
    ("table2", ["--hparam=pitf.l2=nan"], "--hparam=pitf.l2=nan: l2=nan must be a finite number"),
    ("table2", ["--hparam=pitf.nope=1"], "pitf has no 'nope'"),
    ("table2", ["--hparam=pitf.latent_dim=x"], "invalid literal"),
    ("table2", ["--l2=-1"], "--l2=-1.0: HalfL2"),
    ("table2", ["--learning_rate=0"], "--learning_rate=0.0: learning_rate must be a finite number > 0"),
    ("table2", ["--monitor=val_foo"], "--monitor=val_foo: not a metric of lastfm-core5; choose one of"),
    ("table2", ["--eval_every=0"], "--eval_every=0: eval_every must be >= 1, got 0"),
    ("table2", ["--models=nope"], "model 'nope': choose from"),
    ("table2", ["--model_seeds=abnt:x"], "--model_seeds"),
    ("table2", ["--tuned_from=lastfm-core"], "--tuned_from"),
    ("table2", ["extra"], "unexpected arguments: extra"),
    ("table2", ["--epochs=x"], "--epochs"),
    ("table2", ["--precision=float16"],
     "flag --precision=float16: value should be one of <float32|mixed_bfloat16|auto>"),
    ("table2", ["--schedule=step"], "flag --schedule=step: value should be one of <constant|"),
    ("table2", ["--warmup_epochs=-1"],
     "--warmup_epochs=-1: warmup_epochs must be >= 0 and < epochs="),
    ("table2", ["--smoke", "--warmup_epochs=2"],
     "--warmup_epochs=2: warmup_epochs must be >= 0 and < epochs=2, got 2"),
    ("table2", ["--hparam=dae_ptr.schedule=step"],
     "--hparam=dae_ptr.schedule=step: schedule must be one of ('constant', 'cosine', 'linear')"),
    ("table2", ["--hparam=pitf.precision=bf16"], "--hparam=pitf.precision=bf16: precision must be"),
    ("tune", ["--grid=schedule:constant,step"], "--grid: schedule=step: schedule must be one of"),
    ("sweep", ["--param=corruption", "--values=0.5,1.5"], "--values: corruption=1.5: MaskOut"),
    ("sweep", ["--param=colour", "--values=1,2"], "expected NAME:V1,V2"),
    ("sweep", ["--param=corruption"], "--param and --values go together"),
    ("sweep", ["--param=corruption", "--values=0.1,x"], "could not convert"),
    ("sweep", ["--param=corruption", "--values=0.1,0.1"], "a value is repeated"),
    ("sweep", ["--grid=latent_dim:8", "--retune=latent_dim:4,8"], "already swept"),
    ("sweep", ["--param=l2", "--values=0.1", "--retune=corruption:0.5,2"], "--retune: corruption=2.0"),
    ("sweep", ["--param=corruption", "--values=0.5", "--datasets=delicious-core5"], "--datasets"),
    ("sweep", ["--param=corruption", "--values=0.5", "--datasets=ml100k-fold9"], "--datasets"),
    ("sweep", ["--param=corruption", "--values=0.5", "--metrics=foo"], "--metrics: unknown ['foo']"),
    ("sweep", ["--model=cddae", "--param=l2", "--values=0.1", "--datasets=ml100k",
               "--user_features=zip"], "--user_features"),
    ("sweep", [], "nothing to sweep"),
    ("tune", ["--grid=colour:red"], "expected NAME:V1,V2"),
    ("tune", ["--grid=corruption:0.5,x"], "could not convert"),
    ("tune", ["--model=pitf", "--grid=corruption:0.5"], "expected NAME:V1,V2"),
    ("tune", ["--dataset=lastfm"], "--dataset: 'lastfm' is not one of"),
    ("fig4", ["--retune=corruption:0.5,2"], "--retune: corruption=2.0"),
    ("cddae_exp1", ["--datasets=lastfm-core5"], "the CDDAE experiments run on ml100k"),
    ("cddae_exp2", ["--valid_fraction=0.95"], "--valid_fraction=0.95"),
    ("table1", ["--datasets=ml100k"], "Table 1 covers lastfm-coreP and ml10m-coreP"),
])
def test_bad_flags_fail_with_one_line_naming_the_flag_and_write_nothing(driver, flags, message,
                                                                        drive, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        drive(driver, *flags, f"--output_dir={out}")
    text = str(exit_.value)
    assert text.startswith("error: ") and "\n" not in text and message in text, text
    assert not out.exists()  # nothing written


@pytest.mark.parametrize("inside", ["", "sub"])
def test_an_output_dir_that_is_a_file_fails_before_anything(inside, drive, tmp_path):
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / inside if inside else tmp_path / "file"
    with pytest.raises(SystemExit, match="--output_dir=.*file is a file, not a folder"):
        drive("table2", "--smoke", f"--output_dir={target}")


@pytest.mark.parametrize("error", [ValueError("a library check failed"),
                                   PermissionError(13, "Permission denied", "out/run.json")])
def test_an_error_raised_later_also_ends_as_one_line(error, drive, tmp_path, monkeypatch):
    from experiments import runs

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(runs, "execute", fail)
    with pytest.raises(SystemExit) as exit_:
        drive("table2", "--smoke", "--models=mp", f"--output_dir={tmp_path}")
    assert str(exit_.value) == f"error: {type(error).__name__}: {error}"


def test_a_command_line_error_is_one_line_without_a_traceback(tmp_path):
    done = run("experiments.table2", "--corruption=nan", f"--output_dir={tmp_path / 'out'}")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == "error: --corruption=nan: must be a finite number"
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_each_driver_defines_only_the_flags_it_uses():
    done = run("experiments.table1", "--helpfull")
    assert "--data_dir" in done.stdout and "--datasets" in done.stdout
    for unused in ("--learning_rate", "--seeds", "--models", "--param", "--grid", "--epochs"):
        assert unused not in done.stdout, unused
    done = run("experiments.cddae_exp1", "--helpfull")
    assert "--user_features" in done.stdout and "--seeds" in done.stdout
    for unused in ("--param", "--values", "--grid", "--retune", "--models", "--name"):
        assert unused not in done.stdout, unused


def test_missing_data_fails_with_instructions(tmp_path):
    env = {**os.environ, "DAEPTR_DATA": str(tmp_path / "none"), "DAEPTR_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "experiments.table1", "--download=false",
                           f"--output_dir={tmp_path / 'out'}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "user_taggedartists-timestamps.dat" in done.stderr and "hetrec2011-lastfm-2k" in done.stderr
    assert not (tmp_path / "out").exists()


# ---- the real data (DAEPTR_DATA) -----------------------------------------------------------

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


@needs_data
def test_table2_quick_on_the_real_split_then_reuses_finished_runs(tmp_path):
    args = ("experiments.table2", "--quick", "--models=dae_ptr,pitf,mp_ui",
            f"--output_dir={tmp_path}", "--download=false")
    done = run(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run 3 of 3" in done.stderr  # progress lines
    tree = tmp_path / "quick"
    runs = pd.read_csv(tree / "table2" / "runs.csv")
    assert (runs["empty_posts"] + runs["non_empty_posts"] == 59849).all()
    assert "(--quick" in (tree / "table2.md").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in tree.rglob("run.json")}
    again = run(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {p: p.stat().st_mtime_ns for p in tree.rglob("run.json")} == stamps  # not retrained


@needs_data
def test_tune_chooses_promote_commits_and_the_tables_then_use_it(tmp_path):
    # The mixing weight of MP_u,i: a real (full) search that takes seconds.
    done = run("experiments.tune", "--model=mp_ui", "--grid=alpha:0,0.6,1",
               f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    root = tmp_path / "tune" / "lastfm-core5" / "mp_ui"
    frame = pd.read_csv(root / "tune_alpha.csv")
    chosen = json.loads((root / "chosen.json").read_text())
    assert chosen["alpha"]["value"] == frame.iloc[0]["alpha"]  # the best on validation
    assert chosen["alpha"]["source"] == ("python -m experiments.tune --dataset=lastfm-core5 "
                                         "--model=mp_ui --grid=alpha:0,0.6,1")
    assert frame["val_ndcg@3"].is_monotonic_decreasing and len(frame) == 3
    validated = tmp_path / "validated.json"
    validated.write_text(json.dumps({"lastfm-core5": {"pitf": {"l2": {"value": 0.1, "source": "x"}}}}))
    done = run("experiments.promote", "--dataset=lastfm-core5", "--model=mp_ui",
               f"--output_dir={tmp_path}", f"--validated={validated}")
    assert done.returncode == 0, done.stderr[-2000:]
    committed = json.loads(validated.read_text())["lastfm-core5"]
    assert committed == {"pitf": {"l2": {"value": 0.1, "source": "x"}}, "mp_ui": chosen}
    alpha = chosen["alpha"]["value"]
    done = run("experiments.table2", "--models=mp_ui", f"--output_dir={tmp_path}",
               "--download=false", f"--validated={validated}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"alpha={alpha} (tuned)" in (tmp_path / "table2.md").read_text()
    done = run("experiments.table3", "--models=mp_ui", f"--output_dir={tmp_path}",
               "--download=false", "--tuned_from=lastfm-core5", f"--validated={validated}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"alpha={alpha} (tuned on lastfm-core5)" in (tmp_path / "table3.md").read_text()


def write_chosen(tmp_path, label: str, model: str, chosen: dict):
    """A smoke search's chosen.json, as `experiments.tune` writes it."""
    path = tmp_path / "smoke" / "tune" / label / model / "chosen.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(chosen))


def test_promote_merges_a_reviewed_choice_into_the_validated_file(drive, tmp_path):
    chosen = {"alpha": {"value": 0.3, "source": "python -m experiments.tune --smoke"}}
    write_chosen(tmp_path, "lastfm-core5", "mp_ui", chosen)
    validated = tmp_path / "validated.json"
    printed = drive("promote", "--smoke", "--dataset=lastfm-core5", "--model=mp_ui",
                    f"--output_dir={tmp_path}", f"--validated={validated}")
    assert "lastfm-core5 mp_ui alpha = 0.3" in printed
    assert json.loads(validated.read_text()) == {"lastfm-core5": {"mp_ui": chosen}}
    drive("table2", "--smoke", "--models=mp_ui", f"--output_dir={tmp_path}",
          f"--validated={validated}")
    assert "alpha=0.3 (tuned)" in (tmp_path / "smoke" / "table2.md").read_text()
    with pytest.raises(SystemExit, match="chosen.json does not exist; run experiments.tune first"):
        drive("promote", "--smoke", "--model=pitf", f"--output_dir={tmp_path}",
              f"--validated={validated}")


def test_promote_keeps_the_note_on_an_earlier_searchs_value_and_takes_every_new_one(
        drive, tmp_path):
    # chosen.json keeps every search's choice: the lr of an earlier search, committed with a
    # note after its command, comes back with the λ of a later one.
    lr = {"value": 0.002, "source": "python -m experiments.tune --grid=learning_rate:0.001,0.002"}
    l2 = {"value": 0.003, "source": "python -m experiments.tune --grid=l2:0.001,0.003"}
    write_chosen(tmp_path, "lastfm-core10", "pitf", {"learning_rate": lr, "l2": l2})
    validated = tmp_path / "validated.json"
    noted = {**lr, "source": "python -m experiments.tune --tuned_from=lastfm-core5 "
             "--grid=learning_rate:0.001,0.002, then --grid=patience:10 (revision 1; BUILD_NOTES.md)"}
    committed = {"learning_rate": noted, "l2": {"value": 0.001, "source": "not searched"},
                 "latent_dim": {"value": 64, "source": l2["source"]}}
    validated.write_text(json.dumps({"lastfm-core10": {"pitf": committed}}))
    drive("promote", "--smoke", "--dataset=lastfm-core10", "--model=pitf",
          f"--output_dir={tmp_path}", f"--validated={validated}")
    entry = json.loads(validated.read_text())["lastfm-core10"]["pitf"]
    assert entry == {"learning_rate": noted, "l2": l2, "latent_dim": committed["latent_dim"]}
    # The same value chosen by another search takes that search's command.
    again = {**lr, "source": "python -m experiments.tune --grid=learning_rate:0.002,0.005"}
    (tmp_path / "smoke" / "tune" / "lastfm-core10" / "pitf" / "chosen.json").write_text(
        json.dumps({"learning_rate": again}))
    drive("promote", "--smoke", "--dataset=lastfm-core10", "--model=pitf",
          f"--output_dir={tmp_path}", f"--validated={validated}")
    assert json.loads(validated.read_text())["lastfm-core10"]["pitf"]["learning_rate"] == again


def test_promote_fills_in_what_a_search_under_tuned_from_held_fixed(drive, tmp_path):
    chosen = {"learning_rate": {"value": 0.002, "source": "python -m experiments.tune"}}
    write_chosen(tmp_path, "lastfm-core10", "pitf", chosen)
    validated = tmp_path / "validated.json"
    donor = {"learning_rate": {"value": 0.001, "source": "a"}, "l2": {"value": 0.003, "source": "b"}}
    own = {"patience": {"value": 20, "source": "c"}}
    validated.write_text(json.dumps({"lastfm-core5": {"pitf": donor},
                                     "lastfm-core10": {"pitf": own}}))
    args = ("promote", "--smoke", "--dataset=lastfm-core10", "--model=pitf",
            f"--output_dir={tmp_path}", f"--validated={validated}")
    with pytest.raises(SystemExit, match="--fill_from=ml10m-core5: .* no choices for pitf"):
        drive(*args, "--fill_from=ml10m-core5")
    with pytest.raises(SystemExit, match="--fill_from=lastfm-core10: the data set being promoted"):
        drive(*args, "--fill_from=lastfm-core10")
    assert json.loads(validated.read_text())["lastfm-core10"] == {"pitf": own}  # nothing written
    drive(*args, "--fill_from=lastfm-core5")
    entry = json.loads(validated.read_text())["lastfm-core10"]["pitf"]
    # The search's choice and this data set's own settings win; the rest is the donor's.
    assert entry == {**own, **chosen, "l2": {"value": 0.003,
                                             "source": "not searched: taken from lastfm-core5"}}


@needs_data
def test_tie_break_compares_both_rules(tmp_path):
    done = run("experiments.tie_break", "--datasets=lastfm-core5", f"--output_dir={tmp_path}",
               "--download=false")
    assert done.returncode == 0, done.stderr[-2000:]
    frame = pd.read_csv(tmp_path / "tie_break.csv").set_index("tie_break")
    seen = "test tag used by the user elsewhere"
    # Holding out the highest tag id hides it from the user's other posts more often.
    assert frame.loc["tag_id", seen] < frame.loc["random", seen]


@needs_data
def test_cddae_experiment_quick_on_a_real_fold(tmp_path):
    done = run("experiments.cddae_exp2", "--quick", "--datasets=ml100k-fold1",
               f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-3000:]
    runs = pd.read_csv(tmp_path / "quick" / "cddae" / "cddae_exp2.csv")
    assert set(runs["part"]) == {"ml100k-fold1"} and runs["ru@10"].between(0, 1).all()


def test_beyond_smoke_reuses_the_tables_runs_and_report_rebuilds_it(drive, tmp_path):
    drive("table2", "--smoke", "--models=dae_ptr,mp_ui", f"--output_dir={tmp_path}")
    tree = tmp_path / "smoke"
    table_runs = {str(p.parent) for p in (tree / "table2").rglob("run.json")}
    drive("beyond", "--smoke", "--datasets=lastfm-core5",
          "--rows=dae_ptr,multinomial_dae_ptr,variational_dae_ptr,ease,mp_ui",
          f"--output_dir={tmp_path}")
    frame = pd.read_csv(tree / "beyond.csv")
    assert list(frame["row"]) == ["dae_ptr", "multinomial_dae_ptr", "variational_dae_ptr",
                                  "ease", "mp_ui"]
    assert (frame.loc[frame["row"] == "dae_ptr", "hit@3_vs_dae_ptr"] == 0).all()
    manifest = json.loads((tree / "beyond.manifest.json").read_text())
    used = {(tree / e["run"]).resolve() for e in manifest["runs"]}
    assert {pathlib.Path(p).resolve() for p in table_runs} <= used  # the Table's runs, reused
    assert len(list((tree / "beyond").rglob("run.json"))) == 3  # the other rows' own runs
    settings = manifest["context"]["used"]["lastfm-core5"]
    # Its own validated c wins over DAE-PTR's; the rest comes from DAE-PTR.
    assert settings["variational_dae_ptr"]["sources"]["corruption"] == "tuned"
    assert settings["variational_dae_ptr"]["sources"]["learning_rate"] == "tuned, from dae_ptr"
    assert "likelihood" not in settings["multinomial_dae_ptr"]["hparams"]  # fixed by the entry
    assert settings["multinomial_dae_ptr"]["sources"]["learning_rate"] == "tuned, from dae_ptr"
    markdown = (tree / "beyond.md").read_text()
    from experiments import report
    kind, _, context, rows = report.runs.read_manifest(tree / "beyond.manifest.json")
    assert report.renderers()[kind](tree, "beyond", context, rows) == markdown


def test_beyond_names_an_unknown_row_or_data_set(tmp_path):
    result = run("experiments.beyond", "--smoke", "--rows=dae_ptr,nope", f"--output_dir={tmp_path}")
    assert result.returncode != 0 and "--rows: unknown ['nope']" in result.stderr
    result = run("experiments.beyond", "--smoke", "--datasets=ml100k", f"--output_dir={tmp_path}")
    assert result.returncode != 0 and "--datasets: ['ml100k'] are not tag data sets" in result.stderr
    assert not list(tmp_path.rglob("*.md"))
