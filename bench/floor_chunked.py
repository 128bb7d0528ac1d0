"""The floor in flat memory: floor.py, but the data is read in blocks into one buffer.

    python bench/floor_chunked.py model.keras data.npy

np.load holds the whole array, so floor.py's memory grows with the file; this is the same work
in a few MB, as a user would write it for a file larger than memory. A C-ordered .npy only.
"""

import json
import sys
import zipfile

import numpy as np

BLOCK_BYTES = 4 * 2**20

model_path, data_path = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(model_path) as archive:
    config = json.loads(archive.read("config.json"))
with open(data_path, "rb", buffering=0) as stream:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    buffer = np.empty(BLOCK_BYTES // dtype.itemsize * dtype.itemsize, np.uint8)
    low, high = np.inf, -np.inf
    while got := stream.readinto(buffer):
        block = buffer[:got].view(dtype)
        low, high = min(low, block.min()), max(high, block.max())
print(config["class_name"], shape, low, high)
