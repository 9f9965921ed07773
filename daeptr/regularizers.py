"""Weight decay of DAE-PTR, Eq. 12: R = λ/2 · Σ ‖θ‖²_F.

Keras' built-in ``L2(l2)`` computes ``l2 · Σ θ²`` (no ½), so using it with the
paper's λ would double the penalty. ``HalfL2(λ)`` is the literal Eq. 12 term
for one parameter tensor; attach it to every tensor the paper regularises
(W, W', b, b', P, Q) and Keras sums the terms.
"""

import math

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="daeptr")
class HalfL2(keras.regularizers.Regularizer):
    """``0.5 * l2 * sum(x**2)`` — Eq. 12 with λ = ``l2``.

    Args:
        l2: the paper's regularisation coefficient λ (default 0.01, as in the
            paper's experimental settings). Must be finite and >= 0.
    """

    def __init__(self, l2=0.01):
        l2 = float(l2)
        if not math.isfinite(l2) or l2 < 0.0:
            raise ValueError(f"HalfL2: `l2` must be a finite number >= 0, got l2={l2!r}")
        self.l2 = l2

    def __call__(self, x):
        # tf.nn.l2_loss is ½‖x‖² in one pass (a square and a sum would be two); in float32
        # it computes bit for bit what 0.5·λ·Σx² computed.
        return self.l2 * tf.nn.l2_loss(x)

    def get_config(self):
        return {"l2": self.l2}
