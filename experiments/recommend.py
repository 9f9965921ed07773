"""Ranked tags from an exported model (`experiments.fit`), for one post or a file of posts.

    python -m experiments.recommend --model_dir=exported/tags --user=u1 --item=song9 \
        --tags=rock,indie [--top_k=5]
    python -m experiments.recommend --model_dir=exported/tags --posts=posts.csv \
        --output=recommended.csv [--batch_size=1024]

Loads the newest version `<model_dir>/<n>/` with `tf.saved_model.load` and calls its
`serving_default` signature, as TF Serving would: raw string ids in, no package code in the
scoring. An unknown user, item or tag is ranked, not refused (`daeptr.serving`). `--posts` is
a CSV/TSV with the columns user, item and tags (the post's current tags joined by
`--tag_sep`, empty for none); `--output` gets one row per recommended tag: user, item, rank,
tag, score. `--top_k` may only shorten the exported k. `--smoke` exports a small model with
`experiments.fit --smoke` into a temporary folder first and asks it.
"""

from __future__ import annotations

import pathlib
import tempfile

import numpy as np
import pandas as pd
from absl import flags

from daeptr import results
from daeptr.data import own
from daeptr.data.readers import DataFormatError
from experiments import cli
from experiments import flags as flag_groups

MODEL_DIR = flags.DEFINE_string("model_dir", None, "The folder `experiments.fit` exported to "
                                "(or a SavedModel version folder inside it).")
USER = flags.DEFINE_string("user", None, "The post's user.")
ITEM = flags.DEFINE_string("item", None, "The post's item.")
TAGS = flags.DEFINE_list("tags", [], "The post's current tags, comma-separated.")
OWN = flag_groups.own_data()
POSTS, SEP, TOP_K = OWN.posts, OWN.sep, OWN.top_k
SMOKE = flag_groups.smoke()
BATCH_SIZE = flag_groups.sizes().batch_size
TAG_SEP = flags.DEFINE_string("tag_sep", "|", "Separator of the tags inside --posts' tags "
                              "column.")
OUTPUT = flags.DEFINE_string("output", None, "With --posts: the CSV to write.")


DEFAULTS = {"top_k": None}


def version_dir(model_dir: pathlib.Path) -> pathlib.Path:
    """`model_dir` itself if it is a SavedModel, else its highest numbered version."""
    if (model_dir / "saved_model.pb").exists():
        return model_dir
    versions = sorted((int(p.name), p) for p in model_dir.glob("*")
                      if p.name.isdigit() and (p / "saved_model.pb").exists())
    if not versions:
        raise cli.FlagError(f"--model_dir={model_dir}: no SavedModel (saved_model.pb) in it "
                            "or in a numbered version folder")
    return versions[-1][1]


def read_posts(path: pathlib.Path, sep: str | None, tag_sep: str) -> pd.DataFrame:
    """The posts to score: columns user, item (str) and tags (a list of str)."""
    sep = sep or own.separator_for(path)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: the file is empty (expected a header user, item, "
                              "tags)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{path}: not a {sep!r}-separated UTF-8 file "
                              f"({' '.join(str(err).split())})") from None
    for column in ("user", "item", "tags"):
        if column not in frame.columns:
            raise DataFormatError(f"{path}, line 1: no column {column!r} (the header has "
                                  f"{', '.join(map(repr, frame.columns))})")
    if frame.empty:
        raise DataFormatError(f"{path}: no posts after the header")
    for column in ("user", "item"):
        empty = np.flatnonzero((frame[column] == "").to_numpy())
        if len(empty):
            raise DataFormatError(f"{path}, line {empty[0] + 2}, column {column!r}: "
                                  "missing value")
    frame["tags"] = [[t for t in value.split(tag_sep) if t] for value in frame["tags"]]
    return frame[["user", "item", "tags"]]


def recommend(signature, posts: pd.DataFrame, top_k: int | None, batch_size: int) -> pd.DataFrame:
    """One row per (post, rank): user, item, rank (1 = best), tag, score."""
    import tensorflow as tf

    rows = []
    for start in range(0, len(posts), batch_size):
        chunk = posts.iloc[start:start + batch_size]
        width = max(1, max(len(t) for t in chunk["tags"]))
        tags = [t + [""] * (width - len(t)) for t in chunk["tags"]]
        out = signature(user=tf.constant(chunk["user"].tolist()),
                        item=tf.constant(chunk["item"].tolist()), tags=tf.constant(tags))
        names, scores = out["tags"].numpy(), out["scores"].numpy()
        k = names.shape[1] if top_k is None else min(top_k, names.shape[1])
        for (user, item), row_names, row_scores in zip(chunk[["user", "item"]].itertuples(
                index=False), names, scores):
            rows += [{"user": user, "item": item, "rank": r + 1, "tag": n.decode(),
                      "score": float(s)}
                     for r, (n, s) in enumerate(zip(row_names[:k], row_scores[:k])) if n]
    return pd.DataFrame(rows, columns=["user", "item", "rank", "tag", "score"])


def main(argv):
    del argv
    if SMOKE.value:
        from experiments import fit

        scratch = tempfile.TemporaryDirectory(prefix="recommend-smoke-")
        model_dir = pathlib.Path(scratch.name) / "model"
        cli.call(fit, ["--smoke", f"--export_dir={model_dir}"])
        user, item, tags = USER.value or "u0", ITEM.value or "i0", TAGS.value or ["t1"]
    else:
        if not MODEL_DIR.value:
            raise cli.FlagError("--model_dir: give the folder experiments.fit exported to")
        model_dir = pathlib.Path(MODEL_DIR.value)
        if not model_dir.is_dir():
            raise cli.FlagError(f"--model_dir={model_dir}: no such folder")
        user, item, tags = USER.value, ITEM.value, TAGS.value
    if POSTS.value and (USER.value or ITEM.value or TAGS.value):
        raise cli.FlagError("--posts: give either --posts or --user/--item/--tags")
    if POSTS.value and not OUTPUT.value:
        raise cli.FlagError("--output: give the CSV to write the recommendations to")
    if not POSTS.value and (user is None or item is None):
        raise cli.FlagError("--user and --item: give the post (or --posts)")
    if OUTPUT.value:
        cli.check_output_dir(str(pathlib.Path(OUTPUT.value).parent))
    posts = (read_posts(pathlib.Path(POSTS.value), SEP.value, TAG_SEP.value) if POSTS.value
             else pd.DataFrame({"user": [user], "item": [item], "tags": [list(tags)]}))

    import tensorflow as tf

    signature = tf.saved_model.load(str(version_dir(model_dir))).signatures["serving_default"]
    ranked = recommend(signature, posts, TOP_K.value, BATCH_SIZE.value or 1024)
    if POSTS.value:
        output = pathlib.Path(OUTPUT.value)
        tmp = output.with_name(output.name + ".tmp")
        ranked.to_csv(tmp, index=False)
        tmp.replace(output)
        print(f"Wrote {len(ranked):,} recommendations for {len(posts):,} posts to {output}")
    else:
        print(results.markdown_table(ranked[["rank", "tag", "score"]], [True, False, True]))


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
