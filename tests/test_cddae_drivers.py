"""The real ML-100K folds and the CDDAE summary's choice on validation (the experiment
drivers themselves run in test_drivers.py)."""

import pandas as pd

from daeptr.topn import NS
from experiments import cddae_common
from tests.test_drivers import needs_data


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
