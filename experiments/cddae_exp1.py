"""CDDAE paper, Experiment 1: DAE vs CDAE vs CDDAE without side information.

    python -m experiments.cddae_exp1 [--datasets=ml100k] [--seeds=0] [--quick | --smoke]

The paper's settings for all three (§3.4): corruption 0.5, regularizer 0.01, sigmoid output,
mean absolute error, one hidden (bottleneck) layer of width 50, Adam 0.001; CDDAE embeds and
reconstructs only the user node (`--user_features=id`). Also the item-popularity floor.
Writes `<output_dir>/cddae/cddae_exp1.{csv,md,png}`.
"""

from experiments import cddae_common as common, cli
from experiments.cddae_common import Arm


def arms():
    return [Arm("MP", "mp"), Arm("DAE", "dae"), Arm("CDAE", "cdae"), Arm("CDDAE", "cddae")]


DEFAULTS = {**common.DEFAULTS, "user_features": ["id"]}
main = common.main_for("cddae_exp1", arms)

if __name__ == "__main__":
    cli.run(main, DEFAULTS)
