"""The absl flags of the experiment drivers, in groups; a driver defines only the groups it
uses (`DATA = flags.data()` at import). Library code never reads FLAGS.

A group is defined once per process however many drivers ask for it (tests import several
drivers), hence the cache.
"""

from __future__ import annotations

import functools
import types

from absl import flags

from daeptr.distribute import STRATEGIES
from daeptr.models import PRECISIONS
from daeptr.training import SCHEDULES, TrainConfig

_DEFAULT = TrainConfig()


@functools.cache
def data() -> types.SimpleNamespace:
    """Where data comes from and results go; every driver."""
    return types.SimpleNamespace(
        data_dir=flags.DEFINE_string(
            "data_dir", None,
            "Root of the data sets (one folder per data set, as in the official archives). "
            "Default: $DAEPTR_DATA, then the per-user cache; downloaded there if absent."),
        output_dir=flags.DEFINE_string(
            "output_dir", "results", "Where tables, runs and logs go (--smoke and --quick "
            "runs in its smoke/ and quick/ subfolders, apart from full runs)."),
        download=flags.DEFINE_bool("download", True, "Download missing data sets from GroupLens."),
        tie_break=flags.DEFINE_enum(
            "tie_break", "random", ["random", "tag_id"],
            "How to pick the held-out tag among tags sharing a post's latest timestamp."),
        split_seed=flags.DEFINE_integer("split_seed", 0, "Seed of the split's random choices "
                                        "(tie break; ML-100K validation carve-out)."),
        valid_min_tags=flags.DEFINE_enum(
            "valid_min_tags", "2", ["2", "3"],
            "Tag data sets: posts of at least this many tags give a validation tag (2: a 2-tag "
            "post validates from an empty input, as a 1-tag post is tested, so validation "
            "sees the test's kinds of post; 3: every validation post keeps an input tag)."),
        smoke=smoke(),
    )


@functools.cache
def smoke():
    return flags.DEFINE_bool(
        "smoke", False, "Run the real code path in seconds on small synthetic data made by "
        "the package (no data folder needed); results go to <output_dir>/smoke/.")


@functools.cache
def own_data() -> types.SimpleNamespace:
    """Your own files: `experiments.fit` (tag assignments) and `experiments.recommend`
    (posts to score)."""
    return types.SimpleNamespace(
        posts=flags.DEFINE_string(
            "posts", None, "A CSV/TSV with a header: for fit the tag assignments, one per row "
            "(user, item, tag[, timestamp]); for recommend the posts to score (user, item, "
            "tags)."),
        sep=flags.DEFINE_string("sep", None, "--posts' field separator (default: tab for "
                                ".tsv/.tab files, else a comma)."),
        top_k=flags.DEFINE_integer(
            "top_k", None, "fit: the tags per post the SavedModel returns (default 10); "
            "recommend: fewer than the exported k.", lower_bound=1),
    )


@functools.cache
def item_data() -> types.SimpleNamespace:
    """ML-100K's split settings; drivers that can run on ML-100K."""
    return types.SimpleNamespace(
        user_features=flags.DEFINE_list(
            "user_features", ["id", "gender"],
            "ML-100K: user profile features embedded by CDDAE, of id (the user node), gender, "
            "age, occupation (the CDDAE paper: id in Experiment 1, id and gender in 2–4)."),
        valid_fraction=flags.DEFINE_float(
            "valid_fraction", 0.1, "ML-100K: share of each user's base positives held out for "
            "validation, in [0, 0.9]."),
    )


@functools.cache
def training() -> types.SimpleNamespace:
    """Seeds, settings and training lengths of trained runs; every driver that trains."""
    return types.SimpleNamespace(
        seeds=flags.DEFINE_list("seeds", ["0"], "Training seeds: distinct integers >= 0 "
                                "(count-based floors are deterministic: first seed only)."),
        epochs=flags.DEFINE_integer("epochs", _DEFAULT.epochs,
                                    "Maximum epochs; early stopping on validation decides."),
        patience=flags.DEFINE_integer("patience", _DEFAULT.patience,
                                      "Early-stopping patience, in evaluations."),
        eval_every=flags.DEFINE_integer("eval_every", _DEFAULT.eval_every,
                                        "Epochs between validation rankings (and one "
                                        "after the last of --epochs)."),
        schedule=flags.DEFINE_enum(
            "schedule", _DEFAULT.schedule, list(SCHEDULES),
            "Learning rate per epoch: constant, or from the learning rate down towards 0 over "
            "the --epochs budget (cosine, linear); the retraining takes the same rates."),
        warmup_epochs=flags.DEFINE_integer(
            "warmup_epochs", _DEFAULT.warmup_epochs, "Epochs of linear warm-up from about 0 "
            "to the learning rate before the --schedule (>= 0, < --epochs)."),
        precision=flags.DEFINE_enum(
            "precision", _DEFAULT.precision, [*PRECISIONS, "auto"],
            "Trained models compute in float32, or in bfloat16 with float32 variables, "
            "objective and scores (mixed_bfloat16; count-based floors stay float32), or "
            "auto: mixed_bfloat16 on a CPU with AVX512-BF16 or AMX or a GPU of compute "
            "capability >= 8.0, float32 elsewhere (default: per model, the committed "
            "settings)."),
        distribute=flags.DEFINE_enum(
            "distribute", _DEFAULT.distribute, list(STRATEGIES),
            "tf.distribute: none; mirrored (this machine's GPUs, or its logical CPUs); "
            "multi_worker (the machines of TF_CONFIG, each running the same command; only "
            "the chief writes records)."),
        monitor=flags.DEFINE_string(
            "monitor", None, "Validation metric for early stopping and every choice on "
            "validation (default: val_ndcg@3 for tags, val_ru@10 on ML-100K)."),
        batch_size=sizes().batch_size,
        learning_rate=flags.DEFINE_float(
            "learning_rate", None, "Adam learning rate for every model (default per model: "
            "0.003 for DAE-PTR, chosen on validation; the paper's 0.01 for the baselines)."),
        l2=flags.DEFINE_float("l2", None, "λ for every model (paper: 0.01)."),
        latent_dim=sizes().latent_dim,
        corruption=flags.DEFINE_float("corruption", None,
                                      "c of Eq. 7, in [0, 1] (paper: 0.8 Last.fm, 0.9 ML10M)."),
        loss_reduction=flags.DEFINE_enum(
            "loss_reduction", None, ["sum", "mean"],
            "DAE-PTR: Eq. 11 summed over the batch's posts (default), or averaged."),
        hparam=flags.DEFINE_multi_string(
            "hparam", [], "MODEL.NAME=VALUE: one hyper-parameter of one model, e.g. "
            "pitf.num_negatives=20, nltf.gamma=0.5, mp_ui.alpha=0.3."),
        tuned=flags.DEFINE_bool("tuned", True, "Use the settings chosen on validation (the "
                                "committed --validated file), where present."),
        validated=validated(),
        tuned_from=flags.DEFINE_string(
            "tuned_from", None, "Data set label (e.g. lastfm-core5) whose validation choices "
            "fill in the settings this data set's own search did not choose."),
        retrain=flags.DEFINE_bool("retrain", True,
                                  "Retrain on all training data for the selected epochs."),
        save_ranks=flags.DEFINE_bool("save_ranks", False,
                                     "Write each run's per-post test ranks (ranks.npy)."),
        overwrite=flags.DEFINE_bool("overwrite", False, "Re-run runs that already finished "
                                    "with the same settings (their folders are replaced)."),
        quick=quick(),
        verbose=flags.DEFINE_bool("verbose", False, "Keras' progress bar for every epoch, "
                                  "beside the log line of every evaluation."),
        backup_every=flags.DEFINE_integer(
            "backup_every", 1, "Back a run up every this many epochs (its model, optimizer "
            "and loop state, in <run>/backup), so that the same command continues an "
            "interrupted run from there with the numbers of an uninterrupted one; 0: no "
            "backups. experiments.fit trains in a scratch folder and keeps none.",
            lower_bound=0),
        backup_seconds=flags.DEFINE_float(
            "backup_seconds", 60.0, "At most one backup per this many seconds of a fit (a "
            "backup of DAE-PTR on Last.fm takes about 0.3 s); 0: every --backup_every epochs.",
            lower_bound=0.0),
    )


@functools.cache
def sizes() -> types.SimpleNamespace:
    return types.SimpleNamespace(
        latent_dim=flags.DEFINE_integer(
            "latent_dim", None, "K for every model (paper: DAE-PTR 512 on Last.fm, 256 on "
            "ML10M; baselines 64)."),
        batch_size=flags.DEFINE_integer("batch_size", None, "Mini-batch size (default 1024, the "
                                        "paper's; 32 for the top-N auto-encoders)."),
    )


@functools.cache
def validated():
    return flags.DEFINE_string("validated", None, "The file of settings chosen on validation "
                               "(default: the package's committed experiments/validated.json).")


@functools.cache
def quick():
    return flags.DEFINE_bool("quick", False, "A seconds-to-minutes run of the same code path "
                             "on the real data (small sizes, few steps, one seed); results go "
                             "to <output_dir>/quick/.")


# Flags that several drivers define with their own defaults (a driver's `DEFAULTS`).

@functools.cache
def datasets():
    return flags.DEFINE_list("datasets", ["lastfm-core5"], "Data sets: lastfm-coreP, "
                             "ml10m-coreP, ml100k (its five folds), ml100k-foldK.")


@functools.cache
def dataset():
    return flags.DEFINE_string("dataset", "lastfm-core5", "Data set: lastfm-coreP, ml10m-coreP, "
                               "ml100k (its five folds), ml100k-foldK.")


@functools.cache
def model():
    return flags.DEFINE_string("model", "dae_ptr", "The model.")


@functools.cache
def grid():
    return flags.DEFINE_multi_string(
        "grid", [], "NAME:V1,V2,… — a hyper-parameter of the model, or a training setting, "
        "and its values (several --grid flags make a grid).")


def backup_policy(training: types.SimpleNamespace):
    """The `daeptr.backup.Policy` of the --backup_every and --backup_seconds flags of a
    `training()` group (None: --backup_every=0, no backups)."""
    from daeptr.backup import Policy

    every = training.backup_every.value
    return Policy(every, training.backup_seconds.value) if every else None
