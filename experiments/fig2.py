"""Figure 2 of DAE-PTR (§5.5): Hit@3 and NDCG@3 against the corruption level c.

    python -m experiments.fig2 [--datasets=lastfm-core5,…] [--seeds=0] [--values=0,0.5,1]

c from 0.0 to 1.0 in steps of 0.1 on all four data sets; K = 512 on Last.fm and 256 on ML10M
and λ = 0.01 as in §5.5, trained with each data set's validated settings
(`experiments.presets`). A preset of `experiments.sweep`; writes
`<output_dir>/sweeps/fig2.{csv,md,png}`.
"""

from experiments import cli, presets, sweep

DEFAULTS = {**presets.DEFAULTS, "name": "fig2", "param": "corruption",
            "values": presets.CORRUPTION_LEVELS,
            "claims": "best c = 0.8 on Last.fm and 0.9 on ML10M (K = 512 / 256); quality rises "
                      "with c up to there and collapses at c = 1 (§5.5, Figure 2)."}
PRESET = presets.PRESET


def main(argv):
    sweep.main(argv, PRESET)


if __name__ == "__main__":
    cli.run(main, DEFAULTS)
