"""Table 4 of DAE-PTR: ML10M core-5, every registered model, mean ± std over seeds.

    python -m experiments.table4 [--data_dir=…] [--output_dir=results] [--seeds=0,1,2,3,4]
                                 [--models=dae_ptr] [--quick | --smoke]

Writes `<output_dir>/table4.csv`, `table4.md` and one run folder per (model, seed) under
`<output_dir>/table4/` (TensorBoard: `tensorboard --logdir <output_dir>/table4`).
"""

from experiments import cli, tables

DEFAULTS = tables.DEFAULTS
main = tables.main_for("table4")

if __name__ == "__main__":
    cli.run(main, DEFAULTS)
