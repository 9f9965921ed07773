"""Variational DAE-PTR: Mult-VAE (Liang et al., WWW 2018) over a post's tags with the user and
item embeddings in the encoder as in Eq. 9, the paper's third future-work item (§6):

    h = g(W·ỹ + p_u + q_i + b)                         Eq. 7–9 (width K = latent_dim)
    μ = W_μ·h + b_μ,  log σ² = W_σ·h + b_σ              the code's posterior q(z | ỹ, u, i)
    z = μ + σ ⊙ ε,  ε ~ N(0, I)  (training; z = μ to rank)
    ŷ = softmax(W′·g(V·z + c) + b′)                     the decoder mirrors the encoder
    ℓ_β = Σ_Ω [ −Σ_{t∈y} log ŷ_t + β_s · KL(q(z | ·) ‖ N(0, I)) ]  + Eq. 12 (λ/2 ‖θ‖²)
    KL = ½ Σ_k (σ_k² + μ_k² − 1 − log σ_k²)
    β_s = β · min(1, s / anneal_steps)                  KL annealing over the optimizer's steps s

Mult-VAE's likelihood is the multinomial; `likelihood="bernoulli"` takes Eq. 11's instead.
The corruption of Eq. 7 plays the part of Mult-VAE's input dropout.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from daeptr import rng
from daeptr.models.dae_ptr import DAEPTR


def gaussian_kl(mu, log_var):
    """Per-post KL(N(μ, σ²) ‖ N(0, I)) [B] of the code's posterior."""
    return 0.5 * tf.reduce_sum(tf.exp(log_var) + tf.square(mu) - 1.0 - log_var, axis=1)


@keras.saving.register_keras_serializable(package="daeptr")
class VariationalDAEPTR(DAEPTR):
    """Mult-VAE with DAE-PTR's personalized encoder.

    Args (besides DAE-PTR's):
      code_dim: the size of z.
      beta: β, the KL term's weight once annealed.
      anneal_steps: optimizer steps over which β_s rises linearly from 0 to β.
    """

    decoders = ("full",)
    reconstructs = ("all",)  # its likelihood term is over the whole tag vector

    def __init__(self, num_users: int, num_items: int, num_tags: int, code_dim: int = 128,
                 beta: float = 0.2, anneal_steps: int = 1000, hidden_activation: str = "tanh",
                 likelihood: str = "multinomial", **kwargs):
        if code_dim < 1:
            raise ValueError(f"code_dim must be >= 1, got {code_dim}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        if anneal_steps < 0:
            raise ValueError(f"anneal_steps must be >= 0, got {anneal_steps}")
        super().__init__(num_users, num_items, num_tags, hidden_activation=hidden_activation,
                         likelihood=likelihood, **kwargs)
        self.config.update({"code_dim": code_dim, "beta": beta, "anneal_steps": anneal_steps})
        latent_dim = self.config["latent_dim"]
        self.mean_layer = self.dense(code_dim, latent_dim, "W_mu")
        self.log_var_layer = self.dense(code_dim, latent_dim, "W_sigma")
        self.expand = self.dense(latent_dim, code_dim, "V", activation=hidden_activation)
        seed = self.config["seed"]
        self.noise_seed = keras.random.SeedGenerator(None if seed is None else seed + 2)

    def posterior(self, inputs, training=False):
        """(μ, log σ²) of q(z | ỹ, u, i), each [B, code_dim]."""
        h = self.xla(self.hidden)(inputs, training=training)  # Eq. 7–9
        return self.mean_layer(h), self.log_var_layer(h)

    def decode(self, z):
        return self.decoder(self.expand(z))  # logits W′·g(V·z + c) + b′

    def sample(self, mu, log_var):
        return mu + tf.exp(0.5 * log_var) * tf.cast(
            rng.normal(tf.shape(mu), self.noise_seed), mu.dtype)

    def call(self, inputs, training=False):
        mu, log_var = self.posterior(inputs, training=training)
        return self.decode(self.sample(mu, log_var) if training else mu)

    def kl_weight(self, training):
        """β_s: annealed over the optimizer's steps in training, β otherwise."""
        beta, steps = self.config["beta"], self.config["anneal_steps"]
        if not training or steps == 0 or getattr(self, "optimizer", None) is None:
            return tf.constant(beta, tf.float32)
        s = tf.cast(self.optimizer.iterations, tf.float32)
        return beta * tf.minimum(1.0, s / steps)

    def compute_objective(self, batch, training):
        mu, log_var = self.posterior(batch, training=training)
        z = self.sample(mu, log_var) if training else mu
        loss = self.xla(self.objective)(batch["tags"], self.decode(z))  # the likelihood term
        kl = gaussian_kl(tf.cast(mu, tf.float32), tf.cast(log_var, tf.float32))
        return loss + self.kl_weight(training) * self.reduce_posts(kl)
