"""One training routine for every tag model: selection on validation, one test evaluation.

`build_model(posts)` builds a fresh model for training on `posts` (the phase's training
tags; count-based models take their state from them, trained models only their sizes).

Protocol (BUILD_NOTES.md, "Training protocol"):
  1. Selection: train on the training tags without the validation tags; after every
     `eval_every` epochs rank the validation tags (`RankingEvaluation` adds `val_hit@N` and
     `val_ndcg@N` to the logs); early stopping on `monitor` keeps the best epoch.
  2. Final: retrain from scratch on all training tags for the selected number of epochs
     (`retrain=True`), or keep the selected model (`retrain=False`, faster). Every epoch
     has the learning rate of the schedule (`TrainConfig.learning_rate_at`), a function of
     the epoch alone, so the retraining's epochs take the selection's rates.
  3. Test: rank the test tags once.
A run folder holds TensorBoard logs (scalars + HParams), the best selection checkpoint, the
final model, `config.json`, `metrics.json`, `history.csv` and optionally `ranks.npy`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import shutil
import time
import warnings
from typing import Callable

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from daeptr import backup, distribute, hardware
from daeptr.data.splits import Posts, TagSplit
from daeptr.evaluate import NS, evaluate
from daeptr.metrics import ranking_metrics
from daeptr.models.base import PRECISIONS, dtype_policy, xla_around_matmuls
from daeptr.pipeline import max_width, post_dataset

SCHEDULES = ("constant", "cosine", "linear")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training settings. The defaults are the constant-rate float32 loop with early
    stopping; the drivers take each model's committed choices on top (Last.fm's DAE-PTR: a
    cosine decay from 0.01 over 26 epochs, evaluated every 13, precision "auto";
    experiments/validated.json)."""

    epochs: int = 300  # an upper bound: early stopping on validation decides
    batch_size: int = 1024
    learning_rate: float = 0.003
    patience: int = 4  # in evaluations
    monitor: str = "val_ndcg@3"
    eval_every: int = 2  # and at the budget's last epoch (`evaluated`)
    eval_batch_size: int = 4096
    seed: int = 0
    retrain: bool = True
    save_ranks: bool = False
    # XLA: "auto" means off on a CPU in Keras 3; on for the 2-core CPU it makes the sparse
    # DAE-PTR step 1.7x faster (experiments/bench.py), and it is the usual choice on GPUs.
    jit_compile: bool | str = True
    # "mixed_bfloat16": trained models compute in bfloat16, with float32 variables, objective
    # and scores (daeptr/models/base.py); "auto": mixed_bfloat16 where the hardware multiplies
    # bfloat16 natively, else float32 (`daeptr.hardware`), resolved when the config is made.
    precision: str = "float32"
    # The learning rate of each epoch, `learning_rate_at`.
    schedule: str = "constant"
    warmup_epochs: int = 0
    # "mirrored" or "multi_worker": tf.distribute over devices or machines (daeptr.distribute)
    distribute: str = "none"

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience", "eval_every", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.learning_rate < math.inf:  # NaN fails both comparisons
            raise ValueError(f"learning_rate must be a finite number > 0, got {self.learning_rate}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.precision not in (*PRECISIONS, "auto"):
            raise ValueError(f"precision must be one of {(*PRECISIONS, 'auto')}, got "
                             f"{self.precision!r}")
        # The run's record holds the precision it trained in, not "auto".
        object.__setattr__(self, "precision", hardware.resolve_precision(self.precision))
        if self.distribute not in distribute.STRATEGIES:
            raise ValueError(f"distribute must be one of {distribute.STRATEGIES}, got "
                             f"{self.distribute!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"warmup_epochs must be >= 0 and < epochs={self.epochs}, got "
                             f"{self.warmup_epochs}")

    @property
    def distributed(self) -> bool:
        return self.distribute != "none"

    def evaluated(self, epoch: int) -> bool:
        """Whether the selection ranks the validation tags after epoch `epoch` (1-based):
        every `eval_every` epochs, and after the budget's last, so that a budget that
        `eval_every` does not divide (`--epochs=10` with Last.fm's `eval_every=13`) still
        ends with an evaluation."""
        return epoch % self.eval_every == 0 or epoch == self.epochs

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate η_e of epoch e (0-based), with η = `learning_rate`, W =
        `warmup_epochs` and E = `epochs`:

            warm-up, e < W:   η (e + 1) / (W + 1)           from about 0 up to η
            then, p = (e − W) / (E − W) ∈ [0, 1):
              constant        η
              cosine          η (1 + cos πp) / 2           from η towards 0
              linear          η (1 − p)

        The schedule's length is the epoch budget E, wherever early stopping ends, so that it
        depends on the epoch alone and the retraining replays the selection's rates.
        """
        eta, warm = self.learning_rate, self.warmup_epochs
        if epoch < warm:
            return float(eta * (epoch + 1) / (warm + 1))
        progress = (epoch - warm) / (self.epochs - warm)
        if self.schedule == "cosine":
            return float(eta * (1 + math.cos(math.pi * progress)) / 2)
        if self.schedule == "linear":
            return float(eta * (1 - progress))
        return float(eta)


class RankingEvaluation(keras.callbacks.Callback):
    """Adds the validation metrics of `task` (`{prefix}hit@N`, `{prefix}ndcg@N`, …) to the
    epoch logs every `every` epochs.

    Place it before EarlyStopping, ModelCheckpoint and TensorBoard: they read the same logs.
    """

    def __init__(self, task, every: int = 1, prefix: str = "val_", batch_size: int = 4096,
                 phase: str = "valid"):
        super().__init__()
        self.task, self.every, self.prefix = task, every, prefix
        self.batch_size, self.phase = batch_size, phase

    def on_epoch_end(self, epoch, logs=None):
        # every `every` epochs and after the fit's last (TrainConfig.evaluated)
        last = epoch + 1 == self.params.get("epochs")
        if logs is None or ((epoch + 1) % self.every and not last):
            return
        metrics, _, _ = self.task.evaluate(self.model, self.phase, self.batch_size)
        logs.update({self.prefix + k: v for k, v in metrics.items()})


class TagTask:
    """Leave-last-tag-out tag recommendation on a `TagSplit`: what the protocol trains on and
    how it evaluates (full ranking, Hit@N / NDCG@N, test metrics by kind of post)."""

    def __init__(self, split: TagSplit, ns=NS):
        self.split, self.ns = split, ns
        self.width = max_width(split.train_posts("test"), split.eval_posts("test"))

    def train_rows(self, phase: str) -> Posts:
        return self.split.train_posts(phase)

    def train_dataset(self, phase: str, batch_size: int, seed: int, rows: bool = False):
        return post_dataset(self.train_rows(phase), batch_size, shuffle=True, seed=seed,
                            width=self.width, rows=rows)

    def evaluate(self, model, phase: str, batch_size: int):
        """(metrics, extra metrics.json entries, per-post ranks)."""
        posts = self.split.eval_posts(phase)
        metrics, ranks = evaluate(model, posts, self.ns, batch_size)
        extra = {}
        if phase == "test":  # the same ranks by kind of post: single-tag posts have no input
            empty = posts.lengths == 0
            extra["test_by_input"] = {
                name: {"posts": int(mask.sum()), **ranking_metrics(ranks[mask], self.ns)}
                for name, mask in (("empty", empty), ("non_empty", ~empty)) if mask.any()}
        return metrics, extra, ranks

    def fingerprint(self) -> str:
        return self.split.fingerprint()


def as_task(split_or_task, ns=NS):
    return TagTask(split_or_task, ns) if isinstance(split_or_task, TagSplit) else split_or_task


class EpochLog(keras.callbacks.Callback):
    """Writes every epoch's logs to CSV; unlike CSVLogger it keeps metrics that appear only
    on evaluation epochs (empty elsewhere)."""

    def __init__(self, path):
        super().__init__()
        self.path, self.rows = path, []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch + 1, **(logs or {})})
        pd.DataFrame(self.rows).to_csv(self.path, index=False)


def _write_hparams(log_dir: pathlib.Path, hparams: dict, test: dict, step: int) -> None:
    """The run's hyper-parameters and test metrics, for TensorBoard's HParams dashboard."""
    from tensorboard.plugins.hparams import api as hp

    values = {k: v if isinstance(v, (bool, int, float, str)) else str(v)
              for k, v in hparams.items() if v is not None}
    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams(values)
        for k, v in test.items():
            tf.summary.scalar(f"test/{k}", v, step=step)


class ProgressLog(keras.callbacks.Callback):
    """Calls `log(line)` at every evaluation epoch of a fit: the epoch, the training loss,
    the monitored validation metric, the best so far, the seconds elapsed and an upper bound
    of the seconds left (the epoch budget; early stopping may end sooner). In a fit without
    evaluations (the retraining) it logs the epoch and the loss every `every` epochs."""

    def __init__(self, log: Callable[[str], None], monitor: str, every: int = 1, prefix: str = ""):
        super().__init__()
        self.log, self.monitor, self.every, self.prefix = log, monitor, every, prefix

    def on_train_begin(self, logs=None):
        self.started, self.best, self.best_epoch = time.time(), -math.inf, 0

    def on_epoch_end(self, epoch, logs=None):
        logs, epochs = logs or {}, self.params.get("epochs", 0)
        value = logs.get(self.monitor)
        if value is None and (epoch + 1) % self.every and epoch + 1 < epochs:
            return
        elapsed = time.time() - self.started
        line = (f"{self.prefix}epoch {epoch + 1}/{epochs}: loss {logs.get('loss', math.nan):.4f}, ")
        if value is None:
            line += "retraining, "
        else:
            if value > self.best:
                self.best, self.best_epoch = value, epoch + 1
            line += (f"{self.monitor} {value:.5f} (best {self.best:.5f} at epoch "
                     f"{self.best_epoch}), ")
        left = elapsed / (epoch + 1) * (epochs - epoch - 1)
        self.log(line + f"{elapsed:.0f} s elapsed, at most {left:.0f} s left")


def _fit(model, train_ds, epochs, callbacks, verbose=0, steps_per_epoch=None, initial_epoch=0):
    # Validation metrics exist only on evaluation epochs; EarlyStopping and ModelCheckpoint
    # skip the others, and would warn about it at every such epoch.
    warnings.filterwarnings("ignore", message=".*conditioned on metric.*")
    warnings.filterwarnings("ignore", message=".*Can save best model only with.*")
    return model.fit(train_ds, epochs=epochs, callbacks=callbacks, verbose=verbose,
                     shuffle=False, steps_per_epoch=steps_per_epoch, initial_epoch=initial_epoch)


def _resumable(model, callbacks: list, directory, policy, epochs: int) -> tuple[int, int]:
    """(first epoch, end epoch) of a fit of at most `epochs` epochs that backs up into
    `directory` as `policy` (a `daeptr.backup.Policy`; None: no backups) says: a
    `daeptr.backup.Backup` joins `callbacks`, after those whose state it keeps, and a backup
    found there is loaded into `model`; a fit that early stopping had ended runs no further
    epoch."""
    if policy is None:
        return 0, epochs
    keeper = backup.Backup(directory, policy, callbacks)
    callbacks.append(keeper)
    start = keeper.restore(model)
    return start, start if keeper.stopped else epochs


def select(
    build_model: Callable[[Posts], keras.Model],
    split,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    ns=NS,
    callbacks=(),
    verbose: int = 0,
    backup: "backup.Policy | None" = None,
) -> tuple[keras.Model, dict]:
    """Phase 1: trains without the validation targets, early-stopped on validation.

    `split` is a `TagSplit` or a task (`TagTask`, `daeptr.topn_task.TopNTask`). Returns the
    model restored to its best evaluation and a summary with `valid` (the validation metrics
    there), `best_epoch` and `epochs_run`. Touches no test target. With `backup` (a
    `daeptr.backup.Policy`), backups as it says, from which a restarted call continues.
    """
    task = as_task(split, ns)
    backups = distribute.backup_dir(run_dir, config.distribute)
    run_dir = pathlib.Path(distribute.writable(run_dir, config.distribute))
    run_dir.mkdir(parents=True, exist_ok=True)
    model = compiled(build_model, task.train_rows("valid"), config)
    monitor = config.monitor
    if not model.trainable_weights:  # a count-based floor: nothing to fit or to stop
        valid, _, _ = task.evaluate(model, "valid", config.eval_batch_size)
        if monitor.removeprefix("val_") not in valid:
            raise ValueError(f"monitor {monitor!r} is not a logged metric; choose one of "
                             f"{sorted('val_' + k for k in valid)}")
        return model, {"valid": valid, "best_epoch": 0, "epochs_run": 0}
    log = EpochLog(run_dir / "history.csv")
    fit_callbacks = [
        _schedule(config),
        RankingEvaluation(task, config.eval_every, batch_size=config.eval_batch_size),
        # Restores the best evaluation's weights at the end, stopped early or not.
        keras.callbacks.EarlyStopping(monitor, mode="max", patience=config.patience,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(run_dir / "select.weights.h5", monitor=monitor,
                                        mode="max", save_best_only=True, save_weights_only=True),
        keras.callbacks.TensorBoard(run_dir / "tb" / "select"),
        log,
        *callbacks,
    ]
    start, end = _resumable(model, fit_callbacks, backups / "select", backup, config.epochs)
    dataset, steps = _dataset(task, "valid", config, start)
    _fit(model, dataset, end, fit_callbacks, verbose, steps, start)
    # Every epoch's logs, the epochs before a restart included; validation ones on
    # evaluation epochs only.
    evaluations = [row for row in log.rows if not math.isnan(row.get(monitor, math.nan))]
    if not evaluations:
        raise ValueError(f"monitor {monitor!r} is not a logged metric; choose one of "
                         f"{sorted({k for row in log.rows for k in row if k.startswith('val_')})}")
    best = evaluations[int(np.argmax([row[monitor] for row in evaluations]))]
    _remove(backups / "select")
    return model, {
        "valid": {k[len("val_"):]: float(v) for k, v in best.items() if k.startswith("val_")},
        "best_epoch": int(best["epoch"]),
        "epochs_run": len(log.rows),
    }


def train_and_evaluate(
    build_model: Callable[[Posts], keras.Model],
    split,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    hparams: dict | None = None,
    ns=NS,
    callbacks=(),
    verbose: int = 0,
    backup: "backup.Policy | None" = None,
) -> dict:
    """Runs the protocol above and returns the metrics that `metrics.json` holds.

    `callbacks` (e.g. `ProgressLog`) see the selection and the retraining; `verbose` is
    Keras' (1: a progress bar). With `backup` (a `daeptr.backup.Policy`), both fits back up
    as it says into `run_dir/backup`, and a call that finds a backup there
    continues from it; the backup is removed once `metrics.json` is written."""
    task = as_task(split, ns)
    backups = distribute.backup_dir(run_dir, config.distribute)
    run_dir = pathlib.Path(distribute.writable(run_dir, config.distribute))  # the chief's
    run_dir.mkdir(parents=True, exist_ok=True)
    hparams = {**(hparams or {}), **dataclasses.asdict(config), "split": task.fingerprint()}
    (run_dir / "config.json").write_text(json.dumps(hparams, indent=2, default=str))
    started = time.time()

    # 1. Selection on validation (its summary kept for a restart during the retraining).
    selected_path = backups / "selected.json"
    if backup and config.retrain and selected_path.exists():
        model, selected = compiled(build_model, task.train_rows("test"), config), json.loads(
            selected_path.read_text())
    else:
        model, selected = select(build_model, task, config, run_dir, callbacks=callbacks,
                                 verbose=verbose, backup=backup)
        if backup:
            backups.mkdir(parents=True, exist_ok=True)
            write_json_atomic(selected_path, selected)
        if config.retrain:
            model = _restarted(model, build_model, task.train_rows("test"), config)
    best_epoch = selected["best_epoch"]

    # 2. Final model on all training data.
    if config.retrain and model.trainable_weights:
        fit_callbacks = [_schedule(config), keras.callbacks.TensorBoard(run_dir / "tb" / "final"),
                         *callbacks]
        start, end = _resumable(model, fit_callbacks, backups / "final", backup, best_epoch)
        dataset, steps = _dataset(task, "test", config, start)
        _fit(model, dataset, end, fit_callbacks, verbose, steps, start)
    model.save(run_dir / "model.keras")

    # 3. One evaluation on test.
    test, extra, per_example = task.evaluate(model, "test", config.eval_batch_size)
    if config.save_ranks:
        np.save(run_dir / "ranks.npy", per_example)
    metrics = {
        "test": test,
        **extra,
        **selected,
        "train_seconds": time.time() - started,
        "split": task.fingerprint(),
    }
    _write_hparams(run_dir / "tb" / "hparams", hparams, test, best_epoch)
    write_json_atomic(run_dir / "metrics.json", metrics)  # last: a finished run has it whole
    _remove(backups)
    return metrics


def _remove(backups: pathlib.Path) -> None:
    """Removes a finished fit's backups, and the backup folder once it is empty."""
    shutil.rmtree(backups, ignore_errors=True)
    if backups.parent.name.startswith("backup") and backups.parent.exists() and not any(
            backups.parent.iterdir()):
        backups.parent.rmdir()


def fit_all(
    build_model: Callable[[Posts], keras.Model],
    posts: Posts,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    callbacks=(),
    verbose: int = 0,
) -> keras.Model:
    """Trains a fresh model on `posts` for `config.epochs` epochs, with no validation and no
    test: a production model on every tag (`experiments.fit --holdout=none`). The number of
    epochs must come from an earlier selection, e.g. a validated budget of the cosine
    schedule; TensorBoard logs go to `run_dir/tb/final`."""
    model = compiled(build_model, posts, config)
    if model.trainable_weights:
        dataset, steps = distribute.distributed(
            post_dataset(posts, config.batch_size, shuffle=True, seed=config.seed,
                         width=max_width(posts), rows=config.distributed),
            config.distribute, config.epochs)
        run_dir = pathlib.Path(distribute.writable(run_dir, config.distribute))
        _fit(model, dataset, config.epochs,
             [_schedule(config), keras.callbacks.TensorBoard(run_dir / "tb" / "final"),
              *callbacks], verbose, steps)
    return model


def write_json_atomic(path: pathlib.Path, value) -> None:
    """Writes `value` as JSON to a temporary file beside `path` and renames it into place,
    so a reader sees the whole file or none (a rename within a folder is atomic)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, default=str))
    os.replace(tmp, path)


def compiled(build_model, posts: Posts, config: TrainConfig) -> keras.Model:
    """A fresh model for training on `posts`: seeded, built under the run's precision (every
    training path builds here) and compiled."""
    keras.utils.set_random_seed(config.seed)
    # XLA cannot compile a step whose variables live on several devices (the seed state of
    # a mirrored model: "resource located in device CPU:1 from device CPU:0"), so a
    # distributed step runs without it.
    jit = config.jit_compile if not config.distributed else False
    with dtype_policy(config.precision), distribute.strategy(config.distribute).scope():
        model = build_model(posts)
        optimizer = keras.optimizers.Adam(config.learning_rate)
        if xla_around_matmuls(model, jit):  # bfloat16 on a CPU
            model.compile_around_matmuls(optimizer)
        else:
            model.compile(optimizer=optimizer, jit_compile=jit)
        if config.distributed:
            distribute.prepare(model)
    return model


def _restarted(model, build_model, posts: Posts, config: TrainConfig) -> keras.Model:
    """A model for training from scratch on `posts`: `model` itself holding the state a
    fresh model starts from (its variables, the corruption's seed state among them, and
    the optimizer's step count and moments), so that training it computes what a fresh
    model would with the step Keras has already compiled (compiling again took about 4 s of
    a DAE-PTR run on a 2-core CPU); the fresh model itself where that cannot be (a model
    without trainable weights, whose state is its counts)."""
    fresh = compiled(build_model, posts, config)
    if not fresh.trainable_weights or getattr(model, "optimizer", None) is None:
        return fresh
    fresh.optimizer.build(fresh.trainable_variables)
    pairs = [*zip(model.variables, fresh.variables),
             *zip(model.optimizer.variables, fresh.optimizer.variables)]
    if (len(model.variables), len(model.optimizer.variables)) != (
            len(fresh.variables), len(fresh.optimizer.variables)) or any(
            a.shape != b.shape or a.dtype != b.dtype for a, b in pairs):
        return fresh
    for target, source in pairs:
        target.assign(source)
    return model


def _dataset(task, phase: str, config: TrainConfig, start: int = 0):
    """The phase's shuffled training batches from epoch `start` on, split among the replicas
    under tf.distribute, and `fit`'s steps_per_epoch for them."""
    return distribute.distributed(
        task.train_dataset(phase, config.batch_size, config.seed, rows=config.distributed),
        config.distribute, config.epochs, start)


def _schedule(config: TrainConfig) -> keras.callbacks.Callback:
    """Sets every epoch's learning rate and adds it to the epoch's logs (`learning_rate` in
    `history.csv`)."""
    return keras.callbacks.LearningRateScheduler(lambda epoch, _: config.learning_rate_at(epoch))
