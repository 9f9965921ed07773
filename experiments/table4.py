"""Table 4 of DAE-PTR: ML10M core-5, every registered model, mean ± std over seeds.

    python -m experiments.table4 [--data_dir=…] [--output_dir=results] [--seeds=0,1,2,3,4]
                                 [--models=dae_ptr] [--quick]

Writes `<output_dir>/table4.csv`, `table4.md` and one run folder per (model, seed) under
`<output_dir>/table4/` (TensorBoard: `tensorboard --logdir <output_dir>/table4`).
"""


from experiments import flags as common, tag_tables


def main(argv):
    del argv
    print(tag_tables.run_table("table4"))


if __name__ == "__main__":
    common.run(main)
