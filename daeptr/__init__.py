"""daeptr: denoising auto-encoder recommenders (DAE-PTR, CDDAE) in TensorFlow 2 / Keras 3."""

__version__ = "0.1.0"


def load_model(path):
    """A model saved by a run (`<run folder>/model.keras`), ready to score.

    Importing `daeptr.models` registers the package's model classes with Keras, which
    `keras.saving.load_model` needs to rebuild them.
    """
    import keras

    from daeptr import models  # noqa: F401  (registers the classes)

    return keras.saving.load_model(path)
