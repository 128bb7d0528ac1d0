"""The live path against the naive look at output ranges, in one process.

    python bench/live.py                  # the sample VAE, 1 MiB of data, 20 repeats
    python bench/live.py --repeat 50 --mib 4

A benchmark run by hand, never a test. It loads sample_models/relu_vae.keras with Keras (its
Sampling layer imported from sample_models/build.py), makes float32 standardized data of 16
features (1 MiB by default), then times in the same process, taking turns:

  live     vaecheck.check(model, x): the live model serialized, its graph and ranges, the
           statistics of x, the findings and the fix
  predict  model.predict(x, verbose=0): what a user runs to look at the outputs' range
           (before looking at a single number)

Each runs once unmeasured (Keras builds its predict function, vaecheck imports its modules),
then --repeat times; the median is kept, with the spread (max - min) / median. The ratio
live / predict is printed beside the target (below 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
FEATURES = 16
TARGET_RATIO = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--mib", type=float, default=1.0, help="MiB of float32 data")
    options = parser.parse_args()

    import numpy as np

    sys.path.insert(0, str(REPO / "sample_models"))
    sys.path.insert(0, str(REPO))
    import build  # noqa: F401  registers the sample VAE's Sampling layer
    import keras

    import vaecheck

    model = keras.saving.load_model(REPO / "sample_models" / "relu_vae.keras")
    rows = int(options.mib * 2**20) // (FEATURES * 4)
    x = np.random.default_rng(0).standard_normal((rows, FEATURES), dtype=np.float32)

    def live() -> None:
        vaecheck.check(model, x)

    def predict() -> None:
        model.predict(x, verbose=0)

    timings: dict[str, list[float]] = {"live": [], "predict": []}
    for name, run in (("live", live), ("predict", predict)):
        run()  # unmeasured: first calls build functions and import modules
    for _ in range(options.repeat):
        for name, run in (("live", live), ("predict", predict)):
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)

    print(
        f"keras {keras.__version__} ({keras.backend.backend()}), {rows:,} x {FEATURES} float32 "
        f"({x.nbytes / 2**20:.2f} MiB), {options.repeat} repeats, medians"
    )
    medians = {}
    for name, values in timings.items():
        median = statistics.median(values)
        medians[name] = median
        spread = (max(values) - min(values)) / median
        print(f"  {name:<8} {median * 1000:8.1f} ms   spread {spread:.0%}")
    ratio = medians["live"] / medians["predict"]
    verdict = "met" if ratio < TARGET_RATIO else "NOT met"
    print(f"  live / predict = {ratio:.2f}   (target < {TARGET_RATIO:g}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
