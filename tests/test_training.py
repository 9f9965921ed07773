"""The training protocol end to end on a planted folksonomy, and the tf.data pipeline."""

import json
import math

import keras
import numpy as np
import pandas as pd
import pytest

import daeptr
from daeptr import training
from daeptr.data import pcore, splits, synthetic
from daeptr.models import DAEPTR
from daeptr.pipeline import max_width, post_dataset
from daeptr.training import TrainConfig, select, train_and_evaluate


@pytest.fixture(scope="module")
def split():
    core, _ = pcore.p_core(synthetic.planted_folksonomy(seed=5), 2)
    return splits.leave_last_tag_out(core, seed=0)


def _orders(dataset):
    return [np.concatenate([b["user"].numpy() * 10_000 + b["item"].numpy() for b in dataset])
            for _ in range(2)]


def test_pipeline_shuffles_differently_each_epoch_and_repeats_under_a_seed(split):
    posts = split.train_posts("test")
    first, second = _orders(post_dataset(posts, 16, shuffle=True, seed=3))
    again_first, again_second = _orders(post_dataset(posts, 16, shuffle=True, seed=3))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again_first)
    np.testing.assert_array_equal(second, again_second)
    assert sorted(first) == sorted(second)  # every post once per epoch


def test_pipeline_batches_hold_the_posts_padded_to_a_fixed_width(split):
    posts = split.eval_posts("test")
    width = max_width(posts) + 2
    batches = list(post_dataset(posts, 7, width=width))
    tags = np.concatenate([b["tags"].numpy() for b in batches])
    assert tags.shape == (len(posts), width)
    np.testing.assert_array_equal(tags, posts.padded(width=width))
    np.testing.assert_array_equal(np.concatenate([b["target"].numpy() for b in batches]), posts.target)
    with pytest.raises(ValueError, match="batch_size"):
        post_dataset(posts, 0)


def test_train_and_evaluate_writes_the_run_and_selects_on_validation(split, tmp_path):
    config = TrainConfig(epochs=4, batch_size=32, learning_rate=0.01, patience=2, seed=1,
                         eval_every=2, save_ranks=True)
    build = lambda posts: DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=8,
                                corruption=0.5, seed=1)
    metrics = train_and_evaluate(build, split, config, tmp_path, hparams={"model": "dae_ptr"})
    for name in ("config.json", "metrics.json", "history.csv", "model.keras", "ranks.npy",
                 "select.weights.h5"):
        assert (tmp_path / name).exists(), name
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def tags(sub):
        events = EventAccumulator(str(tmp_path / "tb" / sub))
        events.Reload()
        return set(events.Tags()["tensors"])

    assert {"epoch_loss", "epoch_regularization_loss", "epoch_total_loss"} <= tags("select/train")
    assert "epoch_ndcg@3" in tags("select/validation")
    assert {"_hparams_/session_start_info", "test/hit@3"} <= tags("hparams")
    stored = json.loads((tmp_path / "metrics.json").read_text())
    assert stored["test"] == pytest.approx(metrics["test"])
    assert stored["split"] == split.fingerprint()
    history = pd.read_csv(tmp_path / "history.csv")
    evaluated = history.dropna(subset=["val_ndcg@3"])
    assert list(evaluated["epoch"]) == [2, 4]  # validation ranked every 2nd epoch only
    best = evaluated.loc[evaluated["val_ndcg@3"].idxmax()]
    assert metrics["best_epoch"] == int(best["epoch"])
    assert metrics["valid"]["ndcg@3"] == pytest.approx(best["val_ndcg@3"])
    ranks = np.load(tmp_path / "ranks.npy")
    assert len(ranks) == len(split.eval_posts("test"))
    assert metrics["test"]["hit@1"] == pytest.approx(np.mean(ranks <= 1))
    empty = split.eval_posts("test").lengths == 0
    by_input = metrics["test_by_input"]
    assert by_input["empty"]["posts"] == empty.sum() > 0
    assert by_input["non_empty"]["hit@3"] == pytest.approx(np.mean(ranks[~empty] <= 3))


@pytest.mark.parametrize("field, value", [("epochs", 0), ("batch_size", 0), ("learning_rate", 0.0),
                                          ("eval_every", 0), ("warmup_epochs", -1)])
def test_train_config_rejects_out_of_range_values(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("changes, message", [
    ({"precision": "float16"},
     "precision must be one of ('float32', 'mixed_bfloat16', 'auto'), got 'float16'"),
    ({"schedule": "step"}, "schedule must be one of ('constant', 'cosine', 'linear'), got 'step'"),
    ({"warmup_epochs": 3, "epochs": 3}, "warmup_epochs must be >= 0 and < epochs=3, got 3"),
])
def test_train_config_rejects_unknown_precisions_schedules_and_too_long_warm_ups(changes, message):
    with pytest.raises(ValueError) as error:
        TrainConfig(**changes)
    assert str(error.value) == message


@pytest.mark.parametrize("fast, precision", [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_precision_is_resolved_by_the_hardware_when_the_config_is_made(
        monkeypatch, fast, precision):
    from daeptr import hardware

    monkeypatch.setattr(hardware, "fast_bfloat16", lambda: fast)
    assert TrainConfig(precision="auto").precision == precision
    assert TrainConfig(precision="float32").precision == "float32"  # named: kept
    assert TrainConfig(precision="mixed_bfloat16").precision == "mixed_bfloat16"


@pytest.mark.parametrize("schedule, warmup, epochs, rates", [
    ("constant", 0, 3, [0.01, 0.01, 0.01]),
    ("constant", 2, 4, [0.01 / 3, 0.02 / 3, 0.01, 0.01]),
    ("linear", 0, 4, [0.01, 0.0075, 0.005, 0.0025]),
    # cos(π/4) = 0.70710678…: η (1 ± 0.7071) / 2 = 0.0085355, 0.0014645
    ("cosine", 1, 5, [0.005, 0.01, 0.0085355339, 0.005, 0.0014644661]),
])
def test_the_schedule_gives_each_epoch_its_hand_computed_rate(schedule, warmup, epochs, rates):
    config = TrainConfig(learning_rate=0.01, schedule=schedule, warmup_epochs=warmup,
                         epochs=epochs, eval_every=1)
    assert [config.learning_rate_at(e) for e in range(epochs)] == pytest.approx(rates, rel=1e-7)


class FitRates(keras.callbacks.Callback):
    """The learning rate logged at every epoch, one list per `fit`."""

    def __init__(self):
        super().__init__()
        self.fits = []

    def on_train_begin(self, logs=None):
        self.fits.append([])

    def on_epoch_end(self, epoch, logs=None):
        self.fits[-1].append(logs["learning_rate"])


def test_the_rates_are_logged_and_the_retraining_replays_the_selections(split, tmp_path,
                                                                        monkeypatch):
    config = TrainConfig(epochs=5, batch_size=64, learning_rate=0.02, patience=10, eval_every=1,
                         schedule="cosine", warmup_epochs=1, seed=1)
    real_select = training.select

    def selected_at_epoch_3(*args, **kwargs):  # a retraining shorter than the budget
        model, summary = real_select(*args, **kwargs)
        return model, {**summary, "best_epoch": 3}

    monkeypatch.setattr(training, "select", selected_at_epoch_3)
    build = lambda posts: DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=8,
                                corruption=0.5, seed=1)
    recorded = FitRates()
    metrics = train_and_evaluate(build, split, config, tmp_path, callbacks=[recorded])
    selection, retraining = recorded.fits
    expected = [config.learning_rate_at(e) for e in range(config.epochs)]
    assert len(selection) == metrics["epochs_run"] == 5
    assert selection == pytest.approx(expected, rel=1e-6)  # the optimizer's float32 rate
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["learning_rate"]) == pytest.approx(expected, rel=1e-6)
    assert retraining == selection[:3]  # warm-up, then the decay of the 5-epoch budget


def test_a_mixed_precision_run_trains_saves_and_reloads_in_mixed_precision(split, tmp_path):
    config = TrainConfig(epochs=2, batch_size=64, eval_every=1, precision="mixed_bfloat16",
                         jit_compile=False)
    build = lambda posts: DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=8,
                                seed=1)
    model, summary = select(build, split, config, tmp_path / "select")
    assert {layer.compute_dtype for layer in model._flatten_layers()} == {"bfloat16"}
    assert np.isfinite(pd.read_csv(tmp_path / "select" / "history.csv")["loss"]).all()
    metrics = train_and_evaluate(build, split, config, tmp_path / "full")
    loaded = daeptr.load_model(tmp_path / "full" / "model.keras")
    assert {layer.compute_dtype for layer in loaded._flatten_layers()} == {"bfloat16"}
    assert all(math.isfinite(v) for v in metrics["test"].values())
    assert keras.config.dtype_policy().name == "float32"  # restored after building


def test_validation_ranks_every_eval_every_epochs_and_after_the_budgets_last(split, tmp_path):
    config = TrainConfig(epochs=5, eval_every=2, batch_size=256, patience=10)
    assert [e for e in range(1, 6) if config.evaluated(e)] == [2, 4, 5]
    assert [e for e in range(1, 4) if TrainConfig(epochs=3, eval_every=13).evaluated(e)] == [3]
    build = lambda posts: DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=4,
                                corruption=0.5, seed=1)
    _, summary = select(build, split, config, tmp_path)
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["val_ndcg@3"].notna()) == [False, True, False, True, True]
    best = [2, 4, 5][int(np.nanargmax(history["val_ndcg@3"].to_numpy()[[1, 3, 4]]))]
    assert summary["best_epoch"] == best


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.1])
def test_train_config_rejects_a_learning_rate_that_is_not_a_positive_number(value):
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        TrainConfig(learning_rate=value)


def test_select_keeps_the_best_evaluation_when_validation_gets_worse(split, tmp_path):
    build = lambda posts: DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=4,
                                corruption=0.5, seed=1)
    model, summary = select(build, split, TrainConfig(epochs=6, batch_size=256, patience=2,
                                                      eval_every=1), tmp_path)
    history = pd.read_csv(tmp_path / "history.csv")
    best = int(history["val_ndcg@3"].to_numpy().argmax())
    assert summary["best_epoch"] == best + 1
    assert summary["valid"]["ndcg@3"] == pytest.approx(history["val_ndcg@3"][best])


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_the_retraining_reuses_the_selection_model_and_trains_what_a_fresh_model_trains(
        split, tmp_path, precision):
    """The retraining restarts the selected model (`_restarted`) instead of building a new
    one, to keep its compiled step: from the state a fresh model starts from, corruption
    seed and Adam's moments included, it must train exactly what the fresh model trains."""
    config = TrainConfig(epochs=3, batch_size=64, learning_rate=0.02, eval_every=3, seed=2,
                         precision=precision)
    build = lambda posts: DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=8,
                                corruption=0.5, output_bias="log_odds", seed=2)
    selected, _ = select(build, split, config, tmp_path / "select")
    posts = split.train_posts("test")
    restarted = training._restarted(selected, build, posts, config)
    assert restarted is selected
    fresh = training.compiled(build, posts, config)
    weights = {}
    for name, model in (("restarted", restarted), ("fresh", fresh)):
        training._fit(model, post_dataset(posts, 64, shuffle=True, seed=2), 2, [])
        weights[name] = [v.numpy() for v in model.variables]
    for a, b in zip(weights["restarted"], weights["fresh"]):
        np.testing.assert_array_equal(a, b)
