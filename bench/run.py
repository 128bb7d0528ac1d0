"""vaecheck against the alternatives: whole-process wall time and peak memory, in one run.

    python bench/run.py                      # 1 MiB, 100 MiB and 2 GiB; about 3 minutes
    python bench/run.py --sizes 1MiB,100MiB --no-keras
    python bench/run.py --json results.json

A benchmark run by hand, never a test. In a temporary folder it writes float32 .npy files of
standardized values (16 features, as the sample VAE takes; about half the values below 0) and
two pairs of deep models (5 and 500 Dense layers, Sequential and Functional, written as the
config.json a Keras 3 .keras zip holds), then times each of these in a fresh process:

  A  vaecheck text   `vaecheck MODEL DATA`, the installed console script, text report
  A  vaecheck json   the same with `--format json`
  B  floor           bench/floor.py: read config.json from the zip, np.load, min and max
  B2 floor chunked   bench/floor_chunked.py: the same, the data read in 4 MiB blocks
                     (flat memory, as vaecheck reads it); shown for the large files
  C  keras           bench/keras_way.py: keras.models.load_model (the sample VAE's custom
                     Sampling layer imported from sample_models/build.py), np.load, min, max

MODEL is sample_models/relu_vae.keras, whose output cannot reach the data (vaecheck exits 1
with one finding and its fix: the full report path). Each command runs once unmeasured (to
warm the page cache and write bytecode), then --repeat times (--repeat-large for files of
100 MiB and more), the commands taking turns so that a change in the machine's load falls on
all of them alike; the median is kept, and the spread (max - min) / median says how noisy the
machine was. Times are wall clock from start to exit of the process; CPU is user + system time;
peak RSS is the process's own ru_maxrss, from wait4 in a small launcher (a child forked from a
large parent would inherit the parent's peak). Generated files are deleted at the end.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from machine import describe

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SAMPLE_MODEL = REPO / "sample_models" / "relu_vae.keras"
FEATURES = 16
SIZES = {"1MiB": 2**20, "100MiB": 100 * 2**20, "2GiB": 2 * 2**30}
LARGE = 100 * 2**20  # from this size on, --repeat-large runs
SLAB_BYTES = 32 * 2**20
DEPTHS = (5, 500)

# Targets of the issue this benchmark was written for; printed beside what was measured.
SMALL_TEXT_OVER_B = 1.5
SMALL_JSON_OVER_B = 1.3
SMALL_C_OVER_A = 10.0
LARGE_A_OVER_B = 1.5
LARGE_PEAK_MB = 300.0
DEPTH_MS = 50.0

LAUNCHER = """
import os, subprocess, sys, time
out = open(os.devnull, "wb")
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=out, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
err = child.stderr.read().decode("utf-8", "replace")
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
print(err[-2000:], end="")
"""


@dataclass(frozen=True)
class Command:
    label: str  # "A text", "B floor", ...
    argv: tuple[str, ...]  # MODEL and DATA appended
    accepted_exits: tuple[int, ...] = (0,)


@dataclass
class Figures:
    """The runs of one command on one input."""

    walls: list[float]
    cpus: list[float]
    peaks_mb: list[float]

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    @property
    def peak_mb(self) -> float:
        return max(self.peaks_mb)

    @property
    def spread(self) -> float:
        return (max(self.walls) - min(self.walls)) / self.wall if self.wall else 0.0


def vaecheck_command() -> tuple[tuple[str, ...], str]:
    """The console script installed beside this interpreter, else `python -m vaecheck`."""
    script = Path(sys.executable).parent / "vaecheck"
    if script.is_file():
        return (str(script),), f"{script} (the installed console script)"
    return (sys.executable, "-m", "vaecheck"), f"{sys.executable} -m vaecheck"


def child_environment() -> dict[str, str]:
    environment = dict(os.environ)
    # A pip-installed package has its bytecode compiled; a run with this set would compile
    # vaecheck's modules anew each time, which no user pays.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    environment["NO_COLOR"] = "1"
    return environment


def run_once(command: Command, model: Path, data: Path, environment: dict[str, str]) -> tuple[float, float, float]:
    argv = [sys.executable, "-c", LAUNCHER, *command.argv, str(model), str(data)]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=REPO)
    first, _, err = done.stdout.partition("\n")
    try:
        wall, cpu, peak_kb, code = first.split()
    except ValueError:
        raise SystemExit(f"{command.label}: the launcher failed:\n{done.stderr}") from None
    if int(code) not in command.accepted_exits:
        raise SystemExit(f"{command.label} on {data.name} exited {code}:\n{err}")
    return float(wall), float(cpu), int(peak_kb) / 1024


def measure(
    runs: dict[str, tuple[Command, Path, Path]], repeat: int, environment: dict[str, str]
) -> dict[str, Figures]:
    """Each run (a command on a model and data) once to warm up, then `repeat` rounds in which
    every run takes its turn: a change in the machine's load falls on all of them alike."""
    for command, model, data in runs.values():  # warm-up: page cache, bytecode
        run_once(command, model, data, environment)
    figures = {label: Figures([], [], []) for label in runs}
    for _ in range(repeat):
        for label, (command, model, data) in runs.items():
            wall, cpu, peak = run_once(command, model, data, environment)
            figures[label].walls.append(wall)
            figures[label].cpus.append(cpu)
            figures[label].peaks_mb.append(peak)
    return figures


# --- inputs -------------------------------------------------------------------------------------


def write_data(path: Path, size_bytes: int) -> tuple[int, ...]:
    """A float32 (rows, FEATURES) .npy of standardized values, size_bytes of payload."""
    rows = max(1, size_bytes // (4 * FEATURES))
    rng = np.random.default_rng(0)
    slab_rows = max(1, min(rows, SLAB_BYTES // (4 * FEATURES)))
    slabs = [rng.standard_normal((slab_rows, FEATURES), dtype=np.float32) for _ in range(3)]
    with path.open("wb") as handle:
        header = {"descr": "<f4", "fortran_order": False, "shape": (rows, FEATURES)}
        np.lib.format.write_array_header_1_0(handle, header)
        written = 0
        while written < rows:
            slab = slabs[(written // slab_rows) % len(slabs)][: rows - written]
            handle.write(slab.tobytes())
            written += slab.shape[0]
    return (rows, FEATURES)


def _sample_parts() -> tuple[dict, dict, bytes]:
    """A Dense layer's and an InputLayer's entries, and metadata.json, from the sample model,
    so that the generated models are written exactly as Keras 3 writes them."""
    with zipfile.ZipFile(SAMPLE_MODEL) as archive:
        config = json.loads(archive.read("config.json"))
        metadata = archive.read("metadata.json")

    def walk(node: object):
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    dense = next(n for n in walk(config) if n.get("class_name") == "Dense")
    inputs = next(n for n in walk(config) if n.get("class_name") == "InputLayer")
    return dense, inputs, metadata


def write_deep_model(path: Path, depth: int, functional: bool) -> None:
    """A .keras zip of `depth` Dense(16) layers, tanh then a relu last; no weights file, which
    vaecheck never reads (Keras cannot load this file: it measures vaecheck only)."""
    dense, inputs, metadata = _sample_parts()
    layers = []
    entry = copy.deepcopy(inputs)
    entry["config"]["name"] = entry["name"] = "x"
    entry["config"]["batch_shape"] = [None, FEATURES]
    layers.append(entry)
    previous = "x"
    for index in range(depth):
        layer = copy.deepcopy(dense)
        name = f"dense_{index}"
        layer["config"].update(
            name=name, units=FEATURES, activation="relu" if index == depth - 1 else "tanh"
        )
        layer["build_config"] = {"input_shape": [None, FEATURES]}
        if functional:
            layer["name"] = name
            layer["inbound_nodes"] = [
                {
                    "args": [
                        {
                            "class_name": "__keras_tensor__",
                            "config": {
                                "shape": [None, FEATURES],
                                "dtype": "float32",
                                "keras_history": [previous, 0, 0],
                            },
                        }
                    ],
                    "kwargs": {},
                }
            ]
        else:
            layer.pop("name", None)
            layer.pop("inbound_nodes", None)
        layers.append(layer)
        previous = name
    if functional:
        model = {
            "module": "keras.src.models.functional",
            "class_name": "Functional",
            "config": {
                "name": f"deep_{depth}",
                "trainable": True,
                "layers": layers,
                "input_layers": [["x", 0, 0]],
                "output_layers": [[previous, 0, 0]],
            },
            "registered_name": "Functional",
            "build_config": {"input_shape": None},
        }
    else:
        for layer in layers:
            layer.pop("name", None)
            layer.pop("inbound_nodes", None)
        model = {
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": f"deep_{depth}",
                "trainable": True,
                "dtype": dense["config"]["dtype"],
                "layers": layers,
                "build_input_shape": [None, FEATURES],
            },
            "registered_name": None,
            "build_config": {"input_shape": [None, FEATURES]},
        }
    model["compile_config"] = {"optimizer": "adam", "loss": "mse", "loss_weights": None,
                               "metrics": None, "weighted_metrics": None, "run_eagerly": False,
                               "steps_per_execution": 1, "jit_compile": False}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", metadata)
        archive.writestr("config.json", json.dumps(model))


# --- the machine ----------------------------------------------------------------------------------


def keras_version(environment: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import keras, sys; print(keras.__version__, keras.backend.backend())"],
        capture_output=True, text=True, env=environment,
    )
    return done.stdout.strip() or "not installed"


def version_imports_numpy(environment: dict[str, str]) -> dict[str, bool]:
    """Whether the commands that read no data import numpy or rich, from python -X importtime."""
    found = {}
    for flag in ("--version", "--help", "rules", "explain VC001"):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "vaecheck", *flag.split()],
            capture_output=True, text=True, env=environment, cwd=REPO,
        )
        found[flag] = any(
            line.rstrip().endswith(("| numpy", "| rich")) for line in done.stderr.splitlines()
        )
    return found


# --- the report ---------------------------------------------------------------------------------


def human(size: int) -> str:
    return f"{size / 2**30:g} GiB" if size >= 2**30 else f"{size / 2**20:g} MiB"


def print_table(title: str, size: int, figures: dict[str, Figures]) -> None:
    print(f"\n{title}")
    header = (f"  {'command':<16} {'wall s':>7} {'min-max s':>13} {'spread':>7} {'CPU s':>6} "
              f"{'GB/s':>6} {'peak RSS MB':>12}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for label, f in figures.items():
        print(f"  {label:<16} {f.wall:>7.3f} {min(f.walls):>6.3f}-{max(f.walls):<6.3f} "
              f"{f.spread:>6.0%} {f.cpu:>6.2f} {size / f.wall / 1e9:>6.3f} {f.peak_mb:>12.0f}")


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command on small files")
    parser.add_argument("--repeat-large", type=int, default=3, help="runs on files of 100 MiB and more")
    parser.add_argument("--no-keras", action="store_true", help="skip C (keras.models.load_model)")
    parser.add_argument("--no-depth", action="store_true", help="skip the 5- vs 500-layer models")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary folder goes")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    sizes = {name: SIZES[name] for name in args.sizes.split(",")}

    environment = child_environment()
    vaecheck, vaecheck_said = vaecheck_command()
    about = describe()
    about["keras"] = "skipped" if args.no_keras else keras_version(environment)
    print("machine: " + "; ".join(f"{k} {v}" for k, v in about.items()))
    print(f"A runs: {vaecheck_said}")

    a_text = Command("A vaecheck text", vaecheck, (0, 1))
    a_json = Command("A vaecheck json", (*vaecheck, "--format", "json"), (0, 1))
    floor = Command("B floor", (sys.executable, str(BENCH / "floor.py")))
    chunked = Command("B2 floor chunked", (sys.executable, str(BENCH / "floor_chunked.py")))
    keras_way = Command("C keras", (sys.executable, str(BENCH / "keras_way.py")))

    folder = Path(tempfile.mkdtemp(prefix="vaecheck-bench-", dir=args.dir))
    results: dict[str, dict] = {"machine": about, "vaecheck": vaecheck_said, "sizes": {}}
    verdicts: list[str] = []
    try:
        for name, size in sizes.items():
            data = folder / f"data_{name}.npy"
            shape = write_data(data, size)
            commands = [a_text, a_json, floor]
            if size >= LARGE:
                commands.append(chunked)
            if not args.no_keras:
                commands.append(keras_way)
            repeat = args.repeat_large if size >= LARGE else args.repeat
            load_before = os.getloadavg()[0]
            figures = measure(
                {c.label: (c, SAMPLE_MODEL, data) for c in commands}, repeat, environment
            )
            load_after = os.getloadavg()[0]
            data.unlink()
            print_table(
                f"{human(size)} float32 {shape}, sample VAE; median of {repeat}; load average "
                f"{load_before:.2f} -> {load_after:.2f}",
                size,
                figures,
            )
            a, b = figures[a_text.label], figures[floor.label]
            ratios = {
                "A text / B": a.wall / b.wall,
                "A json / B": figures[a_json.label].wall / b.wall,
            }
            if chunked.label in figures:
                ratios["A text / B2"] = a.wall / figures[chunked.label].wall
            if keras_way.label in figures:
                ratios["C / A text"] = figures[keras_way.label].wall / a.wall
            print("  ratios (wall): " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
            results["sizes"][name] = {
                "bytes": size,
                "shape": shape,
                "repeat": repeat,
                "load": [load_before, load_after],
                "figures": {k: {**asdict(f), "wall": f.wall, "cpu": f.cpu, "peak_mb": f.peak_mb}
                            for k, f in figures.items()},
                "ratios": ratios,
            }
            if size <= 2**20:
                for fmt, target in (("text", SMALL_TEXT_OVER_B), ("json", SMALL_JSON_OVER_B)):
                    label = a_text.label if fmt == "text" else a_json.label
                    cpu = figures[label].cpu / figures[floor.label].cpu
                    verdicts.append(f"{human(size)}: A {fmt} / B {ratios[f'A {fmt} / B']:.2f} "
                                    f"(CPU {cpu:.2f}) <= {target}: "
                                    f"{verdict(ratios[f'A {fmt} / B'] <= target)}")
                if "C / A text" in ratios:
                    verdicts.append(f"{human(size)}: C/A {ratios['C / A text']:.1f} >= {SMALL_C_OVER_A}: "
                                    f"{verdict(ratios['C / A text'] >= SMALL_C_OVER_A)}")
            if size >= 2**30:
                worst = max(ratios["A text / B"], ratios["A json / B"])
                verdicts.append(f"{human(size)}: A/B {ratios['A text / B']:.2f} (text), "
                                f"{ratios['A json / B']:.2f} (json) <= {LARGE_A_OVER_B}: "
                                f"{verdict(worst <= LARGE_A_OVER_B)}")
                peak = max(a.peak_mb, figures[a_json.label].peak_mb)
                verdicts.append(f"{human(size)}: A peak RSS {peak:.0f} MB <= {LARGE_PEAK_MB:.0f}: "
                                f"{verdict(peak <= LARGE_PEAK_MB)}")

        if len(sizes) > 1:
            names = list(sizes)
            walls = [results["sizes"][n]["figures"][a_text.label]["wall"] for n in names]
            print("\nscaling of A text with the data (marginal throughput between sizes):")
            for (n0, t0), (n1, t1) in zip(zip(names, walls), zip(names[1:], walls[1:])):
                added = sizes[n1] - sizes[n0]
                print(f"  {n0} -> {n1}: +{t1 - t0:.3f} s for +{human(added)}: "
                      f"{added / max(t1 - t0, 1e-9) / 1e9:.2f} GB/s")

        if not args.no_depth:
            data = folder / "data_depth.npy"
            write_data(data, 2**20)
            depth_repeat = 2 * args.repeat
            print(f"\nmodel depth: A text on Dense stacks, 1 MiB data; median of {depth_repeat}, "
                  "the models taking turns")
            depth_results = {}
            for functional in (False, True):
                kind = "Functional" if functional else "Sequential"
                runs = {}
                for depth in DEPTHS:
                    model = folder / f"{kind.lower()}_{depth}.keras"
                    write_deep_model(model, depth, functional)
                    runs[str(depth)] = (a_text, model, data)
                per_depth = measure(runs, depth_repeat, environment)
                shallow, deep = per_depth[str(DEPTHS[0])], per_depth[str(DEPTHS[-1])]
                added_ms = (deep.wall - shallow.wall) * 1000
                print(f"  {kind:<10} {DEPTHS[0]} layers {shallow.wall:.3f} s "
                      f"(spread {shallow.spread:.0%}), {DEPTHS[-1]} layers {deep.wall:.3f} s "
                      f"(spread {deep.spread:.0%}): {added_ms:+.0f} ms, "
                      f"CPU {(deep.cpu - shallow.cpu) * 1000:+.0f} ms")
                verdicts.append(f"{kind} {DEPTHS[-1]} vs {DEPTHS[0]} layers: {added_ms:+.0f} ms "
                                f"< {DEPTH_MS:.0f} ms: {verdict(added_ms < DEPTH_MS)}")
                depth_results[kind] = {d: asdict(f) for d, f in per_depth.items()}
            results["depth"] = depth_results

        imports = version_imports_numpy(environment)
        for flag, imported in imports.items():
            verdicts.append(f"`vaecheck {flag}` imports numpy or rich: {'YES' if imported else 'no'}: "
                            f"{verdict(not imported)}")
        results["verdicts"] = verdicts
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("\ntargets:")
    for line in verdicts:
        print(f"  {line}")
    print(f"(generated files deleted: {folder})")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
