"""Where a run's settings come from: starting points, tuned choices, presets, the run mode
and the command line (`experiments.settings.resolve`), and the specs of the flags."""

import pathlib

import pytest

from daeptr import models
from experiments import settings
from experiments.settings import Request, resolve


def _validated(entries: dict) -> dict:
    return {label: {model: {k: {"value": v, "source": "test"} for k, v in values.items()}
                    for model, values in models.items()} for label, models in entries.items()}


COMMITTED = Request(pathlib.Path("results"), validated=settings.read_validated())


def test_the_committed_file_gives_dae_ptr_its_validated_schedule_rate_and_patience():
    ml10m = resolve("dae_ptr", "ml10m-core10", COMMITTED)
    assert (ml10m.train["learning_rate"], ml10m.train["patience"], ml10m.hparams["latent_dim"],
            ml10m.hparams["l2"]) == (0.003, 20, 256, 0.03)
    assert ml10m.sources["patience"] == "tuned" and ml10m.hparams["output_bias"] == "log_odds"
    assert ml10m.train["schedule"] == "constant"  # the cosine search lost on this data set
    core10 = resolve("pitf", "lastfm-core10", COMMITTED)  # searched under --tuned_from
    assert (core10.train["learning_rate"], core10.train["patience"]) == (0.001, 10)
    assert core10.sources["learning_rate"] == "tuned"
    assert (core10.hparams["l2"], core10.hparams["latent_dim"]) == (0.001, 256)  # searched after
    assert core10.sources["l2"] == core10.sources["latent_dim"] == "tuned"
    # What --fill_from committed says where it came from.
    stacked = resolve("stacked_dae_ptr", "ml10m-core5", COMMITTED)
    assert stacked.sources["hidden_activation"] == "not searched: taken from lastfm-core5"
    assert resolve("abnt", "ml10m-core5", COMMITTED).sources["patience"] == (
        "not searched: taken from pitf on ml10m-core10")
    lastfm = resolve("dae_ptr", "lastfm-core5", COMMITTED)
    assert (lastfm.train["learning_rate"], lastfm.train["schedule"], lastfm.train["epochs"],
            lastfm.train["patience"]) == (0.01, "cosine", 26, 4)
    assert lastfm.hparams["output_bias"] == "log_odds"  # validation's choice on Last.fm
    assert resolve("pitf", "ml10m-core5", COMMITTED).train["patience"] == 20
    assert resolve("cddae", "ml100k", COMMITTED).train["monitor"] == "val_ru@10"
    pitf = resolve("pitf", "lastfm-core5", COMMITTED)
    assert (pitf.hparams["latent_dim"], pitf.hparams["l2"], pitf.train["learning_rate"]) == (128, 0.001, 0.001)
    paper = resolve("pitf", "lastfm-core5", Request(pathlib.Path("results"), tuned=False))
    assert (paper.hparams["latent_dim"], paper.hparams["l2"], paper.train["learning_rate"]) == (64, 0.01, 0.01)


def test_every_committed_value_names_where_it_came_from_and_fits_its_model():
    from experiments import cli

    for label, by_model in settings.read_validated().items():
        for model, values in by_model.items():
            for name, entry in values.items():
                assert set(entry) == {"value", "source"} and entry["source"], (label, model, name)
            chosen = {k: v["value"] for k, v in values.items()}
            hparams = {k: v for k, v in chosen.items() if k in models.hyperparameters(model)}
            cli.check_model(model, label, hparams, f"{label} {model}")
            assert set(chosen) - set(hparams) <= set(settings.TRAIN_FIELDS)


def test_each_later_source_wins_and_is_named(tmp_path):
    chosen = _validated({"lastfm-core5": {"dae_ptr": {"corruption": 0.5, "learning_rate": 0.02,
                                                      "l2": 0.1}}})
    request = Request(tmp_path, validated=chosen, common={"l2": 0.3}, train={"patience": 7},
                      preset={"*": {"learning_rate": 0.001, "epochs": 1000}},
                      per_model={"dae_ptr": {"corruption": 0.6}, "pitf": {"corruption": 0.1}})
    s = resolve("dae_ptr", "lastfm-core5", request)
    assert (s.hparams["corruption"], s.sources["corruption"]) == (0.6, "flag")
    assert (s.hparams["l2"], s.sources["l2"]) == (0.3, "flag")
    assert (s.train["learning_rate"], s.sources["learning_rate"]) == (0.001, "preset")
    assert (s.train["patience"], s.train["epochs"]) == (7, 1000)
    assert s.hparams["latent_dim"] == 512 and s.sources["latent_dim"] == "default"
    untuned = resolve("dae_ptr", "lastfm-core5", Request(tmp_path, validated=chosen, tuned=False))
    assert untuned.hparams["corruption"] == 0.8


def test_quick_and_smoke_are_small_but_the_command_line_still_wins(tmp_path):
    preset = {"*": {"epochs": 1000, "patience": 30}}
    smoke = resolve("dae_ptr", "lastfm-core5", Request(tmp_path, mode="smoke", preset=preset))
    assert (smoke.hparams["latent_dim"], smoke.train["epochs"], smoke.train["patience"]) == (16, 2, 1)
    assert smoke.train["jit_compile"] is False and smoke.sources["latent_dim"] == "smoke"
    quick = resolve("dae_ptr", "lastfm-core5", Request(tmp_path, mode="quick", common={"latent_dim": 8}))
    assert quick.hparams["latent_dim"] == 8 and quick.train["jit_compile"] is True


def test_tuned_from_fills_in_what_the_data_set_did_not_choose_itself(tmp_path):
    chosen = _validated({"lastfm-core5": {"mp_ui": {"alpha": 0.3, "learning_rate": 0.02}},
                         "ml10m-core10": {"mp_ui": {"alpha": 0.7}}})
    request = Request(tmp_path, tuned_from="lastfm-core5", validated=chosen)
    own = resolve("mp_ui", "ml10m-core10", request)
    assert (own.train["learning_rate"], own.sources["learning_rate"]) == (0.02, "tuned on lastfm-core5")
    assert (own.hparams["alpha"], own.sources["alpha"]) == (0.7, "tuned")
    borrowed = resolve("mp_ui", "lastfm-core10", request)
    assert (borrowed.hparams["alpha"], borrowed.sources["alpha"]) == (0.3, "tuned on lastfm-core5")
    assert "alpha" not in resolve("mp_ui", "lastfm-core10", Request(tmp_path, validated=chosen)).sources


def test_a_dae_ptr_variant_starts_from_dae_ptrs_settings_but_its_own_win(tmp_path):
    chosen = _validated({"lastfm-core5": {
        "dae_ptr": {"corruption": 1.0, "learning_rate": 0.01, "precision": "mixed_bfloat16"},
        "stacked_dae_ptr": {"corruption": 0.5}}})
    request = Request(tmp_path, validated=chosen, per_model={"dae_ptr": {"epochs": 26}})
    stacked = resolve("stacked_dae_ptr", "lastfm-core5", request)
    assert (stacked.hparams["corruption"], stacked.sources["corruption"]) == (0.5, "tuned")
    assert (stacked.train["learning_rate"], stacked.sources["learning_rate"]) == (0.01, "tuned, from dae_ptr")
    assert (stacked.train["epochs"], stacked.sources["epochs"]) == (26, "flag, from dae_ptr")
    assert stacked.hparams["latent_dim"] == 512  # DAE-PTR's starting point on Last.fm
    assert stacked.train["precision"] == "float32" and "precision" not in stacked.sources
    contractive = resolve("contractive_dae_ptr", "lastfm-core5", request)
    assert contractive.hparams["corruption"] == 1.0
    pitf = resolve("pitf", "lastfm-core5", request)  # not a variant: nothing inherited
    assert pitf.train["epochs"] != 26 and not any("from dae_ptr" in s for s in pitf.sources.values())


def test_specs_parse_to_the_types_of_the_settings():
    assert settings.parse_grid(["latent_dim:8,16", "corruption:0.5"], "dae_ptr") == {
        "latent_dim": [8, 16], "corruption": [0.5]}
    assert settings.parse_grid(["encoder_units:100,100+200"], "cddae") == {
        "encoder_units": [(100,), (100, 200)]}
    assert settings.parse_hparams(["pitf.num_negatives=20", "mp_ui.alpha=0.3"]) == {
        "pitf": {"num_negatives": 20}, "mp_ui": {"alpha": 0.3}}
    assert settings.parse_model_seeds(["abnt:0,2"]) == {"abnt": [0, 2]}
    assert settings.parse_grid(["schedule:constant,cosine", "warmup_epochs:0,2"], "pitf") == {
        "schedule": ["constant", "cosine"], "warmup_epochs": [0, 2]}
    assert settings.parse_hparams(["dae_ptr.precision=mixed_bfloat16"]) == {
        "dae_ptr": {"precision": "mixed_bfloat16"}}


def test_new_training_settings_reach_the_train_config(tmp_path):
    request = Request(tmp_path, train={"schedule": "cosine", "warmup_epochs": 1},
                      per_model={"pitf": {"precision": "mixed_bfloat16"}})
    config = resolve("pitf", "lastfm-core5", request).config(seed=0)
    assert (config.precision, config.schedule, config.warmup_epochs) == (
        "mixed_bfloat16", "cosine", 1)
    untouched = resolve("dae_ptr", "lastfm-core5", Request(tmp_path)).config(seed=0)
    assert (untouched.precision, untouched.schedule, untouched.warmup_epochs) == (
        "float32", "constant", 0)
    for bad in (["1", "1"], ["-1"], ["x"], []):
        with pytest.raises(ValueError, match="--seeds"):
            settings.parse_seeds(bad)
