"""CDDAE paper, Experiment 2: output activation × loss, with the user's gender embedded.

    python -m experiments.cddae_exp2 [--datasets=ml100k] [--seeds=0] [--quick | --smoke]

CDDAE (user node and gender, `--user_features=id,gender`) with sigmoid + binary
cross-entropy, sigmoid + mean absolute error and softmax + categorical cross-entropy (Eq.
7–10), other settings as in Experiment 1; CDAE of Experiment 1 as the paper's baseline, and CDAE with
CDDAE's loss (sigmoid + binary cross-entropy) as the like-for-like one.
"""

from experiments import cddae_common as common, cli
from experiments.cddae_common import Arm


def arms():
    return [Arm("MP", "mp"), Arm("CDAE", "cdae"), Arm("CDAE-BCE", "cdae", {"output": "sigmoid_bce"}),
            Arm("CDDAE", "cddae", points=[{"output": o} for o in
                                          ("sigmoid_bce", "sigmoid_mae", "softmax_cce")])]


DEFAULTS = {**common.DEFAULTS, "user_features": ["id", "gender"]}
main = common.main_for("cddae_exp2", arms)

if __name__ == "__main__":
    cli.run(main, DEFAULTS)
