"""CDDAE paper, Experiment 4: bottleneck width, then one extra encoder or decoder layer.

    python -m experiments.cddae_exp4 [--datasets=ml100k] [--seeds=0] [--quick | --smoke]

CDDAE with gender, sigmoid + binary cross-entropy: bottleneck width 10–400 at depth 1; then
width 50 with one extra encoder layer, or one extra decoder layer, of width 100, 200 or 400.
CDAE of Experiment 1 as the paper's baseline, and CDAE with
CDDAE's loss (sigmoid + binary cross-entropy) as the like-for-like one.
"""

from experiments import cddae_common as common, cli
from experiments.cddae_common import Arm


def arms():
    bce = {"output": "sigmoid_bce"}
    return [Arm("CDAE", "cdae"), Arm("CDAE-BCE", "cdae", {"output": "sigmoid_bce"}),
            Arm("CDDAE-width", "cddae", bce, [{"latent_dim": k} for k in (10, 25, 50, 100, 200, 400)]),
            Arm("CDDAE-encoder", "cddae", {**bce, "latent_dim": 50},
                [{"encoder_units": (w,)} for w in (100, 200, 400)]),
            Arm("CDDAE-decoder", "cddae", {**bce, "latent_dim": 50},
                [{"decoder_units": (w,)} for w in (100, 200, 400)])]


DEFAULTS = {**common.DEFAULTS, "user_features": ["id", "gender"]}
main = common.main_for("cddae_exp4", arms)

if __name__ == "__main__":
    cli.run(main, DEFAULTS)
