"""`check(model, data) -> Report`: the whole analysis, as the CLI and Python users call it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vaecheck.checks import OutputFacts, run_checks
from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.fixes import suggest_fix
from vaecheck.graph import ModelOutput, TensorRef
from vaecheck.intervals import Interval
from vaecheck.losses import LossSpec, canonical_loss_name, losses_by_output
from vaecheck.ops import output_codomains
from vaecheck.readers.data import DataSource, array_source, open_data
from vaecheck.readers.model import ModelFile, read_model
from vaecheck.report import OutputResult, ProbeObservation, ProbeSummary, Report, Severity
from vaecheck.shapes import Shape, output_shape
from vaecheck.stats import DataStats, measure, recognize

if TYPE_CHECKING:
    from vaecheck.probe import ObservedOutput, ProbeOptions, ProbeResult

SAVED_MODEL_UNKNOWN = "a SavedModel without Keras metadata: no Keras configuration to read"


@dataclass(frozen=True)
class _Candidate:
    output: ModelOutput
    label: str
    shape: Shape | None
    codomain: Codomain


def check(
    model: str | os.PathLike[str],
    data: Any,
    *,
    key: str | None = None,
    loss: str | None = None,
    severities: Mapping[str, Severity] | None = None,
    probe: ProbeOptions | bool | None = None,
) -> Report:
    """Check that `model`'s outputs can produce the values in `data`.

    `model` is the path of a `.keras` or `.h5` file; `data` a path (`.npy`, `.npz` with `key`)
    or a numpy array. With `probe`, the model is also loaded with Keras in a child process and
    run on a sample of the data (or on latent draws), and each output's observed range is set
    beside its codomain; a SavedModel directory without Keras metadata can only be checked so.
    `probe=True` probes with the defaults (safe mode on). Raises VaecheckError for input that
    cannot be used.
    """
    if probe is True:
        from vaecheck.probe import ProbeOptions

        probe = ProbeOptions()
    elif probe is False:
        probe = None
    opaque = _is_opaque_saved_model(model)
    if opaque and probe is None:
        raise VaecheckError(
            "a TensorFlow SavedModel without Keras metadata (no keras_metadata.pb): it holds no "
            "Keras configuration to read; use --probe to measure what its outputs produce",
            os.fspath(model),
        )
    model_file = None if opaque else read_model(model)
    source = _data_source(data, key)
    if model_file is not None:
        candidates = _candidates(model_file)
        selected, skipped = _match_shapes(candidates, source)
    probed = _run_probe(model, source, probe) if probe is not None else None
    if model_file is None:
        assert probed is not None
        candidates = _probed_candidates(probed)
        selected, skipped = _match_shapes(candidates, source)
    observed = _observed_outputs(candidates, selected, probed)

    intervals = [c.codomain.interval for c in selected if c.codomain.interval is not None]
    intervals += [
        Interval.closed(o.low, o.high)
        for o in observed.values()
        if o.low is not None and o.high is not None
    ]
    stats = measure((block for _, block in source.chunks()), source.shape, source.dtype, intervals)
    kind = recognize(stats)
    training = model_file.training if model_file is not None else None
    losses = losses_by_output(training, [c.output.name for c in candidates])
    if loss is not None:
        losses = {c.output.name: LossSpec(canonical_loss_name(loss)) for c in candidates}

    results = []
    for candidate in selected:
        codomain = candidate.codomain
        edges = stats.edges_for(codomain.interval) if codomain.interval is not None else None
        observation = _observation(observed.get(candidate.output.name), probed, stats)
        facts = OutputFacts(
            output=candidate.output.name,
            codomain=codomain,
            stats=stats,
            data_kind=kind,
            edges=edges,
            loss=losses.get(candidate.output.name),
            observed=observation,
        )
        findings = tuple(run_checks(facts, severities))
        spec = losses.get(candidate.output.name)
        results.append(
            OutputResult(
                name=candidate.output.name,
                label=candidate.label,
                shape=candidate.shape,
                codomain=codomain,
                findings=findings,
                fix=suggest_fix(codomain, stats, kind, findings),
                loss=spec.name if spec else None,
                probe=observation,
            )
        )
    return Report(
        model=model_file.path if model_file is not None else os.fspath(model),
        data=source.path,
        data_description=source.description,
        stats=stats,
        data_kind=kind,
        outputs=tuple(results),
        skipped_outputs=tuple(skipped),
        notes=tuple(model_file.graph.notes) if model_file is not None else (),
        probe=_probe_summary(probed),
    )


def _is_opaque_saved_model(model: str | os.PathLike[str]) -> bool:
    """A SavedModel directory with no Keras configuration at all (Keras 3 `model.export()`)."""
    if not os.path.isdir(model):
        return False
    from vaecheck.probe import has_keras_metadata, is_saved_model_dir

    has_config = os.path.isfile(os.path.join(model, "config.json"))
    return is_saved_model_dir(model) and not has_keras_metadata(model) and not has_config


def _run_probe(
    model: str | os.PathLike[str], source: DataSource, options: ProbeOptions
) -> ProbeResult:
    from vaecheck.probe import probe_model, sample_rows

    return probe_model(model, sample_rows(source, options.samples), options)


def _probed_candidates(probed: ProbeResult) -> list[_Candidate]:
    """Outputs known only from running the model: their shapes are measured, ranges unknown."""
    return [
        _Candidate(
            output=ModelOutput(output.name, TensorRef(output.name)),
            label=output.name,
            shape=(None, *output.shape),
            codomain=Codomain.unknown(output.name, SAVED_MODEL_UNKNOWN),
        )
        for output in probed.outputs
    ]


def _observed_outputs(
    candidates: list[_Candidate], selected: list[_Candidate], probed: ProbeResult | None
) -> dict[str, ObservedOutput]:
    if probed is None:
        return {}
    from vaecheck.probe import match_outputs

    # Matched over every output, so that matching by position sees the model's whole structure.
    matched = match_outputs([c.output.name for c in candidates], probed)
    return {c.output.name: matched[c.output.name] for c in selected if c.output.name in matched}


def _observation(
    output: ObservedOutput | None, probed: ProbeResult | None, stats: DataStats
) -> ProbeObservation | None:
    if output is None or probed is None:
        return None
    count_outside = fraction_outside = None
    if output.low is not None and output.high is not None:
        edges = stats.edges_for(Interval.closed(output.low, output.high))
        if edges is not None:
            count_outside = edges.outside
            fraction_outside = edges.outside / stats.finite if stats.finite else 0.0
    return ProbeObservation(
        low=output.low,
        high=output.high,
        samples=probed.samples,
        inputs=probed.inputs,
        safe_mode=probed.safe_mode,
        values=output.values,
        nonfinite=output.nonfinite,
        count_outside=count_outside,
        fraction_outside=fraction_outside,
    )


def _probe_summary(probed: ProbeResult | None) -> ProbeSummary | None:
    if probed is None:
        return None
    return ProbeSummary(
        loader=probed.loader,
        backend=probed.backend,
        keras_version=probed.keras_version,
        safe_mode=probed.safe_mode,
        inputs=probed.inputs,
        samples=probed.samples,
        seconds=probed.seconds,
        saved_model=probed.saved_model,
    )


def _data_source(data: Any, key: str | None) -> DataSource:
    if isinstance(data, (str, os.PathLike)):
        return open_data(data, key=key)
    import numpy as np

    if isinstance(data, np.ndarray):
        return array_source(data)
    raise VaecheckError(f"data must be a path or a numpy array, not {type(data).__name__}")


def _candidates(model_file: ModelFile) -> list[_Candidate]:
    graph = model_file.graph
    codomains = output_codomains(graph, model_file.keras_version)
    return [
        _Candidate(
            output=output,
            label=graph.nodes[output.ref.node].label,
            shape=output_shape(graph, output.ref),
            codomain=codomains[output.name],
        )
        for output in graph.outputs
    ]


def shapes_match(sample_shape: tuple[int, ...], output: Shape) -> bool:
    """Whether data samples of `sample_shape` can be compared with this output."""
    per_sample = output[1:]
    if len(per_sample) == len(sample_shape):
        return all(d is None or d == s for d, s in zip(per_sample, sample_shape))
    # 1-D targets against a one-unit output: Keras compares them after expanding the targets.
    return sample_shape == () and per_sample in ((1,), (None,))


def _match_shapes(
    candidates: list[_Candidate], source: DataSource
) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    sample_shape = tuple(source.shape[1:])
    selected = [c for c in candidates if c.shape is None or shapes_match(sample_shape, c.shape)]
    if not selected:
        shown = "; ".join(f"'{c.output.name}' {_fmt_shape(c.shape)}" for c in candidates)
        raise VaecheckError(
            f"samples have shape {_fmt_shape((None, *sample_shape))}, which matches no model "
            f"output ({shown})",
            source.path,
        )
    skipped = [
        (c.output.name, f"shape {_fmt_shape(c.shape)} differs from the data's")
        for c in candidates
        if c not in selected
    ]
    return selected, skipped


def _fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "(unknown)"
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"
