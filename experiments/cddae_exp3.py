"""CDDAE paper, Experiment 3: corruption rate × regularizer penalty.

    python -m experiments.cddae_exp3 [--datasets=ml100k] [--seeds=0] [--quick | --smoke]

CDDAE with gender (sigmoid + binary cross-entropy, the best output of Experiment 2 in the
paper) over corruption {0.3, 0.5, 0.7} × regularizer {0.001, 0.01, 0.1}; CDAE of
Experiment 1 as the paper's baseline, and CDAE with
CDDAE's loss (sigmoid + binary cross-entropy) as the like-for-like one. The paper's exact grid (its Table 3) is not in the text we have.
"""

from experiments import cddae_common as common, cli
from experiments.cddae_common import Arm


def arms():
    return [Arm("CDAE", "cdae"), Arm("CDAE-BCE", "cdae", {"output": "sigmoid_bce"}),
            Arm("CDDAE", "cddae", {"output": "sigmoid_bce"},
                [{"corruption": c, "l2": r} for c in (0.3, 0.5, 0.7) for r in (0.001, 0.01, 0.1)])]


DEFAULTS = {**common.DEFAULTS, "user_features": ["id", "gender"]}
main = common.main_for("cddae_exp3", arms)

if __name__ == "__main__":
    cli.run(main, DEFAULTS)
