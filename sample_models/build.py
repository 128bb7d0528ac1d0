"""Build the sample models and data arrays used by the vaecheck demo and tests.

Run from anywhere:

    python sample_models/build.py

Everything is deterministic (fixed seeds, no training). The files are written
next to this script:

    relu_vae.keras, relu_vae.h5   VAE whose decoder ends in relu
    standardized.npy              per-column standardized data (has negatives)
    sigmoid_vae.keras             same VAE, decoder ends in sigmoid
    unit.npy                      data strictly inside (0, 1)
    tanh_generator.keras          small conv generator ending in tanh
    images_uint8.npy              uint8 images spanning 0..255
    sigmoid_autoencoder.onnx      a plain autoencoder ending in sigmoid, exported to ONNX by
                                  Keras (model.export(format="onnx"), tf2onnx underneath)
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

HERE = Path(__file__).resolve().parent

INPUT_DIM = 16
HIDDEN = 32
LATENT = 4
N_ROWS = 512

GEN_LATENT = 8
N_IMAGES = 256
IMAGE_SIDE = 16


@keras.saving.register_keras_serializable(package="vaecheck_samples")
class Sampling(layers.Layer):
    """Reparameterization trick: z = z_mean + exp(0.5 * z_log_var) * eps."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


def build_vae(output_activation: str) -> keras.Model:
    """Functional VAE named "vae" with nested "encoder" and "decoder" sub-models."""
    enc_in = keras.Input(shape=(INPUT_DIM,), name="enc_in")
    h = layers.Dense(HIDDEN, activation="relu", name="enc_hidden")(enc_in)
    z_mean = layers.Dense(LATENT, name="z_mean")(h)
    z_log_var = layers.Dense(LATENT, name="z_log_var")(h)
    encoder = keras.Model(enc_in, [z_mean, z_log_var], name="encoder")

    dec_in = keras.Input(shape=(LATENT,), name="dec_in")
    h = layers.Dense(HIDDEN, activation="relu", name="dec_hidden")(dec_in)
    dec_out = layers.Dense(INPUT_DIM, activation=output_activation, name="dec_out")(h)
    decoder = keras.Model(dec_in, dec_out, name="decoder")

    x = keras.Input(shape=(INPUT_DIM,), name="x")
    z_mean, z_log_var = encoder(x)
    z = Sampling(seed=0, name="z")([z_mean, z_log_var])
    out = decoder(z)
    return keras.Model(x, out, name="vae")


def build_generator() -> keras.Model:
    """Small DCGAN-style generator named "generator": (8,) -> (16, 16, 1), tanh output."""
    latent = keras.Input(shape=(GEN_LATENT,), name="latent")
    h = layers.Dense(4 * 4 * 8, activation="relu", name="project")(latent)
    h = layers.Reshape((4, 4, 8), name="reshape")(h)
    h = layers.Conv2DTranspose(
        8, 3, strides=2, padding="same", activation="relu", name="upsample"
    )(h)
    image = layers.Conv2DTranspose(
        1, 3, strides=2, padding="same", activation="tanh", name="image"
    )(h)
    return keras.Model(latent, image, name="generator")


def make_standardized(rng: np.random.Generator) -> np.ndarray:
    """Mixed distribution (two Gaussians plus a skewed component), then z-scored per column."""
    n, d = N_ROWS, INPUT_DIM
    pick = rng.random((n, d))
    a = rng.normal(-1.5, 0.6, size=(n, d))
    b = rng.normal(2.0, 1.2, size=(n, d))
    c = rng.gamma(2.0, 1.0, size=(n, d))
    raw = np.where(pick < 0.4, a, np.where(pick < 0.8, b, c))
    raw = raw * rng.uniform(0.5, 5.0, size=d) + rng.uniform(-10.0, 10.0, size=d)
    std = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    return std.astype(np.float32)


def make_unit(rng: np.random.Generator) -> np.ndarray:
    """Beta-distributed columns clipped to [0.001, 0.999]: strictly inside (0, 1)."""
    alpha = rng.uniform(0.8, 4.0, size=INPUT_DIM)
    beta = rng.uniform(0.8, 4.0, size=INPUT_DIM)
    values = rng.beta(alpha, beta, size=(N_ROWS, INPUT_DIM))
    return np.clip(values, 0.001, 0.999).astype(np.float32)


def make_images(rng: np.random.Generator) -> np.ndarray:
    """Smooth Gaussian blobs, each image min-max scaled to the full 0..255 range."""
    coords = np.arange(IMAGE_SIDE, dtype=np.float64)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    images = np.empty((N_IMAGES, IMAGE_SIDE, IMAGE_SIDE, 1), dtype=np.uint8)
    for i in range(N_IMAGES):
        canvas = np.zeros((IMAGE_SIDE, IMAGE_SIDE))
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0, IMAGE_SIDE - 1, size=2)
            sigma = rng.uniform(1.5, 4.0)
            weight = rng.uniform(0.5, 1.0)
            canvas += weight * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        canvas = (canvas - canvas.min()) / (canvas.max() - canvas.min())
        images[i, :, :, 0] = np.round(canvas * 255.0).astype(np.uint8)
    return images


def build_autoencoder() -> keras.Model:
    """A plain autoencoder (no sampling layer), for the ONNX sample."""
    inputs = keras.Input((INPUT_DIM,), name="x")
    h = layers.Dense(HIDDEN, activation="relu", name="enc")(inputs)
    z = layers.Dense(LATENT, name="code")(h)
    h = layers.Dense(HIDDEN, activation="relu", name="dec")(z)
    outputs = layers.Dense(INPUT_DIM, activation="sigmoid", name="dec_out")(h)
    return keras.Model(inputs, outputs, name="autoencoder")


def export_onnx(model: keras.Model, path: Path) -> None:
    """Keras's own ONNX export; it needs tf2onnx (in the test extra)."""
    model(np.zeros((1, INPUT_DIM), np.float32))
    model.export(str(path), format="onnx", verbose=False)


def main() -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    relu_vae = build_vae("relu")
    relu_vae.compile(optimizer="adam", loss="mse")
    relu_vae.save(HERE / "relu_vae.keras")
    relu_vae.save(HERE / "relu_vae.h5")
    np.save(HERE / "standardized.npy", make_standardized(rng))

    sigmoid_vae = build_vae("sigmoid")
    sigmoid_vae.compile(optimizer="adam", loss="binary_crossentropy")
    sigmoid_vae.save(HERE / "sigmoid_vae.keras")
    np.save(HERE / "unit.npy", make_unit(rng))

    generator = build_generator()
    generator.save(HERE / "tanh_generator.keras")
    np.save(HERE / "images_uint8.npy", make_images(rng))

    export_onnx(build_autoencoder(), HERE / "sigmoid_autoencoder.onnx")

    for name in sorted(p.name for p in HERE.iterdir() if p.suffix in {".keras", ".h5", ".npy", ".onnx"}):
        print(f"wrote {name} ({(HERE / name).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
