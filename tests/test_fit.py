"""`experiments.fit` and `experiments.recommend`: train on your own CSV, export, ask."""

import os
import pathlib

import pandas as pd
import pytest

from daeptr.data import synthetic


def _csv(tmp_path, frame=None, name="posts.csv"):
    frame = synthetic.planted_folksonomy(seed=7) if frame is None else frame
    path = tmp_path / name
    frame.assign(user="user " + frame["user"].astype(str), item="item " + frame["item"].astype(str),
                 tag="tag " + frame["tag"].astype(str)).to_csv(path, index=False)
    return path


SMALL = ["--latent_dim=8", "--epochs=2", "--eval_every=1", "--hparam=dae_ptr.jit_compile=false"]


def test_smoke_fit_exports_and_smoke_recommend_ranks(drive, tmp_path):
    printed = drive("fit", "--smoke", f"--export_dir={tmp_path / 'model'}")
    assert "Exported dae_ptr" in printed and "hit@3" in printed
    for name in ("1/saved_model.pb", "model.keras", "vocabulary.json", "fit.json",
                 "training/history.csv", "training/metrics.json"):
        assert (tmp_path / "model" / name).exists(), name
    assert "| rank | tag | score |" in drive("recommend", "--smoke")


def test_fit_on_a_csv_for_production_and_recommend_a_file_of_posts(drive, tmp_path):
    posts = _csv(tmp_path)
    out = tmp_path / "exported"
    drive("fit", f"--posts={posts}", "--holdout=none", "--pcore=2", "--top_k=3",
          f"--export_dir={out}", *SMALL)
    record = pd.read_json(out / "fit.json", typ="series")
    assert record["holdout"] == "none" and record["pcore"] == 2 and "test" not in record
    queries = tmp_path / "queries.csv"
    pd.DataFrame({"user": ["user 1", "somebody new"], "item": ["item 2", "item 3"],
                  "tags": ["tag 0|tag 1", ""]}).to_csv(queries, index=False)
    drive("recommend", f"--model_dir={out}", f"--posts={queries}",
          f"--output={tmp_path / 'ranked.csv'}")
    ranked = pd.read_csv(tmp_path / "ranked.csv")
    assert list(ranked.columns) == ["user", "item", "rank", "tag", "score"]
    assert ranked.groupby("user").size().to_dict() == {"somebody new": 3, "user 1": 3}
    first = ranked[ranked["user"] == "user 1"]
    assert not set(first["tag"]) & {"tag 0", "tag 1"}  # the current tags are left out
    assert list(first["rank"]) == [1, 2, 3] and first["score"].is_monotonic_decreasing
    # --top_k shortens the exported k; one post from the command line
    printed = drive("recommend", f"--model_dir={out}", "--user=user 1", "--item=item 2",
                    "--tags=tag 0", "--top_k=2")
    assert printed.count("\n| ") == 2  # two ranked tags under the header


@pytest.mark.parametrize("text, message", [
    ("user,item,label\nu,i,t\n", "line 1: no column 'tag'"),
    ("user,item,tag,timestamp\nu,i,t,1\nu,i,s,soon\n", "line 3, column 'timestamp'"),
    ("user,item,tag\n", "no tag assignments after the header"),
])
def test_bad_input_is_one_line_and_nothing_is_exported(drive, tmp_path, text, message):
    posts = tmp_path / "posts.csv"
    posts.write_text(text)
    with pytest.raises(SystemExit) as error:
        drive("fit", f"--posts={posts}", f"--export_dir={tmp_path / 'out' / 'model'}", *SMALL)
    assert str(error.value).startswith("error: ") and message in str(error.value)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out" / "model").exists()
    assert not [p for p in (tmp_path / "out").glob("*")]  # no scratch folder left behind


def test_an_empty_core_and_bad_flags_are_refused(drive, tmp_path):
    posts = _csv(tmp_path)
    out = tmp_path / "model"
    for args, message in [
        ([f"--posts={posts}", "--pcore=1000"], "the 1000-core is empty"),
        ([f"--posts={posts}", "--model=cdae"], "--model=cdae: choose a tag model"),
        ([], "--posts: give the file"),
        ([f"--posts={posts}", "--settings_from=ml100k"], "--settings_from=ml100k"),
    ]:
        with pytest.raises(SystemExit) as error:
            drive("fit", *args, f"--export_dir={out}", *SMALL)
        assert message in str(error.value), (args, str(error.value))
        assert not out.exists()
    out.mkdir()
    with pytest.raises(SystemExit, match="exists"):
        drive("fit", f"--posts={posts}", f"--export_dir={out}", *SMALL)
    for args, message in [([f"--model_dir={tmp_path / 'none'}", "--user=u", "--item=i"],
                           "no such folder"),
                          ([f"--model_dir={out}", "--user=u", "--item=i"], "no SavedModel"),
                          ([f"--model_dir={out}", "--user=u"], "--user and --item")]:
        with pytest.raises(SystemExit) as error:
            drive("recommend", *args)
        assert message in str(error.value), (args, str(error.value))


DATA = os.environ.get("DAEPTR_DATA")  # read before `drive` unsets it


@pytest.mark.realdata
@pytest.mark.skipif(not DATA, reason="real-data test: set DAEPTR_DATA")
def test_fit_and_recommend_on_a_csv_made_from_lastfm_core5(drive, tmp_path):
    from daeptr.data import datasets, pcore

    core, _ = pcore.p_core(datasets.load_tags("lastfm", DATA, download=False), 5)
    posts = _csv(tmp_path, core)
    out = tmp_path / "lastfm"
    printed = drive("fit", f"--posts={posts}", f"--export_dir={out}", "--quick")
    assert "Exported dae_ptr (1,348 users, 6,927 items, 2,132 tags)" in printed
    printed = drive("recommend", f"--model_dir={out}", "--user=user 2", "--item=item 51",
                    "--tags=tag 13", "--top_k=3")
    assert printed.count("\n| ") == 3


def test_a_model_fit_on_a_csv_serves_its_keras_top_k_in_a_process_without_the_package(
        drive, tmp_path):
    import json
    import subprocess
    import sys
    import textwrap

    import numpy as np
    import tensorflow as tf

    import daeptr
    from daeptr import serving
    from daeptr.models.base import float32_scorer

    out = tmp_path / "exported"
    drive("fit", f"--posts={_csv(tmp_path)}", "--pcore=2", "--top_k=4", f"--export_dir={out}",
          *SMALL)
    vocab = serving.Vocabulary.load(out / "vocabulary.json")
    request = {"user": ["user 1", "user 5", "someone new"], "item": ["item 3", "item 9", "item 3"],
               "tags": [["tag 2", ""], ["tag 4", "tag 7"], ["a new tag", ""]]}
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        request = json.loads(sys.stdin.read())
        serve = tf.saved_model.load({str(out / "1")!r}).signatures["serving_default"]
        out = serve(**{{k: tf.constant(v) for k, v in request.items()}})
        print(json.dumps({{"tags": out["tags"].numpy().astype(str).tolist(),
                          "daeptr": any(m.split(".")[0] == "daeptr" for m in sys.modules)}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], input=json.dumps(request),
                          capture_output=True, text=True, timeout=240, cwd=tmp_path,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not answer["daeptr"]

    model = daeptr.load_model(out / "model.keras")  # the Keras model the export came from
    index = {name: {v: k for k, v in enumerate(getattr(vocab, name))}
             for name in ("users", "items", "tags")}
    batch = {"user": tf.constant([index["users"].get(u, -1) for u in request["user"]]),
             "item": tf.constant([index["items"].get(i, -1) for i in request["item"]]),
             "tags": tf.constant([[index["tags"].get(t, -1) for t in row]
                                  for row in request["tags"]])}
    # ranked in float32 whatever precision it trained in (precision=auto), as serving ranks
    scores = float32_scorer(model).score(batch).numpy()
    for row, tags in zip(scores, batch["tags"].numpy()):
        row[tags[tags >= 0]] = -np.inf
    expected = [[vocab.tags[t] for t in row]
                for row in np.argsort(-scores, axis=1, kind="stable")[:, :4]]
    assert answer["tags"] == expected  # the unknown user, item and tag: ranked, not refused
