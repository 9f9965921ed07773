"""CDDAE Experiments 1–4 through their real code paths (--quick, one fold) and the real
ML-100K folds."""

import numpy as np
import pandas as pd
import pytest

from daeptr.topn import NS
from experiments import cddae_common
from tests.test_drivers import needs_data, run


@needs_data
@pytest.mark.parametrize("experiment, arms", [
    ("cddae_exp1", {"MP", "DAE", "CDAE", "CDDAE"}),
    ("cddae_exp2", {"MP", "CDAE", "CDAE-BCE", "CDDAE (output=sigmoid_bce)"}),
    ("cddae_exp3", {"CDAE", "CDAE-BCE", "CDDAE (corruption=0.3, l2=0.001)"}),
    ("cddae_exp4", {"CDAE", "CDAE-BCE", "CDDAE-width (latent_dim=10)",
                    "CDDAE-encoder (encoder_units=(100,))", "CDDAE-decoder (decoder_units=(100,))"}),
])
def test_cddae_experiment_quick_writes_table_and_figure(experiment, arms, tmp_path):
    done = run(f"experiments.{experiment}", "--quick", "--datasets=ml100k-fold1",
               f"--output_dir={tmp_path}", "--download=false")
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "cddae"
    runs = pd.read_csv(out / f"{experiment}.csv")
    assert set(runs["arm"]) == arms
    for n in (1, 10):
        assert runs[f"pu@{n}"].between(0, 1).all() and (runs[f"pu@{n}"] >= runs[f"p@{n}"] - 1e-9).all()
    assert np.allclose(runs["p@1"], runs["pu@1"])  # one recommendation: the same thing
    markdown = (out / f"{experiment}.md").read_text()
    assert "Relative difference to CDAE" in markdown and "The paper:" in markdown
    assert (out / f"{experiment}.png").stat().st_size > 1000


@needs_data
def test_real_ml100k_folds(real_data_env):
    import os

    from daeptr.data import datasets, ml100k

    data = datasets.load_ml100k(os.environ["DAEPTR_DATA"], download=False)
    stats = [ml100k.fold_split(data, k, user_features=("gender",)).statistics() for k in range(1, 6)]
    positives = sum(s["test"] for s in stats)
    assert positives == int((data.ratings["rating"] >= 4).sum()) == 55375  # folds partition u.data
    assert all(s["users"] == 943 and s["items"] == 1682 for s in stats)
    assert all(0.08 < s["valid"] / (s["fit"] + s["valid"]) < 0.15 for s in stats)


def test_grid_point_is_chosen_by_the_validation_monitor_not_by_test():
    arms = ["CDAE", "CDDAE (c=0.3)", "CDDAE (c=0.5)"]
    rows = []
    for arm, valid, test in zip(arms, (0.10, 0.20, 0.30), (0.10, 0.40, 0.20)):
        for fold in (1, 2):
            rows.append({"arm": arm, "val_ru@10": valid + fold / 100,
                         **{f"{m}@{n}": test for m in cddae_common.REPORTED for n in NS}})
    runs = pd.DataFrame(rows)
    mean = runs.groupby("arm", sort=False).mean(numeric_only=True)
    chosen = cddae_common.chosen_on_validation(runs, mean, "val_ru@10")
    assert chosen["chosen point"].tolist() == ["CDDAE (c=0.5)"]  # best validation, worse test
    assert chosen.loc[0, "p over CDAE"] == "+100.0%"
