"""Restart after a failure (`daeptr.backup`): a run interrupted in its selection or its
retraining, or killed as a process, continues from its last backup and ends with the
weights and metrics of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

import daeptr
from daeptr import models
from daeptr.backup import Policy, read_state
from daeptr.data import pcore, splits, synthetic
from daeptr.training import TrainConfig, train_and_evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def split():
    return splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=3), 2)[0],
                                     seed=0)


def _build(split, name="dae_ptr"):
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    extra = {"corruption": 0.5} if name == "dae_ptr" else {}

    def build(posts):
        return models.build(name, posts, **sizes, latent_dim=8, seed=0, **extra)

    return build


class Crash(keras.callbacks.Callback):
    """Raises at the end of epoch `epoch` (1-based) of the `fit`-th fit it sees."""

    def __init__(self, epoch, fit=1):
        super().__init__()
        self.epoch, self.fit, self.fits = epoch, fit, 0

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.fits == self.fit and epoch + 1 == self.epoch:
            raise KeyboardInterrupt("killed")


def _run(split, run_dir, config, name="dae_ptr", callbacks=(), backup_every=1):
    metrics = train_and_evaluate(_build(split, name), split, config, run_dir,
                                 callbacks=list(callbacks),
                                 backup=Policy(backup_every) if backup_every else None)
    return metrics, daeptr.load_model(run_dir / "model.keras").get_weights()


def _same(a, b):
    (ma, wa), (mb, wb) = a, b
    assert ma["test"] == mb["test"]
    assert (ma["best_epoch"], ma["epochs_run"], ma["valid"]) == (
        mb["best_epoch"], mb["epochs_run"], mb["valid"])
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


CONFIG = dict(epochs=8, eval_every=2, batch_size=64, learning_rate=0.01, jit_compile=False,
              seed=0)


@pytest.fixture(scope="module")
def reference(split, tmp_path_factory):
    """An uninterrupted DAE-PTR run at CONFIG without backups, and its folder."""
    run_dir = tmp_path_factory.mktemp("reference")
    return _run(split, run_dir, TrainConfig(**CONFIG), backup_every=0), run_dir


def test_backups_at_most_once_per_seconds(split, tmp_path):
    # a minute between backups: none of this short fit's epochs backs up
    config = TrainConfig(**CONFIG)
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate(_build(split), split, config, tmp_path, callbacks=[Crash(6)],
                           backup=Policy(1, seconds=60))
    assert read_state(tmp_path / "backup" / "select") is None
    with pytest.raises(ValueError, match="backup seconds must be >= 0"):
        Policy(1, seconds=-1)


@pytest.mark.parametrize("crash_epoch,fit", [(3, 1), (6, 1), (2, 2)],
                         ids=["selection-between-evaluations", "selection-after-an-evaluation",
                              "retraining"])
def test_an_interrupted_run_continues_to_the_uninterrupted_result(split, tmp_path, reference,
                                                                  crash_epoch, fit):
    config = TrainConfig(**CONFIG)
    reference, reference_dir = reference
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _run(split, run_dir, config, callbacks=[Crash(crash_epoch, fit)])
    phase = "select" if fit == 1 else "final"
    # killed as the epoch ended, before its backup: the last one is the epoch before
    assert read_state(run_dir / "backup" / phase)["epoch"] == crash_epoch - 1
    resumed = _run(split, run_dir, config)
    _same(resumed, reference)
    # every epoch's logs, those before the restart included
    assert (run_dir / "history.csv").read_text() == (reference_dir / "history.csv").read_text()
    assert not (run_dir / "backup").exists()  # removed with the finished run


def test_a_run_that_early_stopping_ended_trains_no_further_epoch(split, tmp_path):
    # patience 1 in evaluations: the selection stops before its budget of 30 epochs
    config = TrainConfig(**{**CONFIG, "epochs": 30, "patience": 1, "learning_rate": 0.05})
    reference = _run(split, tmp_path / "reference", config, backup_every=0)
    assert reference[0]["epochs_run"] < 30
    run_dir = tmp_path / "run"
    # killed in the retraining's first epoch: the selection's backup says it had stopped
    with pytest.raises(KeyboardInterrupt):
        _run(split, run_dir, config, callbacks=[Crash(1, fit=2)])
    (run_dir / "backup" / "selected.json").unlink()  # as if killed just before writing it
    _same(_run(split, run_dir, config), reference)


def test_backups_every_k_epochs_continue_from_the_last_one(split, tmp_path, reference):
    config = TrainConfig(**CONFIG)
    reference, _ = reference
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _run(split, run_dir, config, callbacks=[Crash(5)], backup_every=3)
    state = read_state(run_dir / "backup" / "select")
    assert state["epoch"] == 3
    # the previous backup's files are gone once a newer one is whole
    assert sorted(p.name for p in (run_dir / "backup" / "select").iterdir()) == sorted(
        ["state.json", state["weights"], *([state["best"]] if state["best"] else [])])
    _same(_run(split, run_dir, config, backup_every=3), reference)


def test_pitf_continues_too(split, tmp_path):
    config = TrainConfig(**CONFIG)
    reference = _run(split, tmp_path / "reference", config, name="pitf", backup_every=0)
    with pytest.raises(KeyboardInterrupt):
        _run(split, tmp_path / "run", config, name="pitf", callbacks=[Crash(3)])
    _same(_run(split, tmp_path / "run", config, name="pitf"), reference)


# A driver run killed with SIGKILL mid-selection and started again with the same command.
SCRIPT = textwrap.dedent("""
    import sys, time
    import keras
    from absl import app
    from experiments import table2

    class Slow(keras.callbacks.Callback):  # time for the test to kill the process mid-run
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.25)

    import daeptr.training as training
    fit = training._fit
    training._fit = lambda model, data, epochs, callbacks, *a: fit(model, data, epochs,
                                                                   [*callbacks, Slow()], *a)
    sys.argv = ["table2", *sys.argv[1:]]
    from experiments import cli
    cli.run(table2.main, table2.DEFAULTS)
""")


def _driver(tmp_path, out):
    (tmp_path / "driver.py").write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT}
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "driver.py"), "--smoke", f"--output_dir={out}",
         "--models=dae_ptr", "--seeds=0", "--epochs=12", "--eval_every=2", "--backup_seconds=0"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=300):
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]


def test_a_killed_driver_started_again_ends_as_an_uninterrupted_one(tmp_path):
    _finish(_driver(tmp_path, tmp_path / "reference"))
    proc = _driver(tmp_path, tmp_path / "killed")
    deadline = time.time() + 300
    while time.time() < deadline:
        states = list((tmp_path / "killed").rglob("backup/select/state.json"))
        if states and read_state(states[0].parent)["epoch"] >= 4:
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _finish(_driver(tmp_path, tmp_path / "killed"))

    def metrics(root):
        path, = root.rglob("metrics.json")
        value = json.loads(path.read_text())
        return path.relative_to(root), {k: value[k] for k in ("test", "valid", "best_epoch",
                                                            "epochs_run")}

    assert metrics(tmp_path / "killed") == metrics(tmp_path / "reference")
