"""The floor: the least any check of MODEL against DATA must do, written as a user would.

    python bench/floor.py model.keras data.npy

Reads the model's config.json from its zip, loads the whole array, takes its min and max.
Its whole-process time and memory are what bench/run.py compares `vaecheck` with.
"""

import json
import sys
import zipfile

import numpy as np

model_path, data_path = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(model_path) as archive:
    config = json.loads(archive.read("config.json"))
data = np.load(data_path)
print(config["class_name"], data.shape, data.min(), data.max())
