"""Table 2 of DAE-PTR: Last.fm core-5, every registered model, mean ± std over seeds.

    python -m experiments.table2 [--data_dir=…] [--output_dir=results] [--seeds=0,1,2,3,4]
                                 [--models=dae_ptr] [--quick | --smoke]

Writes `<output_dir>/table2.csv`, `table2.md` and one run folder per (model, seed) under
`<output_dir>/table2/` (TensorBoard: `tensorboard --logdir <output_dir>/table2`).
"""

from experiments import cli, tables

DEFAULTS = tables.DEFAULTS
main = tables.main_for("table2")

if __name__ == "__main__":
    cli.run(main, DEFAULTS)
