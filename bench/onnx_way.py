"""vaecheck on an ONNX model against the onnxruntime way, in the same run.

    python bench/onnx_way.py                                   # the sample model and data
    python bench/onnx_way.py model.onnx data.npy --repeat 9

A benchmark run by hand, never a test. Each command runs in a fresh process, once unmeasured
(page cache, bytecode), then --repeat times, taking turns; the median wall time, CPU time
(user + system, which other work on a shared machine does not inflate) and peak RSS are kept,
and the ratios are printed against the onnxruntime way measured in the same run:

  vaecheck      `vaecheck MODEL DATA --format json`: the ONNX graph read statically with the
                onnx package, the output's range, the data's statistics, checks and fix
  onnxruntime   what a user writes by hand: create an InferenceSession, run it on the data,
                take the output's min and max (the model must take the data as its input)

The two do not answer the same question: onnxruntime says what the model outputs on this
data, vaecheck what it can output on any input, and whether the data lies there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from machine import describe

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "sample_models" / "sigmoid_autoencoder.onnx"
DATA = REPO / "sample_models" / "standardized.npy"

ONNXRUNTIME_WAY = """
import sys
import numpy as np
import onnxruntime
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
data = np.load(sys.argv[2], allow_pickle=False).astype(np.float32)
[output] = session.run(None, {session.get_inputs()[0].name: data})[:1]
print(output.min(), output.max())
"""

# Runs a command and prints its peak RSS (ru_maxrss of the child, from wait4) on stderr.
LAUNCHER = """
import os, subprocess, sys, resource
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, file=sys.stderr)
sys.exit(0 if done.returncode in (0, 1) else done.returncode)
"""


def measure(command: list[str]) -> tuple[float, float, float]:
    import time

    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stderr.strip()}")
    cpu, peak = done.stderr.strip().splitlines()[-1].split()
    return wall, float(cpu), int(peak) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(MODEL))
    parser.add_argument("data", nargs="?", default=str(DATA))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    vaecheck = str(Path(sys.executable).with_name("vaecheck"))
    commands = {
        "vaecheck": [vaecheck, args.model, args.data, "--format", "json"],
        "onnxruntime": [sys.executable, "-c", ONNXRUNTIME_WAY, args.model, args.data],
    }
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for command in commands.values():
        measure(command)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            wall, cpu, peak = measure(command)
            times[name].append(wall)
            cpus[name].append(cpu)
            peaks[name].append(peak)
    print(describe())
    print(f"model {args.model}\ndata  {args.data}\n")
    base = statistics.median(times["onnxruntime"])
    base_cpu = statistics.median(cpus["onnxruntime"])
    print(
        f"{'':12s} {'wall (median)':>14s} {'spread':>8s} {'CPU':>9s} {'peak RSS':>10s} "
        f"{'wall / ort':>11s} {'CPU / ort':>10s}"
    )
    for name in commands:
        median = statistics.median(times[name])
        cpu = statistics.median(cpus[name])
        spread = (max(times[name]) - min(times[name])) / median
        print(
            f"{name:12s} {median:12.3f} s {spread:7.0%} {cpu:7.3f} s "
            f"{statistics.median(peaks[name]):7.0f} MB {median / base:10.2f}x {cpu / base_cpu:9.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
