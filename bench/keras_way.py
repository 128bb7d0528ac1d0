"""The Keras way: what a user writes by hand to see whether a model can reach its data.

    python bench/keras_way.py model.keras data.npy

Loads the model with keras.models.load_model (safe mode, the default), loads the data, takes its
min and max, and prints them beside the output layer's activation. The sample VAE has a custom
Sampling layer that load_model cannot build without its class: the class is imported from
sample_models/build.py, as a user imports it from their own code.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sample_models"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from build import Sampling  # noqa: E402, F401  (registers the custom layer with Keras)

model_path, data_path = sys.argv[1], sys.argv[2]
model = keras.models.load_model(model_path)
data = np.load(data_path)
last = model.layers[-1]
while hasattr(last, "layers") and last.layers:  # a nested decoder ends the VAE
    last = last.layers[-1]
activation = getattr(getattr(last, "activation", None), "__name__", None)
print(model.name, last.name, activation, data.min(), data.max())
