"""Table 3 of DAE-PTR: Last.fm core-10, every registered model, mean ± std over seeds.

    python -m experiments.table3 [--data_dir=…] [--output_dir=results] [--seeds=0,1,2,3,4]
                                 [--models=dae_ptr] [--quick | --smoke]

Writes `<output_dir>/table3.csv`, `table3.md` and one run folder per (model, seed) under
`<output_dir>/table3/` (TensorBoard: `tensorboard --logdir <output_dir>/table3`).
"""

from experiments import cli, tables

DEFAULTS = tables.DEFAULTS
main = tables.main_for("table3")

if __name__ == "__main__":
    cli.run(main, DEFAULTS)
