"""Train a tag recommender on your own folksonomy and export it for serving.

    python -m experiments.fit --posts=posts.csv --model=dae_ptr --export_dir=exported/tags
        [--sep=,] [--user_column=user --item_column=item --tag_column=tag
        --timestamp_column=timestamp] [--pcore=5] [--holdout=last|none] [--top_k=10]
        [--settings_from=lastfm-core5] [--epochs=… --hparam=dae_ptr.latent_dim=256 …]

Reads one tag assignment per row (`daeptr.data.own`: a header, string ids, an optional
numeric timestamp, else row order), applies the p-core (`--pcore`, 0: none), trains with the
package's loop and writes `--export_dir`:

    1/               the SavedModel for TF Serving (`daeptr.serving`: raw string ids in, the
                     top --top_k tags and scores out)
    model.keras      the Keras model (`daeptr.load_model`)
    training/        the run's history.csv, metrics.json and TensorBoard logs
    vocabulary.json  the users, items and tags in id order
    fit.json         the command, the settings and their sources, the data's statistics and,
                     with --holdout=last, the test metrics

`--holdout=last` (default) holds out each post's latest tag as in the papers'
leave-last-tag-out protocol: selection on the next latest tags (validation), retraining on
all but the test tags, one test evaluation, whose Hit@N / NDCG@N are printed; the exported
model is the retrained one. `--holdout=none` trains on every tag for --epochs epochs, for
production. Settings start from those committed for `--settings_from` (its paper starting
points and validated choices, e.g. DAE-PTR's cosine decay over 26 epochs); flags override.
Nothing is exported unless every step succeeds: the folder is written beside and renamed.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
import tempfile

import numpy as np
import pandas as pd
from absl import flags, logging

from daeptr import models, results, serving
from daeptr.data import datasets, own, pcore, splits, synthetic
from daeptr.training import ProgressLog, fit_all, train_and_evaluate
from experiments import cli, flags as flag_groups, plan
from experiments.settings import resolve

DATA = flag_groups.data()
TRAINING = flag_groups.training()
MODEL = flag_groups.model()
OWN = flag_groups.own_data()
POSTS, SEP, TOP_K = OWN.posts, OWN.sep, OWN.top_k
USER_COLUMN = flags.DEFINE_string("user_column", "user", "The user column.")
ITEM_COLUMN = flags.DEFINE_string("item_column", "item", "The item column.")
TAG_COLUMN = flags.DEFINE_string("tag_column", "tag", "The tag column.")
TIMESTAMP_COLUMN = flags.DEFINE_string(
    "timestamp_column", "timestamp", "The numeric timestamp column; if the file has no "
    "column of the default name, or '' is given, the row order is the time order.")
PCORE = flags.DEFINE_integer("pcore", 0, "p-core level (0: no filter).", lower_bound=0)
HOLDOUT = flags.DEFINE_enum("holdout", "last", ["last", "none"], "last: hold out each post's "
                            "latest tag (selection, retraining, test); none: train on every "
                            "tag for --epochs epochs.")
EXPORT_DIR = flags.DEFINE_string("export_dir", None, "Where the exported model goes; it must "
                                 "not exist (see --overwrite).")
SETTINGS_FROM = flags.DEFINE_string(
    "settings_from", "lastfm-core5", "The data set whose committed settings (paper starting "
    "points and validated choices) the model starts from: lastfm-coreP or ml10m-coreP.")
DEFAULTS = {"model": "dae_ptr", "top_k": 10}

TAG_MODELS = sorted(name for name, (cls, _) in models.REGISTRY.items()
                    if name not in ("dae", "cdae", "cddae"))


def smoke_posts(folder: pathlib.Path) -> pathlib.Path:
    """A small synthetic folksonomy written as a CSV with string ids, the --smoke input."""
    frame = synthetic.smoke_tags()
    path = folder / "smoke_posts.csv"
    frame.assign(user="u" + frame["user"].astype(str), item="i" + frame["item"].astype(str),
                 tag="t" + frame["tag"].astype(str)).to_csv(path, index=False)
    return path


def checked_flags() -> tuple[str, pathlib.Path, str]:
    """(model, export folder, settings label), every flag checked before anything is read."""
    name = MODEL.value
    if name not in TAG_MODELS:
        raise cli.FlagError(f"--model={name}: choose a tag model of {TAG_MODELS}")
    if not DATA.smoke.value and not POSTS.value:
        raise cli.FlagError("--posts: give the file of tag assignments (or --smoke)")
    if not EXPORT_DIR.value:
        raise cli.FlagError("--export_dir: give the folder to export to")
    export_dir = pathlib.Path(EXPORT_DIR.value)
    if export_dir.exists() and not TRAINING.overwrite.value:
        raise cli.FlagError(f"--export_dir={export_dir}: exists (--overwrite replaces it)")
    cli.check_output_dir(str(export_dir.parent))
    label, = plan.labels([SETTINGS_FROM.value], "--settings_from")
    if label.startswith("ml100k"):
        raise cli.FlagError(f"--settings_from={label}: a tag data set, lastfm-coreP or "
                            "ml10m-coreP")
    if HOLDOUT.value == "none" and TRAINING.retrain.value is False:
        raise cli.FlagError("--noretrain: --holdout=none has no selection to keep")
    return name, export_dir, label


def main(argv):
    del argv
    name, export_dir, label = checked_flags()
    request = plan.request()
    plan.check([name], [label], request)
    settings = resolve(name, label, request)
    seed = plan.seeds()[0]
    config = settings.config(seed=seed)
    options = plan.data_options()

    export_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fit-", dir=export_dir.parent) as scratch:
        scratch = pathlib.Path(scratch)
        path = smoke_posts(scratch) if DATA.smoke.value else pathlib.Path(POSTS.value)
        columns = own.Columns(USER_COLUMN.value, ITEM_COLUMN.value, TAG_COLUMN.value,
                              TIMESTAMP_COLUMN.value or None)
        assignments = own.read_posts(path, SEP.value, columns)
        core, rounds = (pcore.p_core(assignments, PCORE.value) if PCORE.value
                        else (assignments, 0))
        vocabulary = serving.Vocabulary(
            *(tuple(datasets.encode(core[c])[1].tolist()) for c in ("user", "item", "tag")))
        split = splits.leave_last_tag_out(core, tie_break=options.tie_break,
                                          seed=options.split_seed,
                                          valid_min_tags=options.valid_min_tags)
        if HOLDOUT.value == "none":  # every tag trains
            split = dataclasses.replace(split, role=np.zeros_like(split.role))
        sizes = dict(num_users=split.num_users, num_items=split.num_items,
                     num_tags=split.num_tags)
        build = lambda posts: models.build(name, posts, **sizes, **settings.hparams,  # noqa: E731
                                           seed=seed)
        out = scratch / "export"
        run_dir = out / "training"  # history.csv, metrics.json, TensorBoard logs
        progress = [ProgressLog(logging.info, config.monitor, every=max(1, config.epochs // 10))]
        record = {"command": cli.command(), "posts": str(path), "model": name,
                  "settings_from": label, "hparams": settings.hparams, "train": settings.train,
                  "sources": settings.sources, "pcore": PCORE.value, "pcore_rounds": rounds,
                  "assignments": len(assignments), "core_assignments": len(core),
                  "holdout": HOLDOUT.value, "statistics": split.statistics()}
        if HOLDOUT.value == "last":
            metrics = train_and_evaluate(build, split, config, run_dir, callbacks=progress)
            import daeptr

            model = daeptr.load_model(run_dir / "model.keras")
            for copy in ("model.keras", "select.weights.h5"):  # the export keeps one model
                (run_dir / copy).unlink(missing_ok=True)
            record.update(test=metrics["test"], valid=metrics["valid"],
                          best_epoch=metrics["best_epoch"], seconds=metrics["train_seconds"])
        else:
            model = fit_all(build, split.train_posts("test"), config, run_dir, callbacks=progress)
        serving.export(model, vocabulary, out, TOP_K.value)
        model.save(out / "model.keras")
        vocabulary.save(out / "vocabulary.json")
        (out / "fit.json").write_text(json.dumps(record, indent=2, default=str))
        if export_dir.exists():  # --overwrite, checked above
            shutil.rmtree(export_dir)
        out.rename(export_dir)
    lines = [f"Exported {name} ({len(vocabulary.users):,} users, {len(vocabulary.items):,} "
             f"items, {len(vocabulary.tags):,} tags) to {export_dir}/1 (top {TOP_K.value})."]
    if HOLDOUT.value == "last":
        frame = pd.DataFrame([record["test"]])
        lines += [f"Test tags ({split.statistics()['test_posts']:,} posts, the latest tag of "
                  "each):", results.markdown_table(frame)]
    print("\n\n".join(lines))


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
