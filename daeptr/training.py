"""One training routine for every tag model: selection on validation, one test evaluation.

`build_model(posts)` builds a fresh model for training on `posts` (the phase's training
tags; count-based models take their state from them, trained models only their sizes).

Protocol (DESIGN.md, BUILD_NOTES.md):
  1. Selection: train on the training tags without the validation tags; after every
     `eval_every` epochs rank the validation tags (`RankingEvaluation` adds `val_hit@N` and
     `val_ndcg@N` to the logs); early stopping on `monitor` keeps the best epoch.
  2. Final: retrain from scratch on all training tags for the selected number of epochs
     (`retrain=True`), or keep the selected model (`retrain=False`, faster).
  3. Test: rank the test tags once.
A run folder holds TensorBoard logs (scalars + HParams), the best selection checkpoint, the
final model, `config.json`, `metrics.json`, `history.csv` and optionally `ranks.npy`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import time
import warnings
from typing import Callable

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from daeptr.data.splits import Posts, TagSplit
from daeptr.evaluate import NS, evaluate
from daeptr.metrics import ranking_metrics
from daeptr.pipeline import max_width, post_dataset


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults are those chosen on validation (BUILD_NOTES.md)."""

    epochs: int = 300  # an upper bound: early stopping on validation decides
    batch_size: int = 1024
    learning_rate: float = 0.003
    patience: int = 4  # in evaluations
    monitor: str = "val_ndcg@3"
    eval_every: int = 2
    eval_batch_size: int = 4096
    seed: int = 0
    retrain: bool = True
    save_ranks: bool = False
    # XLA: "auto" means off on a CPU in Keras 3; on for the 2-core CPU it makes the sparse
    # DAE-PTR step 1.7x faster (experiments/bench.py), and it is the usual choice on GPUs.
    jit_compile: bool | str = True

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience", "eval_every", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


class RankingEvaluation(keras.callbacks.Callback):
    """Adds `{prefix}hit@N` / `{prefix}ndcg@N` of full-ranking evaluation to the epoch logs.

    Place it before EarlyStopping, ModelCheckpoint and TensorBoard: they read the same logs.
    """

    def __init__(self, posts, ns=NS, every: int = 1, prefix: str = "val_", batch_size: int = 4096):
        super().__init__()
        self.posts, self.ns, self.every, self.prefix = posts, ns, every, prefix
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every:
            return
        metrics, _ = evaluate(self.model, self.posts, self.ns, self.batch_size)
        logs.update({self.prefix + k: v for k, v in metrics.items()})


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

    values = {k: v for k, v in hparams.items() if isinstance(v, (bool, int, float, str))}
    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams(values)
        for k, v in test.items():
            tf.summary.scalar(f"test/{k}", v, step=step)


def _fit(model, train_ds, epochs, callbacks):
    # Validation metrics exist only on evaluation epochs; EarlyStopping and ModelCheckpoint
    # skip the others, and would warn about it at every such epoch.
    warnings.filterwarnings("ignore", message=".*conditioned on metric.*")
    warnings.filterwarnings("ignore", message=".*Can save best model only with.*")
    return model.fit(train_ds, epochs=epochs, callbacks=callbacks, verbose=0, shuffle=False)


def select(
    build_model: Callable[[Posts], keras.Model],
    split: TagSplit,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    ns=NS,
) -> tuple[keras.Model, dict]:
    """Phase 1: trains without the validation tags, early-stopped on validation.

    Returns the model restored to its best evaluation and a summary with `valid` (the
    validation metrics there), `best_epoch` and `epochs_run`. Touches no test tag.
    """
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    model = _compiled(build_model(split.train_posts("valid")), config)
    monitor = config.monitor
    if not model.trainable_weights:  # a count-based floor: nothing to fit or to stop
        valid, _ = evaluate(model, split.eval_posts("valid"), ns, config.eval_batch_size)
        if monitor.removeprefix("val_") not in valid:
            raise ValueError(f"monitor {monitor!r} is not a logged metric; choose one of "
                             f"{sorted('val_' + k for k in valid)}")
        return model, {"valid": valid, "best_epoch": 0, "epochs_run": 0}
    history = _fit(
        model,
        post_dataset(split.train_posts("valid"), config.batch_size, shuffle=True,
                     seed=config.seed, width=_width(split)),
        config.epochs,
        [
            RankingEvaluation(split.eval_posts("valid"), ns, config.eval_every,
                              batch_size=config.eval_batch_size),
            keras.callbacks.EarlyStopping(monitor, mode="max", patience=config.patience,
                                          restore_best_weights=True),
            keras.callbacks.ModelCheckpoint(run_dir / "select.weights.h5", monitor=monitor,
                                            mode="max", save_best_only=True,
                                            save_weights_only=True),
            keras.callbacks.TensorBoard(run_dir / "tb" / "select"),
            EpochLog(run_dir / "history.csv"),
        ],
    ).history
    if monitor not in history:
        raise ValueError(f"monitor {monitor!r} is not a logged metric; choose one of "
                         f"{sorted(k for k in history if k.startswith('val_'))}")
    evaluated_epochs = np.arange(1, len(history["loss"]) + 1)[config.eval_every - 1 :: config.eval_every]
    best = int(np.nanargmax(np.asarray(history[monitor], dtype=float)))
    return model, {
        "valid": {k[len("val_"):]: float(history[k][best]) for k in history if k.startswith("val_")},
        "best_epoch": int(evaluated_epochs[best]),
        "epochs_run": len(history["loss"]),
    }


def _width(split: TagSplit) -> int:
    return max_width(split.train_posts("test"), split.eval_posts("test"))


def train_and_evaluate(
    build_model: Callable[[Posts], keras.Model],
    split: TagSplit,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    hparams: dict | None = None,
    ns=NS,
) -> dict:
    """Runs the protocol above and returns the metrics that `metrics.json` holds."""
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    hparams = {**(hparams or {}), **dataclasses.asdict(config), "split": split.fingerprint()}
    (run_dir / "config.json").write_text(json.dumps(hparams, indent=2, default=str))
    started = time.time()

    # 1. Selection on validation.
    model, selected = select(build_model, split, config, run_dir, ns=ns)
    best_epoch = selected["best_epoch"]

    # 2. Final model on all training tags.
    if config.retrain:
        keras.utils.set_random_seed(config.seed)
        model = _compiled(build_model(split.train_posts("test")), config)
    if config.retrain and model.trainable_weights:
        _fit(
            model,
            post_dataset(split.train_posts("test"), config.batch_size, shuffle=True,
                         seed=config.seed, width=_width(split)),
            best_epoch,
            [keras.callbacks.TensorBoard(run_dir / "tb" / "final")],
        )
    model.save(run_dir / "model.keras")

    # 3. One evaluation on test.
    test_posts = split.eval_posts("test")
    test, ranks = evaluate(model, test_posts, ns, config.eval_batch_size)
    # The same ranks by kind of post: single-tag posts are ranked from an empty input.
    empty = test_posts.lengths == 0
    by_input = {name: {"posts": int(mask.sum()), **ranking_metrics(ranks[mask], ns)}
                for name, mask in (("empty", empty), ("non_empty", ~empty)) if mask.any()}
    if config.save_ranks:
        np.save(run_dir / "ranks.npy", ranks)
    metrics = {
        "test": test,
        "test_by_input": by_input,
        **selected,
        "train_seconds": time.time() - started,
        "split": split.fingerprint(),
    }
    _write_hparams(run_dir / "tb" / "hparams", hparams, test, best_epoch)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _compiled(model, config: TrainConfig):
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  jit_compile=config.jit_compile)
    return model
