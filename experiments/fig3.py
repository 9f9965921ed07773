"""Figure 3 of DAE-PTR (§5.5): the corruption sweep of Figure 2 with K = 16.

    python -m experiments.fig3 [--datasets=…] [--seeds=0] [--values=…]

A preset of `experiments.sweep`; writes `<output_dir>/sweeps/fig3.{csv,md,png}`.
"""

from experiments import cli, presets, sweep

DEFAULTS = {**presets.DEFAULTS, "name": "fig3", "param": "corruption",
            "values": presets.CORRUPTION_LEVELS,
            "claims": "with small K the best corruption is lower: c ≈ 0.3 on Last.fm core-5 at "
                      "K = 16 (§5.5, Figure 3)."}
PRESET = {**presets.PRESET, "*": {**presets.PRESET["*"], "latent_dim": 16}}


def main(argv):
    sweep.main(argv, PRESET)


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
