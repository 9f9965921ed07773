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
