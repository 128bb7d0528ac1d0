"""Fuzz vaecheck's readers: any input must end in success or a VaecheckError, nothing else.

Two engines, the same rule (tests/fuzz/strategies.py: `only_vaecheck_errors`):

- atheris (coverage-guided libFuzzer, `pip install atheris`): each target starts from a seed
  corpus of valid files written here, and mutates bytes guided by the coverage of vaecheck's
  own code (instrumented at import). The `config` target also mutates parsed JSON, so that
  mutants stay JSON often enough to reach the graph reader and the range engine.
- hypothesis (`--engine hypothesis`): the structured strategies of tests/test_fuzz.py with a
  large budget, and whole runs (check, then every format) on arrays of extreme values.

An uncaught exception stops the run and prints the input's traceback (atheris also writes the
input to ./crash-*). Run from the repository root:

    .venv/bin/python tests/fuzz/fuzz_readers.py --target config --runs 60000
    .venv/bin/python tests/fuzz/fuzz_readers.py --target all --runs 20000   # each target
    .venv/bin/python tests/fuzz/fuzz_readers.py --engine hypothesis --runs 5000

Targets: config (config.json text -> graph -> ranges -> shapes), keras (.keras zip bytes ->
read_model), npy (a .npy stream -> blocks -> statistics), csv, npz (files -> blocks ->
statistics).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))

TARGETS = ("config", "keras", "npy", "csv", "npz")
SCRATCH = Path(os.environ.get("VAECHECK_FUZZ_SCRATCH", "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()))


# --- seeds --------------------------------------------------------------------------------------


def _seeds(target: str) -> list[bytes]:
    import numpy as np

    from fuzz.strategies import base_configs, config_text

    configs = [config_text(config).encode() for config in base_configs()]
    if target == "config":
        return configs
    if target == "keras":
        seeds = []
        for config in configs:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
                archive.writestr("config.json", config)
            seeds.append(buffer.getvalue())
        return seeds
    arrays = [
        np.arange(12, dtype="<f4").reshape(3, 4) - 5,
        np.asfortranarray(np.linspace(-1, 1, 8, dtype=">f8").reshape(2, 4)),
        np.array([[0, 255]], dtype="u1"),
        np.array([True, False]),
        np.array([[np.nan, np.inf, -np.inf, 1e38]], dtype="<f4"),
    ]
    npys = []
    for array in arrays:
        buffer = io.BytesIO()
        np.save(buffer, array)
        npys.append(buffer.getvalue())
    if target == "npy":
        return npys
    if target == "npz":
        seeds = []
        for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", compression) as archive:
                for index, npy in enumerate(npys[:2]):
                    archive.writestr(f"a{index}.npy", npy)
            seeds.append(buffer.getvalue())
        return seeds
    return [
        b"a,b,c\n1,2,3\n4,5,6\n",
        b"# comment\n1.5,nan,-inf\n\n2,3,4\n",
        b'x,"y, z"\n"1",2\n',
        b"a\tb\n1\t2\n",
        b"1,2\r\n3,\r\n",
    ]


# --- one input, per target ---------------------------------------------------------------------


def _mutated_config(data: bytes) -> bytes:
    """Half the time the bytes themselves; else a base configuration mutated as the bytes say."""
    import atheris

    from fuzz.strategies import ACTIVATIONS, LAYER_CLASSES, NAMES, _slots, base_configs

    provider = atheris.FuzzedDataProvider(data)
    if provider.ConsumeBool():
        return provider.ConsumeBytes(len(data))
    config = copy.deepcopy(base_configs()[provider.ConsumeIntInRange(0, len(base_configs()) - 1)])
    pool: list[Any] = [
        None, True, False, 0, 1, -1, 2**63, 10**400, 1e308, -1e308, float("nan"), float("inf"),
        [], {}, [["x", 0, 0]], ["x", 0, 0], *NAMES, *LAYER_CLASSES, *ACTIVATIONS,
    ]
    for _ in range(provider.ConsumeIntInRange(1, 4)):
        slots: list[tuple[Any, Any]] = []
        _slots(config, slots)
        if not slots:
            break
        container, key = slots[provider.ConsumeIntInRange(0, len(slots) - 1)]
        action = provider.ConsumeIntInRange(0, 4)
        if action == 0:
            del container[key]
        elif action == 1 and isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))
        elif action == 2:
            container[key] = provider.ConsumeUnicodeNoSurrogates(8)
        elif action == 3:
            container[key] = provider.ConsumeFloat() if provider.ConsumeBool() else provider.ConsumeInt(8)
        else:
            container[key] = copy.deepcopy(pool[provider.ConsumeIntInRange(0, len(pool) - 1)])
    return json.dumps(config, allow_nan=True).encode()


def _target(name: str) -> Callable[[bytes], None]:
    from fuzz.strategies import analyse_config, consume, only_vaecheck_errors
    from vaecheck.readers.data import open_data, open_stream
    from vaecheck.readers.model import read_model

    scratch = Path(tempfile.mkdtemp(prefix="vaecheck-fuzz-", dir=SCRATCH))

    def on_file(suffix: str, read: Callable[[str], Any]) -> Callable[[bytes], None]:
        path = scratch / f"input{suffix}"

        def one(data: bytes) -> None:
            path.write_bytes(data)
            only_vaecheck_errors(lambda: read(str(path)))

        return one

    if name == "config":
        return lambda data: only_vaecheck_errors(lambda: analyse_config(_mutated_config(data)))
    if name == "keras":
        return on_file(".keras", read_model)
    if name == "npy":
        return lambda data: only_vaecheck_errors(lambda: consume(open_stream(io.BytesIO(data))))
    if name == "csv":
        return on_file(".csv", lambda path: consume(open_data(path)))
    return on_file(".npz", lambda path: consume(open_data(path)))


# --- engines ------------------------------------------------------------------------------------


def run_atheris(target: str, runs: int, extra: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["vaecheck"]):
        import vaecheck.readers.data  # noqa: F401
        import vaecheck.readers.delimited  # noqa: F401
        import vaecheck.readers.model  # noqa: F401
        import vaecheck.ranges.dispatch

        vaecheck.ranges.dispatch.all_transfers()  # imports every family module, instrumented
        import vaecheck.shapes  # noqa: F401
        import vaecheck.stats  # noqa: F401
    seeds = Path(tempfile.mkdtemp(prefix=f"vaecheck-seeds-{target}-", dir=SCRATCH))
    for index, seed in enumerate(_seeds(target)):
        (seeds / f"seed-{index}").write_bytes(seed)
    one = _target(target)
    started = time.monotonic()
    print(f"atheris: target {target}, {runs} runs", file=sys.stderr, flush=True)
    atheris.Setup(
        [sys.argv[0], f"-runs={runs}", "-max_len=65536", "-timeout=10", "-rss_limit_mb=2048", *extra, str(seeds)],
        one,
    )
    try:
        atheris.Fuzz()
    except SystemExit:
        print(f"atheris: target {target} done in {time.monotonic() - started:.0f} s", file=sys.stderr)
        raise


def run_hypothesis(runs: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from fuzz.strategies import (
        analyse_config,
        config_text,
        consume,
        csv_texts,
        mutated_configs,
        npy_headers,
        npz_archives,
        only_vaecheck_errors,
        read_data_file,
    )
    from vaecheck.readers.data import open_stream

    scratch = Path(tempfile.mkdtemp(prefix="vaecheck-fuzz-", dir=SCRATCH))
    budget = settings(max_examples=runs, deadline=None, suppress_health_check=list(HealthCheck), database=None)

    @budget
    @given(mutated_configs())
    def configs(config: Any) -> None:
        only_vaecheck_errors(lambda: analyse_config(config_text(config)))

    @budget
    @given(npy_headers())
    def npy(data: bytes) -> None:
        only_vaecheck_errors(lambda: consume(open_stream(io.BytesIO(data))))

    @budget
    @given(csv_texts(), st.none() | st.sampled_from(["a", "0", "1:", "z"]))
    def csv(data: bytes, columns: str | None) -> None:
        read_data_file(scratch / "data.csv", data, columns=columns)

    @budget
    @given(npz_archives())
    def npz(data: bytes) -> None:
        read_data_file(scratch / "data.npz", data)

    sys.path.insert(0, str(HERE.parent))
    from test_fuzz import absurd_arrays

    from fuzz.strategies import SHAPELESS_ACTIVATIONS, check_and_render, write_shapeless_model

    models = {name: write_shapeless_model(scratch / f"{name}.keras", name) for name in SHAPELESS_ACTIVATIONS}

    @budget
    @given(absurd_arrays(), st.sampled_from(SHAPELESS_ACTIVATIONS), st.none() | st.sampled_from(["mse", "binary_crossentropy", "categorical_crossentropy", "hinge"]))
    def data(array: Any, activation: str, loss: str | None) -> None:
        check_and_render(models[activation], array, loss=loss)

    for test in (configs, npy, csv, npz, data):
        started = time.monotonic()
        test()
        print(f"hypothesis: {test.__name__}: {runs} examples in {time.monotonic() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("atheris", "hypothesis"), default="atheris")
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="config")
    parser.add_argument("--runs", type=int, default=10_000)
    args, extra = parser.parse_known_args()
    if args.engine == "hypothesis":
        run_hypothesis(args.runs)
        return
    if args.target == "all":
        import subprocess

        for target in TARGETS:  # libFuzzer runs one target per process
            command = [sys.executable, __file__, "--target", target, "--runs", str(args.runs), *extra]
            if subprocess.run(command).returncode != 0:
                sys.exit(1)
        return
    run_atheris(args.target, args.runs, extra)


if __name__ == "__main__":
    main()
