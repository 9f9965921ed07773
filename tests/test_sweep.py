"""The sweep's summary pieces (the drivers themselves run in test_drivers.py)."""

import pandas as pd

from experiments import sweep


def test_cost_table_adds_up_measured_runs_and_counts_untimed_ones_apart():
    runs = pd.DataFrame({"dataset": ["a", "a", "b"], "seconds": [1800.0, 5400.0, float("nan")]})
    table = sweep.cost_table(runs)
    assert table.to_dict("records") == [
        {"dataset": "a", "runs": 2, "hours": "2.00", "runs without a stored time": 0},
        {"dataset": "b", "runs": 1, "hours": "0.00", "runs without a stored time": 1},
        {"dataset": "all", "runs": 3, "hours": "2.00", "runs without a stored time": 1}]


def test_aggregate_averages_over_seeds_and_folds_per_point():
    runs = pd.DataFrame({"dataset": ["ml100k"] * 4, "c": [0.1, 0.1, 0.5, 0.5],
                         "m": [0.2, 0.4, 0.6, 0.6]})
    summary = sweep.aggregate(runs, ["c"], ["m"])
    assert summary["m_mean"].tolist() == [0.30000000000000004, 0.6]
    assert summary["runs"].tolist() == [2, 2] and summary["m_std"].iloc[1] == 0
