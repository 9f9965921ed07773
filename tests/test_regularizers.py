import keras
import numpy as np
import pytest

from daeptr.regularizers import HalfL2


def test_equals_half_lambda_times_squared_frobenius_norm():
    w = np.random.default_rng(0).normal(size=(7, 5)).astype("float32")
    expected = 0.5 * 0.01 * np.sum(w.astype("float64") ** 2)  # Eq. 12
    np.testing.assert_allclose(float(HalfL2(0.01)(w)), expected, rtol=1e-6)


def test_default_lambda_is_paper_value():
    assert HalfL2().l2 == 0.01


def test_is_half_of_keras_l2():
    w = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(
        float(HalfL2(0.3)(w)), 0.5 * float(keras.regularizers.L2(0.3)(w)), rtol=1e-6
    )


def test_zero_lambda_gives_zero():
    assert float(HalfL2(0.0)(np.ones((3, 3), "float32"))) == 0.0


def test_dense_layer_losses_match_formula():
    layer = keras.layers.Dense(4, kernel_regularizer=HalfL2(0.1))
    layer.build((None, 6))
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
    assert len(layer.losses) == 1
    np.testing.assert_allclose(
        float(layer.losses[0]), 0.5 * 0.1 * np.sum(kernel**2), rtol=1e-6
    )


def test_config_round_trip():
    reg = HalfL2(0.25)
    assert reg.get_config() == {"l2": 0.25}
    again = HalfL2.from_config(reg.get_config())
    assert isinstance(again, HalfL2) and again.l2 == 0.25
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(reg))
    assert isinstance(revived, HalfL2) and revived.l2 == 0.25


@pytest.mark.parametrize("bad", [-0.01, float("nan"), float("inf")])
def test_bad_lambda_raises_naming_argument(bad):
    with pytest.raises(ValueError, match="l2"):
        HalfL2(bad)


def test_half_l2_is_bit_for_bit_half_lambda_times_the_sum_of_squares_and_its_gradient():
    """`HalfL2` is λ·tf.nn.l2_loss (one pass); in float32 it must compute exactly what
    0.5·λ·Σθ² computed, value and gradient λθ, with and without XLA, so that records made
    before stay reproducible."""
    import tensorflow as tf

    w = tf.Variable(np.random.default_rng(3).normal(0, 0.7, (513, 37)).astype(np.float32))
    reg = HalfL2(0.01)
    for jit in (False, True):
        @tf.function(jit_compile=jit)
        def both():
            with tf.GradientTape(persistent=True) as tape:
                ours, literal = reg(w), 0.5 * 0.01 * tf.reduce_sum(tf.square(w))
            return ours, literal, tape.gradient(ours, w), tape.gradient(literal, w)

        ours, literal, grad, literal_grad = both()
        assert ours.numpy() == literal.numpy(), jit
        np.testing.assert_array_equal(grad.numpy(), literal_grad.numpy())
        np.testing.assert_allclose(grad.numpy(), 0.01 * w.numpy(), rtol=1e-6)
