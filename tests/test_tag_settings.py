"""Where a table driver's settings come from: starting points, tuned choices, flags."""

import json

from absl import flags
from absl.testing import flagsaver

from experiments import tag_tables


def _settings(argv, name, label):
    # Each flag parsed on its own: parsing a whole command line would also run the
    # validators of every other driver module a test session has imported.
    with flagsaver.flagsaver():
        flags.FLAGS.unparse_flags()
        flags.FLAGS.mark_as_parsed()
        for arg in argv:
            flag, _, value = arg.removeprefix("--").partition("=")
            flags.FLAGS[flag].parse(value)
        return tag_tables.settings(name, label)


def test_ml10m_starting_point_gives_dae_ptr_its_validated_rate_and_patience(tmp_path):
    hparams, train, sources = _settings([f"--output_dir={tmp_path}"], "dae_ptr", "ml10m-core10")
    assert (train["learning_rate"], train["patience"], hparams["latent_dim"]) == (0.01, 20, 256)
    assert sources["patience"] == "default"
    assert hparams.get("output_bias", "zeros") == "zeros"
    lastfm, train, _ = _settings([f"--output_dir={tmp_path}"], "dae_ptr", "lastfm-core5")
    assert (train["learning_rate"], train["patience"]) == (0.003, 4)
    assert lastfm["output_bias"] == "log_odds"  # validation's choice on Last.fm (BUILD_NOTES.md)
    paper, _, sources = _settings([f"--output_dir={tmp_path}", "--hparam=dae_ptr.output_bias=zeros"],
                                  "dae_ptr", "lastfm-core5")
    assert (paper["output_bias"], sources["output_bias"]) == ("zeros", "flag")
    _, train, _ = _settings([f"--output_dir={tmp_path}"], "pitf", "ml10m-core5")
    assert (train["learning_rate"], train["patience"]) == (0.01, 20)


def test_training_lengths_on_the_command_line_beat_the_starting_point(tmp_path):
    _, train, sources = _settings([f"--output_dir={tmp_path}", "--patience=7", "--epochs=9"],
                                  "dae_ptr", "ml10m-core5")
    assert (train["patience"], train["epochs"], sources["patience"]) == (7, 9, "flag")


def test_tuned_from_fills_in_what_the_data_set_did_not_choose_itself(tmp_path):
    for label, choice in (("lastfm-core5", {"alpha": 0.3, "learning_rate": 0.02}),
                          ("ml10m-core10", {"alpha": 0.7})):
        path = tmp_path / "tune" / label / "mp_ui" / "chosen.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(choice))
    argv = [f"--output_dir={tmp_path}", "--tuned_from=lastfm-core5"]
    own, own_train, own_sources = _settings(argv, "mp_ui", "ml10m-core10")
    assert (own_train["learning_rate"], own_sources["learning_rate"]) == (0.02, "tuned on lastfm-core5")
    borrowed, _, sources = _settings(argv, "mp_ui", "lastfm-core10")
    assert (own["alpha"], own_sources["alpha"]) == (0.7, "tuned")
    assert (borrowed["alpha"], sources["alpha"]) == (0.3, "tuned on lastfm-core5")
    plain, _, plain_sources = _settings([f"--output_dir={tmp_path}"], "mp_ui", "lastfm-core10")
    assert "alpha" not in plain_sources


def test_a_run_stored_before_a_training_setting_existed_counts_as_run_with_its_default():
    stored = {"model": "dae_ptr", "epochs": 300}  # written before TrainConfig had min_epochs
    assert tag_tables.same_settings(stored, {"model": "dae_ptr", "epochs": 300, "min_epochs": 0})
    assert not tag_tables.same_settings(stored, {"model": "dae_ptr", "epochs": 300, "min_epochs": 400})
    assert not tag_tables.same_settings(stored, {"model": "pitf", "epochs": 300, "min_epochs": 0})


def test_min_epochs_flag_reaches_the_training_settings(tmp_path):
    _, train, sources = _settings([f"--output_dir={tmp_path}", "--min_epochs=50"], "dae_ptr",
                                  "lastfm-core5")
    assert (train["min_epochs"], sources["min_epochs"]) == (50, "flag")
