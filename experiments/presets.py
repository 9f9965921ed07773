"""The settings the figure presets of `experiments.sweep` share.

A preset is a driver module with `DEFAULTS` (the sweep's flags as the figure sets them: any
flag on the command line still wins, and `--helpfull` shows the figure's values) and
`PRESET` (model and training settings, passed to the run loop above the tuned choices and
below the command line).

Beyond the paper's settings every preset trains up to 1000 epochs with patience 30 and starts
DAE-PTR's b′ at the tags' log-odds (`--hparam=dae_ptr.output_bias=zeros` restores b′ = 0):
the paper trains "until the proposed model converges"; at its learning rate 0.001 and with b′
starting at 0, DAE-PTR first spends hundreds of epochs pushing every output down, its ranking
frozen at global popularity (BUILD_NOTES.md, "The popularity plateau"); b′ starting at the
tags' log-odds skips that phase. Convergence at 0.001 still takes hundreds of epochs.
"""

ALL_DATASETS = ["lastfm-core5", "lastfm-core10", "ml10m-core5", "ml10m-core10"]
CORRUPTION_LEVELS = [f"{c / 10:.1f}" for c in range(11)]
DEFAULTS = {"seeds": ["0"], "datasets": ALL_DATASETS, "tuned": False}
PRESET = {"*": {"epochs": 1000, "patience": 30, "learning_rate": 0.001, "l2": 0.01},
          "dae_ptr": {"output_bias": "log_odds"}}
