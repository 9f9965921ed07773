"""Figure 4 of DAE-PTR (§5.6): Hit@3 and NDCG@3 against the latent dimension K.

    python -m experiments.fig4 [--datasets=…] [--seeds=0] [--retune=corruption:0.1,0.3,…]

K ∈ {32, 64, 128, 256, 512, 1024}; at each K the corruption level c is re-chosen on the
validation split (§5.6: "the corruption level is tuned for each K") among --retune's values,
then the model is retrained and tested once. λ = 0.01, trained with each data set's
validated settings (`experiments.presets`). A preset of `experiments.sweep`; writes
`<output_dir>/sweeps/fig4.{csv,md,png}`.
"""

from experiments import cli, presets, sweep

DEFAULTS = {**presets.DEFAULTS, "name": "fig4", "param": "latent_dim",
            "values": ["32", "64", "128", "256", "512", "1024"],
            "retune": "corruption:0.1,0.3,0.5,0.7,0.9",
            "claims": "quality rises with K and then levels off (§5.6, Figure 4)."}
PRESET = presets.PRESET


def main(argv):
    sweep.main(argv, PRESET)


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
