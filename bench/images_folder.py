"""A folder of PNGs read by vaecheck against Pillow decoding the same files in one loop.

    python bench/images_folder.py                  # 10,000 PNGs of 28 x 28 grayscale
    python bench/images_folder.py --count 2000 --size 64 --repeat 5

A benchmark run by hand, never a test. It writes the images into a temporary folder, then
times in this process, alternating and keeping the median of --repeat runs:

  pillow loop   for each file: Image.open, convert to the mode, np.asarray, and min/max
  vaecheck      open_images (every header read first) + measure_source (every statistic)

and prints the ratio vaecheck / pillow loop (the target is at most 1.3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_images(folder: Path, count: int, size: int) -> list[str]:
    from PIL import Image

    generator = np.random.default_rng(0)
    paths = []
    for number in range(count):
        sub = folder / f"class{number % 10}"
        sub.mkdir(exist_ok=True)
        path = sub / f"{number}.png"
        Image.fromarray(generator.integers(0, 256, (size, size), dtype=np.uint8), mode="L").save(path)
        paths.append(str(path))
    return paths


def pillow_loop(paths: list[str]) -> float:
    from PIL import Image

    low, high = 255, 0
    for path in sorted(paths):
        with Image.open(path) as image:
            array = np.asarray(image.convert("L"))
        low, high = min(low, int(array.min())), max(high, int(array.max()))
    return high - low


def vaecheck_run(folder: str) -> float:
    from vaecheck.readers.images import open_images
    from vaecheck.stats import measure_source

    stats = measure_source(open_images(folder, color_mode="grayscale"))
    return float(stats.max - stats.min)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vaecheck-bench-") as folder:
        paths = write_images(Path(folder), options.count, options.size)
        timings: dict[str, list[float]] = {"pillow loop": [], "vaecheck": []}
        for _ in range(options.repeat):
            for name, run in (("pillow loop", lambda: pillow_loop(paths)), ("vaecheck", lambda: vaecheck_run(folder))):
                start = time.perf_counter()
                run()
                timings[name].append(time.perf_counter() - start)
    base = statistics.median(timings["pillow loop"])
    print(f"{options.count:,} PNGs of {options.size}x{options.size}, median of {options.repeat}, cpus {os.cpu_count()}")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"  {name:<12} {median:7.3f} s   {options.count / median:9,.0f} images/s   ratio {median / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
