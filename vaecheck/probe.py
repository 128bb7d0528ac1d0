"""`--probe`: load the model with Keras, run it, and measure what its outputs really produce.

This is the one module that imports Keras or TensorFlow, and it does so only in a child process
it starts (`python -c ... child_main`): the vaecheck process itself never imports them, a hung
or slow model is stopped by killing the child at the timeout, and TensorFlow's log noise stays
in the child's captured stderr.

Safety. Loading a model with Keras runs code: the classes it names, and with safe mode off the
Python bytecode of its Lambda layers. vaecheck loads `.keras`/`.h5` files with
`keras.saving.load_model(path, safe_mode=True, compile=False)` unless the user passes
`--unsafe`. A TensorFlow SavedModel directory is loaded through `keras.layers.TFSMLayer`, which
runs the TensorFlow graph stored in the directory: safe mode cannot vet that graph (Keras itself
refuses TFSMLayer in safe mode since 3.14), so probing a SavedModel requires `--unsafe`.
`--custom-objects FILE.py` imports the user's own file in the child, an explicit act of trust.

What runs. For an autoencoder (the model's input has the data's per-sample shape) the model
runs on up to N samples of the data, evenly spaced through the file. For a decoder whose input
is a latent vector it runs on N draws from N(0, I) at each of the scales x1, x3 and x10, so that
the observed range covers more than the centre of the prior. The observed minimum and maximum of
each output are what it outputs on those inputs: evidence, never proof.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from vaecheck.errors import VaecheckError

DEFAULT_SAMPLES = 1024
DEFAULT_TIMEOUT = 120.0
DEFAULT_BATCH_SIZE = 128
LATENT_SCALES = (1.0, 3.0, 10.0)
DATA_INPUTS = "data"
LATENT_INPUTS = "latent N(0,I) x1,x3,x10"
SAVED_MODEL_ENDPOINTS = ("serve", "serving_default")
# One model input as the child sees it: (shape with None for free dims, or None; dtype name).
InputSpec = tuple[tuple[int | None, ...] | None, str]
# Ticks of the parent's wait loop: how often the progress callback hears that time has passed.
TICK_SECONDS = 0.2


# --- what callers pass and get back -----------------------------------------------------------


@dataclass(frozen=True)
class ProbeProgress:
    """Where a probe run stands, for a progress display. `total` is 0 while the model loads."""

    stage: str  # "starting" (importing Keras), "loading", "running"
    done: int  # batches run
    total: int  # batches to run
    elapsed: float  # seconds since the child started


@dataclass(frozen=True)
class ProbeOptions:
    samples: int = DEFAULT_SAMPLES  # data samples, or latent draws per scale
    timeout: float = DEFAULT_TIMEOUT  # seconds for the whole child: import, load and run
    safe_mode: bool = True
    custom_objects: str | None = None  # a Python file the user trusts, imported in the child
    batch_size: int = DEFAULT_BATCH_SIZE
    progress: Callable[[ProbeProgress], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ProbeJob:
    """One model to probe on one data sample (several jobs can share one child process)."""

    model: str
    sample: np.ndarray = field(repr=False, compare=False)  # data rows, for an autoencoder
    samples: int = DEFAULT_SAMPLES
    safe_mode: bool = True
    custom_objects: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass(frozen=True)
class ObservedOutput:
    """What one output produced: its extremes over the finite values, and how many were not."""

    name: str
    shape: tuple[int | None, ...]  # per sample
    low: float | None  # None when no value was finite
    high: float | None
    values: int
    nonfinite: int


@dataclass(frozen=True)
class ProbeResult:
    model: str
    loader: str  # how Keras loaded it: "keras.saving.load_model" or "keras.layers.TFSMLayer(...)"
    inputs: str  # DATA_INPUTS or LATENT_INPUTS
    samples: int  # model inputs run, over all scales
    safe_mode: bool
    backend: str
    keras_version: str
    outputs: tuple[ObservedOutput, ...]
    seconds: float
    saved_model: bool = False  # a SavedModel without a Keras configuration


@dataclass(frozen=True)
class ProbeFailure:
    """Why a probe could not run; `error()` is the one-line message for exit code 2."""

    model: str
    kind: str  # "missing-tensorflow", "safe-mode", "custom-object", "timeout", "load", ...
    problem: str
    path: str | None = None  # the file the problem is about, when not the model

    def error(self) -> VaecheckError:
        return VaecheckError(self.problem, self.path or self.model)


# --- the parent side --------------------------------------------------------------------------


def is_saved_model_dir(path: str | os.PathLike[str]) -> bool:
    """A TensorFlow SavedModel directory (Keras 3 `export()`, tf.keras `save(dir)`, TF)."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb"))


def has_keras_metadata(path: str | os.PathLike[str]) -> bool:
    """Whether a SavedModel carries tf.keras's `keras_metadata.pb`, a Keras configuration."""
    return os.path.isfile(os.path.join(path, "keras_metadata.pb"))


def sample_rows(source: Any, count: int) -> np.ndarray:
    """Up to `count` samples (rows along axis 0) of a DataSource, evenly spaced, read in blocks.

    Samples holding a non-finite value are left out: one NaN input would make every output NaN
    and say nothing about the model.
    """
    length = source.shape[0] if source.shape else 0
    if length <= count:
        rows = np.arange(length)
    else:
        rows = np.unique(np.linspace(0, length - 1, count).round().astype(np.int64))
    picked = np.empty((len(rows), *source.shape[1:]), dtype=source.dtype.newbyteorder("="))
    if len(rows):
        last = int(rows[-1])
        for index, block in source.chunks():
            start, stop, _ = index[0].indices(length)
            inside = (rows >= start) & (rows < stop)
            if inside.any():
                picked[(inside, *index[1:])] = block[rows[inside] - start]
            # C-order blocks run along the rows: nothing past the last picked row is needed.
            if start > last and not source.fortran_order:
                break
    if picked.dtype.kind in "fc" and picked.size:
        finite = np.isfinite(picked.reshape(len(picked), -1)).all(axis=1)
        picked = picked[finite]
    return picked


def probe_model(
    model: str | os.PathLike[str], sample: np.ndarray, options: ProbeOptions = ProbeOptions()
) -> ProbeResult:
    """Probe one model; raises VaecheckError with a one-line message when it cannot."""
    job = ProbeJob(
        model=os.fspath(model),
        sample=sample,
        samples=options.samples,
        safe_mode=options.safe_mode,
        custom_objects=options.custom_objects,
        batch_size=options.batch_size,
    )
    [outcome] = probe_models([job], timeout=options.timeout, progress=options.progress)
    if isinstance(outcome, ProbeFailure):
        raise outcome.error()
    return outcome


def probe_models(
    jobs: Sequence[ProbeJob],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[ProbeProgress], None] | None = None,
) -> list[ProbeResult | ProbeFailure]:
    """Probe several models in one child process (TensorFlow is imported once), in order.

    `timeout` bounds the whole child. Classes that a custom-objects file registers with Keras
    stay registered for the later jobs of the same child.
    """
    outcomes: dict[int, ProbeResult | ProbeFailure] = {}
    runnable = []
    for index, job in enumerate(jobs):
        refusal = _refuse_before_loading(job)
        if refusal is not None:
            outcomes[index] = refusal
        else:
            runnable.append((index, job))
    if runnable:
        outcomes.update(_run_child(runnable, timeout, progress))
    return [outcomes[index] for index in range(len(jobs))]


def _refuse_before_loading(job: ProbeJob) -> ProbeFailure | None:
    if not os.path.exists(job.model):
        return ProbeFailure(job.model, "load", "no such file or directory")
    if job.custom_objects is not None and not os.path.isfile(job.custom_objects):
        return ProbeFailure(
            job.model, "custom-objects-file", "no such file (--custom-objects)", job.custom_objects
        )
    if job.model.lower().endswith(".onnx") and job.custom_objects is not None:
        return ProbeFailure(
            job.model, "custom-objects-file", "--custom-objects is for Keras models, not ONNX"
        )
    if is_saved_model_dir(job.model) and job.safe_mode:
        return ProbeFailure(
            job.model,
            "safe-mode",
            "a TensorFlow SavedModel runs the graph stored in it when loaded, which safe mode "
            "cannot vet; pass --unsafe to probe it if you trust this directory",
        )
    return None


def _run_child(
    jobs: list[tuple[int, ProbeJob]],
    timeout: float,
    progress: Callable[[ProbeProgress], None] | None,
) -> dict[int, ProbeResult | ProbeFailure]:
    outcomes: dict[int, ProbeResult | ProbeFailure] = {}
    with tempfile.TemporaryDirectory(prefix="vaecheck-probe-") as workdir:
        plan = []
        for position, (index, job) in enumerate(jobs):
            sample_path = os.path.join(workdir, f"sample-{position}.npy")
            np.save(sample_path, np.ascontiguousarray(job.sample), allow_pickle=False)
            plan.append(
                {
                    "job": index,
                    "model": os.path.abspath(job.model),
                    "saved_model": is_saved_model_dir(job.model),
                    "onnx": job.model.lower().endswith(".onnx"),
                    "sample": sample_path,
                    "samples": int(job.samples),
                    "batch_size": int(job.batch_size),
                    "safe_mode": bool(job.safe_mode),
                    "custom_objects": (
                        os.path.abspath(job.custom_objects) if job.custom_objects else None
                    ),
                }
            )
        plan_path = os.path.join(workdir, "jobs.json")
        with open(plan_path, "w", encoding="utf-8") as handle:
            json.dump(plan, handle)
        log_path = os.path.join(workdir, "stderr.log")
        with open(log_path, "wb") as log:
            messages, status = _converse(plan_path, log, timeout, progress)
        by_index = {index: job for index, job in jobs}
        for message in messages:
            about = message.get("job")
            if message.get("event") == "result" and about in by_index:
                outcomes[about] = _result_from_message(by_index[about], message["result"])
            elif message.get("event") == "failure" and about in by_index:
                outcomes[about] = ProbeFailure(
                    by_index[about].model,
                    str(message.get("kind", "load")),
                    str(message.get("problem", "the probe failed")),
                    # The custom-objects file, named as the user named it.
                    by_index[about].custom_objects if message.get("path") else None,
                )
            elif message.get("event") == "fatal":
                for pending in by_index:
                    outcomes.setdefault(
                        pending,
                        ProbeFailure(
                            by_index[pending].model,
                            str(message.get("kind", "start")),
                            str(message.get("problem", "the probe could not start")),
                        ),
                    )
        if len(outcomes) < len(jobs):
            problem = _unfinished_problem(status, timeout, log_path)
            kind = "timeout" if status == "timeout" else "crashed"
            for index, job in jobs:
                outcomes.setdefault(index, ProbeFailure(job.model, kind, problem))
    return outcomes


def _converse(
    plan_path: str,
    log: IO[bytes],
    timeout: float,
    progress: Callable[[ProbeProgress], None] | None,
) -> tuple[list[dict[str, Any]], str]:
    """Run the child, collect its messages; the status is "exited", "timeout" or "exit N"."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    # Keras picks its backend at import: TensorFlow unless the user chose one.
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", _BOOTSTRAP, root, plan_path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        env=env,
    )
    lines: queue.Queue[bytes | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True)
    reader.start()
    messages: list[dict[str, Any]] = []
    state = ProbeProgress("starting", 0, 0, 0.0)
    status = "exited"
    finished = False
    try:
        while True:
            remaining = started + timeout - time.monotonic()
            if remaining <= 0:
                status = "timeout"
                break
            try:
                line = lines.get(timeout=min(TICK_SECONDS, remaining))
            except queue.Empty:
                line = b""
            if line is None:
                finished = True
                break
            message = _parse_message(line) if line else None
            if message is not None:
                if message.get("event") == "progress":
                    state = ProbeProgress(
                        str(message.get("stage", "running")),
                        int(message.get("done", 0)),
                        int(message.get("total", 0)),
                        0.0,
                    )
                else:
                    messages.append(message)
            if progress is not None:
                progress(
                    ProbeProgress(state.stage, state.done, state.total, time.monotonic() - started)
                )
    finally:
        if child.poll() is None and not finished:
            child.kill()
        try:
            code = child.wait(timeout=10)
        except subprocess.TimeoutExpired:  # finished its messages but will not exit: stop it
            child.kill()
            code = child.wait()
        reader.join(timeout=1)
    if status != "timeout" and code != 0:
        status = f"exit {code}"
    return messages, status


def _pump(stream: IO[bytes] | None, lines: queue.Queue[bytes | None]) -> None:
    if stream is not None:
        with stream:
            for line in stream:
                lines.put(line)
    lines.put(None)


def _parse_message(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:  # something in the child wrote to the protocol stream: not ours
        return None
    return message if isinstance(message, dict) else None


def _unfinished_problem(status: str, timeout: float, log_path: str) -> str:
    if status == "timeout":
        return (
            f"the probe did not finish within {timeout:g} s and was stopped "
            "(raise --probe-timeout, or lower --probe-samples)"
        )
    last = _last_log_line(log_path)
    detail = f": {last}" if last else ""
    if status.startswith("exit -"):
        return f"the probe process was killed by signal {status[6:]}{detail}"
    return f"the probe process stopped ({status}){detail}"


def _last_log_line(log_path: str) -> str:
    try:
        with open(log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return _one_line(lines[-1]) if lines else ""


def _result_from_message(job: ProbeJob, result: Mapping[str, Any]) -> ProbeResult:
    return ProbeResult(
        model=job.model,
        loader=str(result["loader"]),
        inputs=str(result["inputs"]),
        samples=int(result["samples"]),
        safe_mode=bool(result["safe_mode"]),
        backend=str(result["backend"]),
        keras_version=str(result["keras_version"]),
        outputs=tuple(
            ObservedOutput(
                name=str(output["name"]),
                shape=tuple(output["shape"]),
                low=output["low"],
                high=output["high"],
                values=int(output["values"]),
                nonfinite=int(output["nonfinite"]),
            )
            for output in result["outputs"]
        ),
        seconds=float(result["seconds"]),
        saved_model=bool(result.get("saved_model", False)),
    )


def match_outputs(names: Sequence[str], result: ProbeResult) -> dict[str, ObservedOutput]:
    """The observed output for each statically known output name.

    By name where the probe's names are the model's own (functional outputs, dict keys); by
    position when the counts agree and names do not (a Sequential model's single output).
    """
    observed = {output.name: output for output in result.outputs}
    if all(name in observed for name in names):
        return {name: observed[name] for name in names}
    if len(names) == len(result.outputs):
        return dict(zip(names, result.outputs))
    return {name: observed[name] for name in names if name in observed}


# --- the child side ---------------------------------------------------------------------------

# The child's first lines: find this copy of vaecheck, and keep the working directory off the
# import path so that a stray keras.py there cannot stand in for Keras.
_BOOTSTRAP = (
    "import sys\n"
    "if sys.path and sys.path[0] in ('', '.'):\n"
    "    del sys.path[0]\n"
    "root = sys.argv[1]\n"
    "if root not in sys.path:\n"
    "    sys.path.insert(0, root)\n"
    "from vaecheck.probe import child_main\n"
    "sys.exit(child_main(sys.argv[2:]))\n"
)


class _Refusal(Exception):
    def __init__(self, kind: str, problem: str, path: str | None = None) -> None:
        super().__init__(problem)
        self.kind = kind
        self.problem = problem
        self.path = path


def child_main(argv: Sequence[str]) -> int:
    """The child process: probe each job of the plan file, one JSON message per line."""
    # Messages go to a private copy of stdout; anything else printed on stdout (a progress bar,
    # a print() in a custom layer) is sent to stderr, which the parent keeps in a log.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)

    def send(**message: Any) -> None:
        protocol.write(json.dumps(message, allow_nan=False) + "\n")
        protocol.flush()

    with open(argv[0], encoding="utf-8") as handle:
        plan = json.load(handle)
    send(event="progress", stage="starting", done=0, total=0)
    # ONNX models run with onnxruntime (vaecheck.probe_onnx); Keras is imported only for others.
    keras: Any = None
    try:
        if not all(job.get("onnx") for job in plan):
            import keras
    except ImportError as exc:
        send(event="fatal", **_import_problem(exc))
        return 0
    except Exception as exc:  # a broken installation raises almost anything on import
        send(event="fatal", kind="start", problem=f"Keras cannot start ({_describe(exc)})")
        return 0
    for job in plan:
        index = job["job"]
        try:
            if job.get("onnx"):
                from vaecheck.probe_onnx import run_onnx_job

                result = run_onnx_job(job, lambda **m: send(job=index, **m))
            else:
                result = _run_job(keras, job, lambda **m: send(job=index, **m))
        except _Refusal as refusal:
            send(
                event="failure",
                job=index,
                kind=refusal.kind,
                problem=refusal.problem,
                path=refusal.path,
            )
        except Exception as exc:
            send(
                event="failure",
                job=index,
                kind="run",
                problem=f"the model failed while probing ({_describe(exc)})",
            )
        else:
            send(event="result", job=index, result=result)
    return 0


def _import_problem(exc: ImportError) -> dict[str, str]:
    from vaecheck.extras import install_command

    missing = (getattr(exc, "name", None) or "").split(".")[0]
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if missing in ("keras", "tensorflow"):
        return {
            "kind": "missing-tensorflow",
            "problem": (
                f"--probe runs the model with Keras and TensorFlow, and '{missing}' is not "
                f"installed: {install_command('tensorflow')}"
            ),
        }
    return {
        "kind": "backend",
        "problem": (
            f"Keras cannot start with the '{backend}' backend (KERAS_BACKEND): {_describe(exc)}"
        ),
    }


def _run_job(keras: Any, job: Mapping[str, Any], send: Callable[..., None]) -> dict[str, Any]:
    started = time.monotonic()
    send(event="progress", stage="loading", done=0, total=0)
    custom_objects = (
        _import_custom_objects(keras, job["custom_objects"]) if job["custom_objects"] else {}
    )
    if job["saved_model"]:
        model, loader, specs = _load_saved_model(keras, job["model"], job["safe_mode"])
        names: Sequence[str] | None = None
    else:
        model = _load_keras_model(
            keras, job["model"], job["safe_mode"], custom_objects, job["custom_objects"]
        )
        loader = "keras.saving.load_model"
        specs = _keras_input_specs(keras, model)
        names = getattr(model, "output_names", None)
    sample = np.load(job["sample"], allow_pickle=False)
    inputs_label, arrays = _probe_inputs(specs, sample, int(job["samples"]))
    batch_size = max(1, int(job["batch_size"]))
    batches = [
        array[start : start + batch_size]
        for array in arrays
        for start in range(0, len(array), batch_size)
    ]
    keras.utils.set_random_seed(0)  # a sampling layer draws the same noise on every run
    accumulators: dict[str, _Extremes] = {}
    send(event="progress", stage="running", done=0, total=len(batches))
    for done, batch in enumerate(batches, start=1):
        produced = model(batch, training=False)
        for name, tensor in _named_outputs(keras, produced, names):
            values = np.asarray(keras.ops.convert_to_numpy(tensor))
            accumulators.setdefault(name, _Extremes(tuple(values.shape[1:]))).update(values)
        send(event="progress", stage="running", done=done, total=len(batches))
    return {
        "loader": loader,
        "inputs": inputs_label,
        "samples": int(sum(len(array) for array in arrays)),
        "safe_mode": bool(job["safe_mode"]),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "saved_model": bool(job["saved_model"]),
        "seconds": time.monotonic() - started,
        "outputs": [extremes.as_message(name) for name, extremes in accumulators.items()],
    }


@dataclass
class _Extremes:
    shape: tuple[int, ...]
    low: float = math.inf
    high: float = -math.inf
    values: int = 0
    nonfinite: int = 0

    def update(self, values: np.ndarray) -> None:
        flat = values.reshape(-1)
        self.values += flat.size
        if flat.dtype.kind not in "fc":
            flat = flat.astype(np.float64)
        finite = flat[np.isfinite(flat)]
        self.nonfinite += flat.size - finite.size
        if finite.size:
            self.low = min(self.low, float(finite.min()))
            self.high = max(self.high, float(finite.max()))

    def as_message(self, name: str) -> dict[str, Any]:
        found = self.high >= self.low
        return {
            "name": name,
            "shape": list(self.shape),
            "low": self.low if found else None,
            "high": self.high if found else None,
            "values": self.values,
            "nonfinite": self.nonfinite,
        }


def _import_custom_objects(keras: Any, path: str) -> dict[str, Any]:
    """Import the user's file and collect what Keras may need to rebuild the model.

    Everything the file defines or imports that Keras can deserialize: subclasses of Layer,
    Loss, Metric, Initializer, Regularizer and Constraint, and the functions defined in the
    file (custom activations). A dict named `custom_objects` or `CUSTOM_OBJECTS` in the file is
    taken as it is. Objects decorated with `register_keras_serializable` register themselves.
    """
    import importlib.util
    import inspect

    module_name = "vaecheck_custom_objects"
    directory = os.path.dirname(path)
    # The file may import its neighbours, as it would when run as a script.
    sys.path.insert(0, directory)
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise _Refusal(
                "custom-objects-file", "not a Python file (--custom-objects)", path
            )
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except _Refusal:
        raise
    except BaseException as exc:  # the user's code: SystemExit and friends included
        raise _Refusal(
            "custom-objects-file",
            f"cannot import these custom objects (--custom-objects): {_describe(exc)}",
            path,
        ) from None
    finally:
        if directory in sys.path:
            sys.path.remove(directory)
    bases = tuple(
        base
        for group, name in (
            ("layers", "Layer"),
            ("losses", "Loss"),
            ("metrics", "Metric"),
            ("initializers", "Initializer"),
            ("regularizers", "Regularizer"),
            ("constraints", "Constraint"),
        )
        if isinstance(base := getattr(getattr(keras, group, None), name, None), type)
    )
    objects: dict[str, Any] = {}
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        keras_class = inspect.isclass(value) and issubclass(value, bases)
        if keras_class and not value.__module__.startswith("keras"):
            objects[value.__name__] = value
        elif inspect.isfunction(value) and value.__module__ == module_name:
            objects[value.__name__] = value
    for name in ("custom_objects", "CUSTOM_OBJECTS"):
        explicit = getattr(module, name, None)
        if isinstance(explicit, Mapping):
            objects.update({str(k): v for k, v in explicit.items()})
    return objects


def _load_keras_model(
    keras: Any,
    path: str,
    safe_mode: bool,
    custom_objects: Mapping[str, Any],
    custom_objects_file: str | None,
) -> Any:
    try:
        return keras.saving.load_model(
            path, custom_objects=dict(custom_objects) or None, compile=False, safe_mode=safe_mode
        )
    except Exception as exc:
        raise _load_refusal(exc, custom_objects_file) from None


def _load_refusal(exc: BaseException, custom_objects_file: str | None) -> _Refusal:
    text = _chain_text(exc)
    if "safe_mode=False" in text or "enable_unsafe_deserialization" in text:
        found = re.search(r"deserialization of an? `(\w+)`", text)
        holding = f"a {found.group(1)} layer" if found else "code"
        return _Refusal(
            "safe-mode",
            f"safe mode refused to load the model: it holds {holding}, whose code would run on "
            "loading; pass --unsafe to probe it if you trust this file",
        )
    missing = re.search(r"Could not locate (class|function) '([^']+)'", text)
    if missing:
        kind, name = missing.groups()
        if custom_objects_file:
            where = (
                f"which {os.path.basename(custom_objects_file)} (--custom-objects) does not define"
            )
        else:
            where = (
                "which Keras cannot find: pass --custom-objects FILE.py, the Python file that "
                "defines it"
            )
        return _Refusal("custom-object", f"the model uses the custom {kind} '{name}', {where}")
    # Keras wraps the real cause in "could not be deserialized properly" layers: show the cause.
    inner = text.rsplit("Exception encountered: ", 1)[-1]
    return _Refusal(
        "load", f"Keras cannot load the model ({type(exc).__name__}: {_one_line(inner)})"
    )


def _load_saved_model(keras: Any, path: str, safe_mode: bool) -> tuple[Any, str, list[Any] | None]:
    if safe_mode:  # the parent refuses first; this keeps the child safe on its own
        raise _Refusal("safe-mode", "a SavedModel cannot be loaded in safe mode; pass --unsafe")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise _Refusal(
            "backend",
            f"a SavedModel can only be probed with the TensorFlow backend, not '{backend}' "
            "(unset KERAS_BACKEND or set it to tensorflow)",
        )
    for endpoint in SAVED_MODEL_ENDPOINTS:
        try:
            layer = keras.layers.TFSMLayer(path, call_endpoint=endpoint)
        except ValueError as exc:
            if "endpoint" in str(exc):
                continue
            raise _Refusal(
                "load", f"TensorFlow cannot load the SavedModel ({_describe(exc)})"
            ) from None
        except Exception as exc:
            raise _Refusal(
                "load", f"TensorFlow cannot load the SavedModel ({_describe(exc)})"
            ) from None
        return (
            layer,
            f"keras.layers.TFSMLayer(call_endpoint={endpoint!r})",
            _endpoint_specs(keras, layer.call_endpoint_fn),
        )
    raise _Refusal(
        "load",
        f"the SavedModel has none of the endpoints {', '.join(SAVED_MODEL_ENDPOINTS)}",
    )


def _endpoint_specs(
    keras: Any, function: Any
) -> list[InputSpec] | None:
    signature = getattr(function, "input_signature", None)
    if signature is None:
        structured = getattr(function, "structured_input_signature", None)
        if structured is None:
            return None
        args, kwargs = structured
        signature = (list(args), dict(kwargs))
    specs = []
    for spec in keras.tree.flatten(signature):
        shape = spec.shape
        dims = None if shape.rank is None else tuple(shape.as_list())
        specs.append((dims, spec.dtype.name))
    return specs


def _keras_input_specs(
    keras: Any, model: Any
) -> list[InputSpec] | None:
    try:
        inputs = model.inputs
    except Exception:  # a subclassed model has no symbolic inputs
        return None
    if inputs is None:
        return None
    return [(tuple(tensor.shape), str(tensor.dtype)) for tensor in keras.tree.flatten(inputs)]


def _probe_inputs(
    specs: list[InputSpec] | None,
    sample: np.ndarray,
    count: int,
) -> tuple[str, list[np.ndarray]]:
    """The arrays to run: the data for an autoencoder, N(0, I) draws for a latent input."""
    if specs is not None and len(specs) != 1:
        raise _Refusal(
            "inputs", f"the model takes {len(specs)} inputs; --probe runs models with one input"
        )
    # Without a symbolic input shape to compare with (a subclassed model), the data is the best
    # guess; otherwise the data when its samples have the input's shape.
    shape, dtype = specs[0] if specs is not None else (None, "float32")
    per_sample = shape[1:] if shape is not None else None
    data_shape = sample.shape[1:]
    if per_sample is None or (
        len(per_sample) == len(data_shape)
        and all(d is None or d == s for d, s in zip(per_sample, data_shape))
    ):
        if not len(sample):
            raise _Refusal("inputs", "the data has no sample free of NaN and infinity to run")
        return DATA_INPUTS, [sample.astype(dtype)]
    assert shape is not None
    if any(d is None for d in per_sample):
        raise _Refusal(
            "inputs",
            f"the model's input has shape {_shape(shape)} and the data samples "
            f"{_shape(data_shape)}: "
            "the model is no autoencoder of this data, and a latent input of unknown size "
            "cannot be sampled",
        )
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise _Refusal(
            "inputs",
            f"the model's input is {dtype} of shape {_shape(shape)}, not the data's "
            f"{_shape(data_shape)}, and latent samples can only be drawn for a float input",
        )
    latent_shape = tuple(d for d in per_sample if d is not None)  # every one is known here
    generator = np.random.default_rng(0)
    draws = [
        (generator.standard_normal((count, *latent_shape)) * scale).astype(dtype)
        for scale in LATENT_SCALES
    ]
    return LATENT_INPUTS, draws


def _named_outputs(
    keras: Any, produced: Any, names: Sequence[str] | None
) -> Iterator[tuple[str, Any]]:
    if isinstance(produced, Mapping):
        for key, value in produced.items():
            yield str(key), value
        return
    flat = keras.tree.flatten(produced) if isinstance(produced, (list, tuple)) else [produced]
    chosen = (
        list(names)
        if names and len(names) == len(flat)
        else [f"output_{i}" for i in range(len(flat))]
    )
    yield from zip(chosen, flat)


def _chain_text(exc: BaseException) -> str:
    parts = []
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _describe(exc: BaseException) -> str:
    text = _one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _one_line(text: str, limit: int = 240) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _shape(shape: Sequence[int | None]) -> str:
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"
