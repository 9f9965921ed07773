"""daeptr: denoising auto-encoder recommenders (DAE-PTR, CDDAE) in TensorFlow 2 / Keras 3."""

__version__ = "0.1.0"
