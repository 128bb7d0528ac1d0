"""The custom objects a user would pass with `--custom-objects`: used to build the probe tests'
models, and passed to vaecheck for loading them. Nothing here is registered with Keras, so a
model using these classes does not load without this file."""

from __future__ import annotations

import keras
from keras import ops


class Sampling(keras.layers.Layer):
    """The VAE reparameterization trick: z = z_mean + exp(z_log_var / 2) * eps."""

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean))
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def doubled_tanh(x):
    """A custom activation with codomain (-2, 2), which static analysis cannot see into."""
    return 2.0 * ops.tanh(x)
