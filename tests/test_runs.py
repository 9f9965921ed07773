"""The run loop's guarantees: a run is reused only when its record matches exactly, and
never a silently wrong number (the four cases of the issue that made this loop)."""

import json
import pathlib

import pandas as pd
import pytest

from daeptr import models
from daeptr.data import synthetic
from daeptr.training import TrainConfig
from experiments import runs, tasks

REPORTS = pathlib.Path(__file__).resolve().parents[1] / "reports"

SWEEP = ("sweep", "--smoke", "--name=lr", "--model=pitf", "--param=latent_dim", "--values=4")


def _records(root):
    return {p: json.loads(p.read_text()) for p in root.rglob(runs.RECORD)}


def _count_training(monkeypatch):
    calls = []
    real = runs.train_and_evaluate

    def counted(*args, **kwargs):
        calls.append(args[2])  # the TrainConfig
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "train_and_evaluate", counted)
    return calls


def test_a_killed_rerun_with_other_settings_is_trained_again_not_read_from_the_old_run(
        drive, tmp_path, monkeypatch):
    # Case 1: a point finished at lr 0.01; re-run at 0.05 and killed once its config.json
    # was written (with the 0.01 run's metrics.json beside it); then re-run at 0.05.
    drive(*SWEEP, "--learning_rate=0.01", f"--output_dir={tmp_path}")
    (finished,), = [list(_records(tmp_path))]
    real = runs.train_and_evaluate

    def killed(build, task, config, run_dir, **kwargs):
        run_dir.mkdir(parents=True)
        (run_dir / "config.json").write_text(json.dumps({"learning_rate": config.learning_rate}))
        (run_dir / "metrics.json").write_text((finished.parent / "metrics.json").read_text())
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "train_and_evaluate", killed)
    with pytest.raises(KeyboardInterrupt):
        drive(*SWEEP, "--learning_rate=0.05", f"--output_dir={tmp_path}")
    monkeypatch.setattr(runs, "train_and_evaluate", real)
    calls = _count_training(monkeypatch)
    drive(*SWEEP, "--learning_rate=0.05", f"--output_dir={tmp_path}")
    assert [c.learning_rate for c in calls] == [0.05]  # trained, not reused
    records = _records(tmp_path)
    assert len(records) == 2 and finished in records  # the 0.01 run is kept as it was
    rates = sorted(r["settings"]["train"]["learning_rate"] for r in records.values())
    assert rates == [0.01, 0.05]
    reported = pd.read_csv(tmp_path / "smoke" / "sweeps" / "lr.csv")
    new, = [r for r in records.values() if r["settings"]["train"]["learning_rate"] == 0.05]
    assert reported.loc[0, "hit@3"] == pytest.approx(new["result"]["test"]["hit@3"])


def test_a_finished_run_is_not_reused_after_the_data_changed(drive, tmp_path, monkeypatch):
    # Case 2: the same settings on changed data (one assignment fewer) is another run.
    args = ("table2", "--smoke", "--models=mp_ui", f"--output_dir={tmp_path}")
    drive(*args)
    calls = _count_training(monkeypatch)
    drive(*args)
    assert calls == []  # unchanged: reused
    smaller = synthetic.smoke_tags(seed=0).iloc[1:]
    monkeypatch.setattr(synthetic, "smoke_tags", lambda seed=0: smaller)
    printed = drive(*args)
    assert len(calls) == 1
    records = list(_records(tmp_path).values())
    assert len(records) == 2 and records[0]["split"] != records[1]["split"]
    newest = max(_records(tmp_path).items(), key=lambda kv: kv[0].stat().st_mtime_ns)[1]
    assert f"split {newest['split'][:12]}" in printed  # the table names the data it ran on


def test_smoke_and_quick_runs_never_touch_a_finished_full_run(drive, tmp_path, monkeypatch):
    # Case 3: a full run (synthetic data standing in for the real files) then a smoke and a
    # quick run into the same --output_dir.
    from experiments import tasks

    monkeypatch.setattr(tasks, "tag_assignments",
                        lambda dataset, options: synthetic.smoke_tags(seed=0))
    drive("table2", "--models=mp_ui,pitf", "--seeds=0", "--epochs=2", "--eval_every=1",
          "--latent_dim=4", f"--output_dir={tmp_path}")
    full = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    table = (tmp_path / "table2.md").read_text()
    assert table.startswith("# Table 2: lastfm core-5\n")
    drive("table2", "--smoke", "--models=mp_ui,pitf", f"--output_dir={tmp_path}")
    drive("table2", "--quick", "--models=mp_ui,pitf", f"--output_dir={tmp_path}")
    assert {p: p.read_bytes() for p in full} == full  # every file of the full run unchanged
    assert "(--smoke: synthetic data; not a result)" in (tmp_path / "smoke" / "table2.md").read_text()
    assert "(--quick" in (tmp_path / "quick" / "table2.md").read_text()


def test_a_repeated_seed_is_an_error_not_a_run_counted_twice(drive, tmp_path):
    # Case 4.
    with pytest.raises(SystemExit, match=r"--seeds=0,0: a seed is repeated"):
        drive("table2", "--smoke", "--seeds=0,0", f"--output_dir={tmp_path}")
    assert not tmp_path.joinpath("smoke").exists()


@pytest.mark.parametrize("damage", ["truncate record", "truncate metrics", "delete record"])
def test_a_damaged_finished_run_is_rerun_from_an_empty_folder(damage, drive, tmp_path, monkeypatch):
    args = ("table2", "--smoke", "--models=pitf", f"--output_dir={tmp_path}")
    drive(*args)
    (record,) = _records(tmp_path)
    run_dir = record.parent
    target = run_dir / ("metrics.json" if damage == "truncate metrics" else runs.RECORD)
    if damage == "delete record":
        target.unlink()
    else:
        target.write_text(target.read_text()[:40])
    (run_dir / "tb" / "select" / "stale.txt").write_text("from the killed run")
    calls = _count_training(monkeypatch)
    drive(*args)
    assert len(calls) == 1
    assert json.loads((run_dir / runs.RECORD).read_text())["result"]["test"]
    assert json.loads((run_dir / "metrics.json").read_text())["test"]
    assert not (run_dir / "tb" / "select" / "stale.txt").exists()  # a clean folder
    events = [p.parent for p in (run_dir / "tb").rglob("events.out.tfevents.*")]
    assert events and len(events) == len(set(events))  # one writer per log, none added to


def test_overwrite_reruns_a_finished_run_in_place(drive, tmp_path, monkeypatch):
    args = ("table2", "--smoke", "--models=pitf", f"--output_dir={tmp_path}")
    drive(*args)
    calls = _count_training(monkeypatch)
    drive(*args, "--overwrite")
    assert len(calls) == 1 and len(_records(tmp_path)) == 1


def test_the_record_is_written_last_and_whole(drive, tmp_path):
    drive("table2", "--smoke", "--models=pitf", f"--output_dir={tmp_path}")
    (record,) = _records(tmp_path)
    newest = max(p.stat().st_mtime_ns for p in record.parent.rglob("*") if p.is_file())
    assert record.stat().st_mtime_ns == newest
    assert not list(tmp_path.rglob("*.tmp"))


class _Split:
    """A task that knows only its fingerprint: all a run's identity reads of it."""

    def __init__(self, fingerprint):
        self.fingerprint = lambda: fingerprint


def _committed_run(record_path: pathlib.Path, **train_changes) -> runs.Run:
    """The `Run` that a committed record's settings ask for (with `train_changes`)."""
    record = json.loads(record_path.read_text())
    settings = dict(record["settings"])
    model, label, hparams, train = (settings.pop(k) for k in ("model", "data", "hparams", "train"))
    settings.pop("revision", None)
    part = tasks.Part(label, label, _Split(record["split"]), {}, settings)
    return runs.Run(model, part, hparams, TrainConfig(**{**train, **train_changes}),
                    record["mode"], record["kind"], record_path.parent.parent)


COMMITTED = sorted(REPORTS.rglob(runs.RECORD))


def test_every_committed_record_keeps_its_digest_and_is_reused_unless_its_model_changed():
    # Records made before a TrainConfig field existed: the field at its neutral value (what
    # runs computed before it) is left out of the identity, so they keep their folders. A
    # record of an earlier revision of its model's training is another run.
    assert len(COMMITTED) > 40
    current = 0
    for record in COMMITTED:
        run = _committed_run(record)
        made_by = json.loads(record.read_text())["settings"].get("revision", 0)
        if made_by == models.get(run.model)[0].revision:
            assert run.dir == record.parent, record
            assert runs.stale_reason(run) is None, record
            current += 1
        else:
            assert run.dir != record.parent, record
    assert current > 40
    pitf = REPORTS / "valid_rule3/table2/lastfm-core5/pitf/default/seed0-2b130ca4cd/run.json"
    assert _committed_run(pitf).dir.name != "seed0-2b130ca4cd"  # revision 0 of the pairwise step


@pytest.mark.parametrize("changes", [{"precision": "mixed_bfloat16"}, {"schedule": "cosine"},
                                     {"warmup_epochs": 2}])
def test_a_new_training_setting_away_from_its_neutral_value_is_another_run(changes):
    record = REPORTS / "valid_rule3/table2/lastfm-core5/pitf/default/seed0-2b130ca4cd/run.json"
    run = _committed_run(record, **changes)
    assert run.dir != record.parent and run.dir.name.startswith("seed0-")
    assert run.settings()["train"].items() >= changes.items()
    stored = json.loads(record.read_text())
    assert run.identity()["settings"] != stored["settings"]


def test_a_search_through_an_earlier_searchs_choice_copies_that_run_instead_of_training_it(
        drive, tmp_path, monkeypatch):
    # A λ search at the learning rate an earlier search chose: its point l2=0.01 is the
    # earlier point learning_rate=0.05 under another name, the same run.
    common = ("tune", "--smoke", "--model=pitf", "--tuned=false", f"--output_dir={tmp_path}")
    drive(*common, "--grid=learning_rate:0.01,0.05")
    calls = []
    real = runs.select
    monkeypatch.setattr(runs, "select", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    drive(*common, "--learning_rate=0.05", "--grid=l2:0.01,0.003")
    assert [c.learning_rate for c in calls] == [0.05]  # only l2=0.003 trained
    root = tmp_path / "smoke" / "tune" / "lastfm-core5" / "pitf"
    earlier, = (root / "lastfm-core5" / "pitf" / "learning_rate=0.05").iterdir()
    copied = root / "lastfm-core5" / "pitf" / "l2=0.01" / earlier.name
    assert (json.loads((copied / runs.RECORD).read_text())
            == json.loads((earlier / runs.RECORD).read_text()))
    frame = pd.read_csv(root / "tune_l2.csv").set_index("l2")
    lr_frame = pd.read_csv(root / "tune_learning_rate.csv").set_index("learning_rate")
    assert frame.loc[0.01, "val_ndcg@3"] == lr_frame.loc[0.05, "val_ndcg@3"]
    # A different run at another point is never taken for this one.
    calls.clear()
    drive(*common, "--learning_rate=0.02", "--grid=l2:0.01,0.003")
    assert sorted(c.learning_rate for c in calls) == [0.02, 0.02]
