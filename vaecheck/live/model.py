"""A live Keras model -> the configuration Keras would save, its weights in memory, or a runner.

Keras 3 models go through `keras.saving.serialize_keras_object`, the dict `model.save` writes to
`config.json` (compile configuration included); tf.keras (Keras 2) models through the
`model_config` and `training_config` their `.h5` files hold. The JSON text is parsed by the
same bounded parser as a file's and read by the same graph reader; no file is written.

A subclassed model has no graph in its configuration. Under Keras 3 its `call()` is traced on
`keras.Input` tensors, which records every layer and `keras.ops` call: the result is a
Functional model over the same layer objects, and its range is proven like any other. Where
tracing fails (Python control flow on tensor values, NumPy calls, a tf.keras model), the model
is run in-process on a sample of the data, and its range is observed, not proven, as with
`--probe`; a sub-model it holds (a decoder) is still read statically where it bounds an output.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vaecheck.errors import VaecheckError, printable
from vaecheck.readers.model import ModelFile, parse_json
from vaecheck.readers.config import graph_from_config
from vaecheck.readers.weights import LayerVariables, WeightsUnavailable

IN_PROCESS_LOADER = "the live model, called in-process: model(x, training=False)"
OBSERVE_BATCH = 256


@dataclass(frozen=True)
class LiveModel:
    """What the live door gives the shared core.

    `model_file` holds the configuration read statically (None when nothing can be read);
    `weights` the variables in memory; `observe` runs the model on input rows when its range is
    not proven (a subclassed model that does not trace), else None.
    """

    name: str
    model_file: ModelFile | None
    weights: MemoryWeights | None
    observe: Callable[[Any], Any] | None = None
    untraced: str | None = None  # why call() could not be traced
    notes: tuple[str, ...] = ()


def flavour(model: Any) -> str:
    """"keras3" or "keras2" (tf_keras / tf.keras of TensorFlow < 2.16)."""
    modules = [getattr(c, "__module__", "") or "" for c in type(model).__mro__]
    if any(m.startswith(("tf_keras.", "tensorflow.python.keras.")) for m in modules):
        return "keras2"
    return "keras3"


def describe(model: Any) -> str:
    name = getattr(model, "name", None)
    shown = f" '{printable(str(name), 200)}'" if name else ""
    return f"<live {type(model).__name__}{shown}>"


def read_live_model(model: Any, inputs: Any = None) -> LiveModel:
    """The live door's view of `model`; `inputs` (rows of the data's x) give a subclassed model
    that recorded no input shape one to be traced on."""
    name = describe(model)
    if not getattr(model, "built", True):
        raise VaecheckError(
            "the model is not built, so it has no input shape yet: build it "
            "(model.build(input_shape)), give it a keras.Input, or call it once on a batch",
            name,
        )
    if flavour(model) == "keras2":
        return _read_keras2(model, name)
    return _read_keras3(model, name, inputs)


# Keras 3 ----------------------------------------------------------------------------------------
def _read_keras3(model: Any, name: str, inputs: Any) -> LiveModel:
    import keras

    version = keras.__version__
    if _is_graph_model(model):
        config = _serialized(model, name)
        return LiveModel(name, _model_file(name, config, version), MemoryWeights(model, "keras3"))
    try:
        traced = _trace(model, inputs)
    except _Untraceable as exc:
        reason = str(exc)
    else:
        config = _serialized(traced, name)
        # The compile configuration is the subclassed model's: the traced one was never compiled.
        compile_config = _compile_config(model)
        if compile_config is not None:
            config = {**config, "compile_config": compile_config}
        note = (
            f"{type(model).__name__}.call() was traced on keras.Input tensors: the range is "
            "proven from the layers and ops it calls"
        )
        return LiveModel(
            name,
            _model_file(name, config, version),
            MemoryWeights(traced, "keras3"),
            notes=(note,),
        )
    known = _known_parts(model, name, version)
    return LiveModel(
        name,
        known,
        MemoryWeights(model, "keras3") if known is not None else None,
        observe=lambda x: observe_outputs(model, x, name),
        untraced=reason,
    )


def _is_graph_model(model: Any) -> bool:
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential

    return isinstance(model, (Functional, Sequential))


def _serialized(model: Any, name: str) -> Mapping[str, Any]:
    import keras

    try:
        serialized = keras.saving.serialize_keras_object(model)
        text = json.dumps(serialized)  # as saving_lib writes config.json
    except Exception as exc:  # a layer's get_config can raise anything
        raise VaecheckError(
            f"Keras cannot serialize the model ({_first_line(exc)}); the model cannot be saved "
            "either",
            name,
        ) from None
    config = parse_json(text, name, "the model's configuration")
    if not isinstance(config, Mapping):
        raise VaecheckError("the model configuration is not a JSON object", name)
    return config


def _compile_config(model: Any) -> Mapping[str, Any] | None:
    import keras

    try:
        compile_config = model.get_compile_config()
        if compile_config is None:
            return None
        serialized = keras.saving.serialize_keras_object(compile_config)
        parsed = json.loads(json.dumps(serialized))
    except Exception:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def _model_file(
    name: str,
    config: Mapping[str, Any],
    version: str | None,
    training: Mapping[str, Any] | None = None,
    model_format: str = "keras",
) -> ModelFile:
    if training is None:
        found = config.get("compile_config")
        training = found if isinstance(found, Mapping) else None
    return ModelFile(
        path=name,
        format=model_format,
        keras_version=version,
        config=config,
        training=training,
        graph=graph_from_config(config, name),
    )


class _Untraceable(Exception):
    pass


def _trace(model: Any, sample: Any) -> Any:
    """A Functional model over `model`'s layers, from `model.call` on symbolic inputs."""
    import keras

    build = model.get_build_config() if hasattr(model, "get_build_config") else None
    shape = build.get("input_shape") if isinstance(build, Mapping) else None
    if shape is None and sample is not None:
        shape = _shapes_of(sample)
    if shape is None:
        raise _Untraceable("the model records no input shape")
    inputs = _symbolic_inputs(keras, shape)
    try:
        outputs = model.call(inputs)
        traced = keras.Model(inputs, outputs, name=model.name)
    except Exception as exc:  # whatever Python in call() raises on a symbolic tensor
        raise _Untraceable(f"{type(exc).__name__}: {_first_line(exc)}") from None
    return traced


def _shapes_of(sample: Any) -> Any:
    if isinstance(sample, Mapping):
        return {k: _shapes_of(v) for k, v in sample.items()}
    if isinstance(sample, (list, tuple)):
        return [_shapes_of(v) for v in sample]
    return [None, *np.shape(sample)[1:]]


def _symbolic_inputs(keras: Any, shape: Any) -> Any:
    if isinstance(shape, Mapping):
        return {k: _symbolic_inputs(keras, v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(
        isinstance(d, (int, type(None))) for d in shape
    ):
        return keras.Input(batch_shape=(None, *shape[1:]))
    if isinstance(shape, (list, tuple)) and shape:
        return [_symbolic_inputs(keras, s) for s in shape]
    raise _Untraceable(f"cannot read the input shape {shape!r}")


def _known_parts(model: Any, name: str, version: str) -> ModelFile | None:
    """The sub-models an untraceable subclassed model holds, as its saved configuration would
    give them to the graph reader (which prefers one named like a decoder)."""
    import keras

    parts: dict[str, Any] = {}
    for attribute, value in list(vars(model).items()):
        if attribute.startswith("_") or not _is_graph_model(value):
            continue
        parts[attribute] = keras.saving.serialize_keras_object(value)
    if not parts:
        return None
    config = {
        "module": None,
        "class_name": type(model).__name__,
        "config": {"name": model.name, **parts},
        "compile_config": _compile_config(model),
    }
    try:
        parsed = parse_json(json.dumps(config), name, "the model's configuration")
        model_file = _model_file(name, parsed, version)
    except (VaecheckError, TypeError, ValueError):
        return None
    return model_file if model_file.graph.outputs else None


# Keras 2 (tf_keras) -----------------------------------------------------------------------------
def _read_keras2(model: Any, name: str) -> LiveModel:
    import tf_keras

    version = tf_keras.__version__
    if not _keras2_graph_model(model):
        return LiveModel(
            name,
            None,
            None,
            observe=lambda x: observe_outputs(model, x, name),
            untraced="a subclassed tf.keras model: tf.keras records no layer graph for it",
        )
    try:
        from tf_keras.src.saving.legacy import saving_utils
        from tf_keras.src.saving.legacy.saved_model import json_utils

        # What `model.save("model.h5")` writes into the file's attributes.
        metadata = saving_utils.model_metadata(model, include_optimizer=True)
        config_text = json.dumps(metadata["model_config"], default=json_utils.get_json_type)
        training_text = (
            json.dumps(metadata["training_config"], default=json_utils.get_json_type)
            if metadata.get("training_config") is not None
            else None
        )
    except Exception as exc:
        raise VaecheckError(f"tf.keras cannot serialize the model ({_first_line(exc)})", name) from None
    config = parse_json(config_text, name, "model_config")
    training = parse_json(training_text, name, "training_config") if training_text else None
    return LiveModel(
        name,
        _model_file(name, config, version, training or {}, model_format="h5"),
        MemoryWeights(model, "keras2"),
    )


def _keras2_graph_model(model: Any) -> bool:
    return any(c.__name__ in ("Functional", "Sequential") for c in type(model).__mro__)


# Weights in memory ------------------------------------------------------------------------------
@dataclass
class MemoryWeights:
    """The range engine's weight source for a live model: each layer's variables, read from
    memory in the order and with the names its saved file would hold them."""

    root: Any
    kind: str  # "keras3": `save_own_variables` order, unnamed; "keras2": `layer.weights`, named
    _layers: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    def variables(self, layer_path: Sequence[str]) -> LayerVariables:
        layer = self._layer(tuple(layer_path))
        if self.kind == "keras3":
            store: dict[str, Any] = {}
            try:
                layer.save_own_variables(store)
            except Exception as exc:
                raise WeightsUnavailable(f"cannot read the layer's variables ({exc})") from None
            count = 0
            while str(count) in store:
                count += 1
            arrays = tuple(_as_array(store[str(i)]) for i in range(count))
            return LayerVariables(arrays, (None,) * count)
        weights = list(layer.weights)
        return LayerVariables(
            tuple(_as_array(w) for w in weights),
            tuple(re.sub(r":\d+$", "", str(w.name).rsplit("/", 1)[-1]) for w in weights),
        )

    def close(self) -> None:
        return None

    def _layer(self, path: tuple[str, ...]) -> Any:
        if not path:
            raise WeightsUnavailable("no such layer")
        if path in self._layers:
            return self._layers[path]
        current = self.root
        for step in path:
            current = _child_layer(current, step)
            if current is None:
                raise WeightsUnavailable(f"the model has no layer '{'/'.join(path)}'")
        self._layers[path] = current
        return current


def _child_layer(parent: Any, name: str) -> Any:
    get_layer = getattr(parent, "get_layer", None)
    if get_layer is not None:
        try:
            return get_layer(name)
        except (ValueError, KeyError):
            pass
    attribute = getattr(parent, name, None)  # a subclassed model's sub-model, by attribute
    if attribute is not None and hasattr(attribute, "weights"):
        return attribute
    for layer in getattr(parent, "layers", ()):
        if getattr(layer, "name", None) == name:
            return layer
    return None


def _as_array(variable: Any) -> np.ndarray:
    convert = getattr(variable, "numpy", None)
    if callable(convert):
        try:
            return np.asarray(convert())
        except Exception:
            pass
    try:
        import keras

        return np.asarray(keras.ops.convert_to_numpy(variable))
    except Exception:
        return np.asarray(variable)


# Observing an untraceable model -----------------------------------------------------------------
def observe_outputs(model: Any, inputs: Any, name: str) -> Any:
    """Run the model on input rows in-process; the extremes of each output, as a probe's."""
    from vaecheck.probe import DATA_INPUTS, ObservedOutput, ProbeResult

    start = time.perf_counter()
    rows = _rows(inputs)
    collected: dict[str, list[np.ndarray]] = {}
    for begin in range(0, rows, OBSERVE_BATCH):
        batch = _take(inputs, slice(begin, begin + OBSERVE_BATCH))
        try:
            produced = model(batch, training=False)
        except Exception as exc:
            raise VaecheckError(
                f"running the model on the data failed ({type(exc).__name__}: "
                f"{_first_line(exc)})",
                name,
            ) from None
        for output_name, value in _named_outputs(model, produced):
            collected.setdefault(output_name, []).append(_as_array(value))
    outputs = []
    for output_name, parts in collected.items():
        values = np.concatenate([p.reshape(len(p), -1) if p.ndim else p.reshape(1, 1) for p in parts])
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        outputs.append(
            ObservedOutput(
                name=output_name,
                shape=tuple(parts[0].shape[1:]),
                low=float(finite.min()) if finite.size else None,
                high=float(finite.max()) if finite.size else None,
                values=int(values.size),
                nonfinite=int(values.size - finite.size),
            )
        )
    backend, version = _backend_and_version(model)
    return ProbeResult(
        model=name,
        loader=IN_PROCESS_LOADER,
        inputs=DATA_INPUTS,
        samples=rows,
        safe_mode=True,
        backend=backend,
        keras_version=version,
        outputs=tuple(outputs),
        seconds=time.perf_counter() - start,
    )


def _rows(inputs: Any) -> int:
    if isinstance(inputs, Mapping):
        return min(len(v) for v in inputs.values())
    if isinstance(inputs, (list, tuple)):
        return min(len(v) for v in inputs)
    return len(inputs)


def _take(inputs: Any, rows: slice) -> Any:
    if isinstance(inputs, Mapping):
        return {k: v[rows] for k, v in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        return [v[rows] for v in inputs]
    return inputs[rows]


def _named_outputs(model: Any, produced: Any) -> list[tuple[str, Any]]:
    if isinstance(produced, Mapping):
        return [(str(k), v) for k, v in produced.items()]
    if isinstance(produced, (list, tuple)):
        names = list(getattr(model, "output_names", None) or [])
        if len(names) != len(produced):
            names = [f"output_{i}" for i in range(len(produced))]
        return list(zip(names, produced))
    return [(str(getattr(model, "name", "output")), produced)]


def _backend_and_version(model: Any) -> tuple[str, str]:
    if flavour(model) == "keras2":
        import tf_keras

        return "tensorflow", tf_keras.__version__
    import keras

    return keras.backend.backend(), keras.__version__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return printable(text.splitlines()[0], 300)


__all__ = ["LiveModel", "MemoryWeights", "observe_outputs", "read_live_model"]
