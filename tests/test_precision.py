"""Mixed precision (`TrainConfig.precision`): every trained model built under the Keras policy
`mixed_bfloat16` computes in bfloat16 with float32 variables, and its objective and scores
are float32; float32 models compute what they computed before mixed precision existed."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from daeptr import models
from daeptr.data import pcore, splits, synthetic
from daeptr.models import DAEPTR, dtype_policy
from daeptr.pipeline import post_dataset

TAG_BATCH = {"user": tf.constant([0, 1, 2]), "item": tf.constant([1, 0, 3]),
             "tags": tf.constant([[0, 4, -1], [2, -1, -1], [-1, -1, -1]])}
TOPN_BATCH = {"user": tf.constant([0, 2]), "tags": tf.constant([[1, 3, -1], [-1, -1, -1]]),
              "profile": tf.constant([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]], tf.float32),
              "item_profile": tf.constant([[0.5, 0.5], [0, 0]], tf.float32)}
TAG_SIZES = dict(num_users=3, num_items=4, num_tags=6)
TOPN_SIZES = dict(num_users=3, num_items=6, profile_dim=5, item_profile_dim=2)
TRAINED = [  # every trained model of the registry, with arguments that use all its layers
    ("dae_ptr", {}), ("dae_ptr", {"encoder": "dense"}), ("pitf", {}), ("nltf", {}),
    ("abnt", {}), ("dae", {}), ("cdae", {"negatives": 1}),
    ("cddae", {"encoder_units": (7,), "decoder_units": (8,), "use_item_profile": True}),
]
# Where the work is: every product and NLTF's kernel. Softplus (Eq. 11, BPR's −ln σ) and Abs
# (CDDAE's mean absolute error) are the losses.
PRODUCTS = {"MatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum", "Exp"}
LOSSES = {"Softplus", "Abs"}


def _build(name, arguments, policy):
    topn = name in ("dae", "cdae", "cddae")
    sizes = TOPN_SIZES if topn else TAG_SIZES
    posts = splits.Posts(np.array([0, 1], np.int32), np.array([0, 0], np.int32),
                         np.array([0, 1, 2]), np.array([0, 1], np.int32))
    keras.utils.set_random_seed(0)
    with dtype_policy(policy):
        model = models.build(name, posts, **sizes, latent_dim=4, seed=0, **arguments)
    return model, (TOPN_BATCH if topn else TAG_BATCH)


def _ops(fn, *args):
    """The operations of `fn` traced as a graph, by type: {type: [output dtypes]}."""
    graph = tf.function(fn).get_concrete_function(*args).graph
    out = {}
    for op in graph.get_operations():
        out.setdefault(op.type, []).extend(t.dtype for t in op.outputs)
    return out


@pytest.mark.parametrize("name, arguments", TRAINED)
def test_mixed_bfloat16_computes_in_bfloat16_with_float32_variables_objective_and_scores(
        name, arguments):
    model, batch = _build(name, arguments, "mixed_bfloat16")
    for layer in model._flatten_layers():
        assert (layer.compute_dtype, layer.variable_dtype) == ("bfloat16", "float32"), layer.name
    assert {v.dtype for v in model.weights if v.dtype != "int32"} == {"float32"}

    # Training: the products of the step (raw TF ops on the model's own variables included,
    # e.g. DAE-PTR's gather of W's rows and its einsum) run in bfloat16, the loss in float32.
    ops = _ops(lambda b: model.objective_terms(b, training=True), batch)
    products = [d for t in PRODUCTS for d in ops.get(t, [])]
    assert products and set(products) == {tf.bfloat16}, {t: ops.get(t) for t in PRODUCTS}
    losses = [d for t in LOSSES for d in ops.get(t, [])]
    assert losses and set(losses) == {tf.float32}
    loss, regularization = model.objective_terms(batch, training=False)
    assert (loss.dtype, regularization.dtype) == (tf.float32, tf.float32)
    # Eq. 12 (and BPR's penalty) read the float32 variables: exactly a float32 model's value.
    twin, _ = _build(name, arguments, "float32")
    twin.set_weights(model.get_weights())
    assert regularization.numpy() == twin.objective_terms(batch, training=False)[1].numpy()

    # Ranking: bfloat16 products, float32 scores.
    ops = _ops(model.score, batch)
    assert {d for t in PRODUCTS for d in ops.get(t, [])} == {tf.bfloat16}
    assert model(batch).dtype == tf.bfloat16 and model.score(batch).dtype == tf.float32


def test_count_based_floors_stay_float32_under_a_mixed_policy():
    split = splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=2), 2)[0],
                                      seed=0)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    batch = next(iter(post_dataset(split.eval_posts("test"), 64)))
    scores = {}
    for policy in ("float32", "mixed_bfloat16"):
        with dtype_policy(policy):
            model = models.build("mp_ui", split.train_posts("test"), **sizes)
        assert model.compute_dtype == "float32"
        scores[policy] = model.score(batch).numpy()
    np.testing.assert_array_equal(scores["mixed_bfloat16"], scores["float32"])


def test_the_policy_scope_restores_the_global_policy():
    with dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        with pytest.raises(RuntimeError):
            with dtype_policy("float32"):
                raise RuntimeError
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"


# A float32 DAE-PTR on fixed weights, before and after three Adam steps, as the code computed
# it before mixed precision existed (printed by that code; no corruption, so no noise).
FIXED_LOGITS = [
    [-0.9050878882408142, 0.8360711932182312, -0.11582458019256592, 0.8118410110473633,
     -0.11876273155212402, 0.7507071495056152],
    [-0.7968499064445496, 0.43566715717315674, -0.05248981714248657, 0.9511431455612183,
     0.31891030073165894, 0.07671339809894562],
    [-0.7718284130096436, 0.6402673125267029, -0.052231669425964355, 1.0440545082092285,
     0.15112188458442688, 0.4458523988723755]]
FIXED_OBJECTIVE = [16.219257354736328, 0.1415119171142578, 16.360769271850586]
FIXED_FIT = [13.172701835632324, 0.13188423216342926]  # mean loss, regularization of 3 steps
FIXED_AFTER = [
    [-0.24596118927001953, -0.6369345188140869, -1.1357218027114868, -1.0367457866668701,
     -0.8343285918235779, -1.476335883140564],
    [-0.5768799781799316, -0.6221081018447876, -0.8941143751144409, -1.1340787410736084,
     -0.7929672002792358, -1.30291748046875],
    [-0.3719831109046936, -0.5561162233352661, -1.040610432624817, -0.6899124979972839,
     -0.736112117767334, -0.8753600120544434]]


def test_float32_dae_ptr_computes_what_it_computed_before_mixed_precision():
    model = DAEPTR(3, 4, 6, latent_dim=5, corruption=0.0, l2=0.01, seed=1)
    rng = np.random.default_rng(16)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    close = dict(rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.score(TAG_BATCH).numpy(), FIXED_LOGITS, **close)
    np.testing.assert_allclose([t.numpy() for t in model._objective(TAG_BATCH, training=False)],
                               FIXED_OBJECTIVE, **close)
    model.compile(keras.optimizers.Adam(0.1), jit_compile=False)
    history = model.fit(tf.data.Dataset.from_tensors(TAG_BATCH).repeat(3), epochs=1,
                        verbose=0, shuffle=False).history
    np.testing.assert_allclose([history["loss"][0], history["regularization_loss"][0]],
                               FIXED_FIT, **close)
    np.testing.assert_allclose(model.score(TAG_BATCH).numpy(), FIXED_AFTER, **close)


@pytest.mark.parametrize("name, arguments", [("dae_ptr", {"corruption": 0.5}), ("pitf", {})])
def test_mixed_training_on_planted_data_stays_close_to_float32(name, arguments):
    split = splits.leave_last_tag_out(pcore.p_core(synthetic.planted_folksonomy(seed=3), 2)[0],
                                      seed=0)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    batch = next(iter(post_dataset(split.eval_posts("test"), 256)))
    losses, scores = {}, {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.utils.set_random_seed(0)  # the same initial weights: variables are float32
        with dtype_policy(policy):
            model = models.build(name, split.train_posts("test"), **sizes, latent_dim=16,
                                 seed=0, **arguments)
        model.compile(keras.optimizers.Adam(0.01), jit_compile=False)
        losses[policy] = model.fit(post_dataset(split.train_posts("test"), 64, shuffle=True,
                                                seed=0), epochs=2, verbose=0,
                                   shuffle=False).history["loss"]
        scores[policy] = model.score(batch).numpy()
    assert np.isfinite(losses["mixed_bfloat16"]).all()
    assert np.isfinite(scores["mixed_bfloat16"]).all()
    np.testing.assert_allclose(losses["mixed_bfloat16"], losses["float32"], rtol=1e-2)
    # bfloat16 keeps 8 significant bits: the scores differ by about 1% of their range
    scale = np.abs(scores["float32"]).max()
    np.testing.assert_allclose(scores["mixed_bfloat16"], scores["float32"], atol=0.05 * scale)
    assert np.corrcoef(scores["mixed_bfloat16"].ravel(), scores["float32"].ravel())[0, 1] > 0.999


@pytest.mark.parametrize("name, arguments", TRAINED)
def test_a_mixed_model_is_ranked_by_a_float32_copy_of_its_weights(name, arguments):
    from daeptr.models.base import float32_scorer

    model, batch = _build(name, arguments, "mixed_bfloat16")
    twin, _ = _build(name, arguments, "float32")
    twin.set_weights([w * 1.5 for w in model.get_weights()])  # other weights than the model's
    scorer = float32_scorer(model)
    assert scorer is not model and scorer.compute_dtype == "float32"
    assert all(layer.compute_dtype == "float32" for layer in scorer._flatten_layers())
    twin.set_weights(model.get_weights())
    np.testing.assert_array_equal(scorer.score(batch).numpy(), twin.score(batch).numpy())
    # trained further, the model's new weights reach the same copy at the next evaluation
    model.set_weights([w + 0.25 for w in model.get_weights()])
    twin.set_weights(model.get_weights())
    assert float32_scorer(model) is scorer
    np.testing.assert_array_equal(scorer.score(batch).numpy(), twin.score(batch).numpy())
    float32_model, _ = _build(name, arguments, "float32")
    assert float32_scorer(float32_model) is float32_model


def test_float32_ranking_of_a_mixed_dae_ptr_has_the_ties_of_float32_not_of_bfloat16():
    """bfloat16 scores tie tags that float32 scores keep apart; ties count against the
    target, so a mixed model must be ranked in float32."""
    from daeptr.evaluate import rank_targets
    from daeptr.models.base import float32_scorer

    core, _ = pcore.p_core(synthetic.smoke_tags(), 2)
    split = splits.leave_last_tag_out(core, seed=0)
    sizes = dict(num_users=split.num_users, num_items=split.num_items, num_tags=split.num_tags)
    keras.utils.set_random_seed(0)
    with dtype_policy("mixed_bfloat16"):
        model = DAEPTR(**sizes, latent_dim=16, seed=0)
    posts = split.eval_posts("test")
    batch = next(iter(post_dataset(posts, len(posts))))
    own = model.score(batch).numpy()
    ranked = float32_scorer(model).score(batch).numpy()

    def ties(scores):
        return np.mean([len(row) - len(np.unique(row)) for row in scores])

    assert ties(ranked) < ties(own) and ties(ranked) <= 1
    np.testing.assert_allclose(ranked, own, atol=0.1)
    ranks = rank_targets(model, posts)
    expected = rank_targets(float32_scorer(model), posts)
    np.testing.assert_array_equal(ranks, expected)


def test_xla_around_the_matmuls_is_chosen_for_dae_ptr_in_bfloat16_on_a_cpu_and_pairwise_models():
    from daeptr.models.base import xla_around_matmuls

    for precision in ("float32", "mixed_bfloat16"):  # their positives' count follows the batch
        pitf, _ = _build("pitf", {}, precision)
        assert xla_around_matmuls(pitf, True) and not xla_around_matmuls(pitf, False)
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("on a GPU DAE-PTR's whole step is one XLA program")
    mixed, _ = _build("dae_ptr", {}, "mixed_bfloat16")
    plain, _ = _build("dae_ptr", {}, "float32")
    assert xla_around_matmuls(mixed, True)
    assert not xla_around_matmuls(mixed, False) and not xla_around_matmuls(mixed, "auto")
    assert not xla_around_matmuls(plain, True)


def _fixed_dae_ptr(policy):
    keras.utils.set_random_seed(0)
    with dtype_policy(policy):
        model = DAEPTR(3, 4, 6, latent_dim=5, corruption=0.5, l2=0.01, seed=1)
    rng = np.random.default_rng(16)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_xla_around_the_matmuls_trains_what_one_xla_program_trains():
    """The same Eq. 11 + Eq. 12 step, the penalty's gradient added in the compiled update
    instead of on the tape: in float32 both ways agree to rounding, corruption noise
    included."""
    histories, weights = {}, {}
    for way in ("whole_step", "around_matmuls"):
        model = _fixed_dae_ptr("float32")
        if way == "around_matmuls":
            model.compile_around_matmuls(keras.optimizers.Adam(0.1))
        else:
            model.compile(keras.optimizers.Adam(0.1), jit_compile=True)
        histories[way] = model.fit(tf.data.Dataset.from_tensors(TAG_BATCH).repeat(4), epochs=2,
                                   verbose=0, shuffle=False).history
        weights[way] = model.get_weights()
    for key in ("loss", "regularization_loss", "total_loss"):
        np.testing.assert_allclose(histories["around_matmuls"][key], histories["whole_step"][key],
                                   rtol=1e-5)
    for a, b in zip(weights["around_matmuls"], weights["whole_step"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_around_the_matmuls_the_decoder_runs_outside_xla_and_the_rest_inside():
    model = _fixed_dae_ptr("mixed_bfloat16")
    model.compile_around_matmuls(keras.optimizers.Adam(0.1))
    model.fit(tf.data.Dataset.from_tensors(TAG_BATCH), epochs=1, verbose=0, shuffle=False)
    step = tf.function(model.train_step).get_concrete_function(TAG_BATCH).graph
    calls = [op for op in step.get_operations()
             if op.type in ("StatefulPartitionedCall", "PartitionedCall")]
    matmuls = [op for op in step.get_operations() if op.type == "MatMul"]
    # W′·z forward and its two gradient products, in bfloat16, in the plain graph
    assert len(matmuls) == 3 and {op.outputs[0].dtype for op in matmuls} == {tf.bfloat16}
    # Eq. 7–9 (`hidden`) and Eq. 11 (`objective`), forward and backward, and the update:
    # every other part of the step is an XLA program
    assert all(c.get_attr("_XlaMustCompile") for c in calls)
    names = " ".join(c.get_attr("f").name for c in calls)
    for part in ("forward_hidden", "backward_hidden", "forward_objective",
                 "backward_objective", "regularized_update"):
        assert part in names, names
