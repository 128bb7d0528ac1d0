"""The steps of checking one model against one data source: the outputs' codomains, the
losses, the statistics the checks ask for, the checks, the fixes and the report. The file door
(`api.check`) and the live door (`live/check.py`) both end here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vaecheck.checks import (
    OutputFacts,
    StatsRequest,
    run_checks,
    run_model_checks,
    statistics_needed,
)
from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.fixes import suggest_fix, with_range_fixes
from vaecheck.graph import LayerVariables, ModelOutput, TensorRef, WeightSource
from vaecheck.intervals import Interval
from vaecheck.losses import LossSpec, assign_losses
from vaecheck.ranges.evaluate import output_codomains
from vaecheck.readers.data import (
    DATA_SUFFIXES,
    DataSource,
    array_source,
    open_data,
    open_stream,
)
from vaecheck.readers.locations import redact
from vaecheck.readers.model import ModelFile
from vaecheck.report import (
    Finding,
    OutputResult,
    ProbeObservation,
    ProbeSummary,
    Report,
    SampleInfo,
    Severity,
)
from vaecheck.shapes import Shape, output_shape
from vaecheck.stats import (
    SAMPLE_SIZE,
    DataStats,
    measure_source,
    recognize,
    worst_features,
)
from vaecheck.target_shapes import targets_match

if TYPE_CHECKING:
    from vaecheck.cluster import DaskOptions
    from vaecheck.probe import ObservedOutput, ProbeOptions, ProbeResult
    from vaecheck.readers.rescaling import Rescaling

NO_SAVED_LOSS = (
    "the model holds no loss (saved without compile): the data is taken as values the outputs "
    "reproduce; --loss NAME states the loss and can change the verdict"
)


ONNX_NO_LOSS = "an ONNX model holds no loss: the checks about the loss run only with --loss"


SAVED_MODEL_UNKNOWN = "a SavedModel without Keras metadata: no Keras configuration to read"


@dataclass(frozen=True)
class _Candidate:
    output: ModelOutput
    label: str
    shape: Shape | None
    codomain: Codomain


def report_for(
    model_name: str,
    model_file: ModelFile | None,
    source: DataSource,
    *,
    stated: LossSpec | None,
    severities: Mapping[str, Severity] | None,
    enabled: Any,
    run_probe: Callable[[DataSource], ProbeResult] | None,
    seed: int | None,
    per_feature: bool | None,
    weights: WeightSource | None = None,
    unknown_reason: str = SAVED_MODEL_UNKNOWN,
    per_pixel: bool = False,
    rescaling: Rescaling | None = None,
    skipped_files: tuple[tuple[str, str], ...] = (),
    histogram: bool = True,
    model_findings: tuple[Finding, ...] = (),
    probe_note: tuple[str, ...] = (),
    dask: DaskOptions | None = None,
) -> Report:
    """The report on a model read (or, with `model_file` None, only run by `run_probe`) and a
    data source: the door-independent part of `check`. `weights` stand in for the file's.
    With `dask`, the data's statistics are measured on that Dask cluster."""
    if model_file is not None:
        candidates = _candidates(model_file, weights)
        losses, loss_notes = _losses(model_file, candidates, stated)
        selected, skipped = _match_shapes(candidates, source, losses, per_pixel)
    probed = run_probe(source) if run_probe is not None else None
    if model_file is None:
        assert probed is not None
        candidates = _probed_candidates(probed, unknown_reason)
        losses = {c.output.name: stated for c in candidates} if stated is not None else {}
        loss_notes = []
        selected, skipped = _match_shapes(candidates, source, losses, per_pixel)
    observed = _observed_outputs(candidates, selected, probed)

    # An ONNX range's ends allow for float32 rounding (a few steps past sigmoid's 1); the checks
    # and the fix judge the data against the exact ends.
    onnx_model = model_file is not None and model_file.format == "onnx"
    if onnx_model:
        from vaecheck.fixes_onnx import exact_ends, phrase_findings, phrased_for
    judged = {
        c.output.name: (exact_ends(c.codomain) if onnx_model else c.codomain) for c in selected
    }
    intervals = [c.interval for c in judged.values() if c.interval is not None]
    intervals += [c.codomain.interval for c in selected if c.codomain.interval is not None]
    intervals += [
        Interval.closed(o.low, o.high)
        for o in observed.values()
        if o.low is not None and o.high is not None
    ]
    # Row sums, label counts and the loss's own bounds are measured only when a check needs them.
    needed = StatsRequest.union(
        statistics_needed(losses.get(c.output.name), judged[c.output.name], c.shape) for c in selected
    )
    if dask is not None:
        from vaecheck.cluster import measure_on_dask
        from vaecheck.stats import StatsPlan

        plan = StatsPlan(
            source.shape,
            source.dtype,
            (*intervals, *needed.intervals),
            seed or 0,
            source.feature_names,
            tuple(needed.row_axes),
            tuple(needed.value_counts) if needed.value_counts is not None else None,
            SAMPLE_SIZE if histogram else 0,
        )
        stats = measure_on_dask(source, plan, dask)
    else:
        stats = measure_source(
            source,
            [*intervals, *needed.intervals],
            seed=seed,
            row_axes=needed.row_axes,
            value_counts=needed.value_counts,
            sample_size=SAMPLE_SIZE if histogram else 0,
        )
    kind = recognize(stats)

    framework = None
    if model_file is not None and model_file.format == "onnx":
        from vaecheck.fixes_onnx import framework_of

        framework = framework_of(model_file.config.get("producer_name"))
        if stated is None:
            loss_notes = [*loss_notes, ONNX_NO_LOSS]
    results = []
    for candidate in selected:
        codomain = judged[candidate.output.name]
        spec = losses.get(candidate.output.name)
        edges = stats.edges_for(codomain.interval) if codomain.interval is not None else None
        observation = _observation(observed.get(candidate.output.name), probed, stats)
        facts = OutputFacts(
            output=candidate.output.name,
            codomain=codomain,
            stats=stats,
            data_kind=kind,
            edges=edges,
            loss=spec,
            observed=observation,
            shape=candidate.shape,
        )
        findings = with_range_fixes(
            codomain, stats, kind, tuple(run_checks(facts, severities, enabled)), per_feature
        )
        fix = suggest_fix(codomain, stats, kind, findings, per_feature=per_feature)
        if framework is not None:  # an ONNX model: the fix in its framework's words
            findings = phrase_findings(findings, framework, codomain)
            fix = phrased_for(fix, framework, codomain)
        worst, reaching = (
            worst_features(stats.features, codomain.interval)
            if codomain.interval is not None
            else ((), 0)
        )
        results.append(
            OutputResult(
                name=candidate.output.name,
                label=candidate.label,
                shape=candidate.shape,
                codomain=candidate.codomain,
                findings=findings,
                fix=fix,
                loss=spec.name if spec else None,
                loss_spec=spec,
                targets_compared=facts.targets_are_output_values,
                probe=observation,
                worst_features=worst,
                features_outside=reaching,
            )
        )
    sampled = source.sampled_from is not None
    graph_notes = tuple(model_file.graph.notes) if model_file is not None else ()
    return Report(
        model=model_file.path if model_file is not None else model_name,
        data=redact(source.path),
        data_description=source.description,
        stats=stats,
        data_kind=kind,
        outputs=tuple(results),
        skipped_outputs=tuple(skipped),
        notes=(*graph_notes, *loss_notes, *probe_note),
        probe=_probe_summary(probed),
        sampled=sampled,
        rescaling=rescaling,
        skipped_files=skipped_files,
        sample=(
            SampleInfo(source.rows, source.sampled_from or source.rows, source.sample_seed)
            if sampled
            else None
        ),
        missing_chunks=source.missing_chunks,
        model_findings=model_findings,
    )


def model_safety_findings(
    model_file: ModelFile,
    severities: Mapping[str, Severity] | None = None,
    enabled: Iterable[str] | None = None,
    weights_file: bool = True,
) -> tuple[Finding, ...]:
    """The VC3xx findings of a model file: its configuration and its weights file's structure
    (a live model, whose weights are in memory, has no weights file to scan)."""
    from vaecheck.safety import model_facts

    hazards: Any = ()
    weights_note = None
    if weights_file:
        from vaecheck.readers.weights_scan import scan_weights

        hazards, weights_note = scan_weights(model_file.path, model_file.format)
    facts = model_facts(
        model_file.config,
        model_file.training,
        model_file.format,
        model_file.keras_version,
        hazards,
        weights_note,
    )
    selected = frozenset(enabled) if enabled is not None else None
    return tuple(run_model_checks(facts, severities, selected))


def _run_probe(
    model: str | os.PathLike[str], source: DataSource, options: ProbeOptions
) -> ProbeResult:
    from vaecheck.probe import probe_model, sample_rows

    return probe_model(model, sample_rows(source, options.samples), options)


def _probed_candidates(
    probed: ProbeResult, reason: str = SAVED_MODEL_UNKNOWN
) -> list[_Candidate]:
    """Outputs known only from running the model: their shapes are measured, ranges unknown."""
    return [
        _Candidate(
            output=ModelOutput(output.name, TensorRef(output.name)),
            label=output.name,
            shape=(None, *output.shape),
            codomain=Codomain.unknown(output.name, reason),
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


def _may_be_images(path: str) -> bool:
    """False for a local file named as data (.npy, .csv, ...), which readers/images would take
    for no image either (image and data suffixes differ): the image reader is not imported."""
    local_file = "://" not in path and os.path.isfile(path)
    return not (local_file and path.lower().endswith(DATA_SUFFIXES))


def _data_source(
    data: Any,
    key: str | None,
    columns: Any,
    follow_links: bool = False,
    images: Mapping[str, Any] | None = None,
) -> DataSource:
    if isinstance(data, (str, os.PathLike)) and _may_be_images(os.fspath(data)):
        from vaecheck.readers.images import is_image_location, open_images

        if is_image_location(os.fspath(data)):
            if key is not None or columns is not None:
                raise VaecheckError("--key and --columns do not apply to images", os.fspath(data))
            return open_images(os.fspath(data), follow_links=follow_links, **(images or {}))
    if isinstance(data, (str, os.PathLike)):
        return open_data(data, key=key, columns=columns, follow_links=follow_links)
    from vaecheck.cluster import dask_source, is_dask_collection

    if is_dask_collection(data):
        if key is not None or columns is not None:
            raise VaecheckError("key and columns select data in files, not in a Dask collection")
        return dask_source(data)
    import numpy as np

    if isinstance(data, np.ndarray):
        if key is not None or columns is not None:
            raise VaecheckError("key and columns select data in files, not in an array")
        return array_source(data)
    if hasattr(data, "read"):
        return open_stream(data, getattr(data, "name", None) or "<stream>")
    raise VaecheckError(
        f"data must be a path, a binary stream or a numpy array, not {type(data).__name__}"
    )


class _WeightsOnRequest:
    """The model file's weights reader, imported and opened on the first request: a model
    whose ranges need no weights (most end in a bounded activation) never loads it."""

    def __init__(self, model_file: ModelFile) -> None:
        self._model_file = model_file
        self._source: WeightSource | None = None

    def variables(self, layer_path: Sequence[str]) -> LayerVariables:
        if self._source is None:
            from vaecheck.readers.weights import open_weights

            model = self._model_file
            self._source = open_weights(model.path, model.format, model.config, model.keras_version)
        return self._source.variables(layer_path)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()


def _candidates(model_file: ModelFile, weights: WeightSource | None = None) -> list[_Candidate]:
    graph = model_file.graph
    # Opened lazily: a model whose ranges need no weights never reads them.
    if weights is None:
        weights = _WeightsOnRequest(model_file)
    try:
        codomains = output_codomains(graph, model_file.keras_version, weights)
    finally:
        weights.close()
    return [
        _Candidate(
            output=output,
            label=graph.nodes[output.ref.node].label,
            shape=output_shape(graph, output.ref),
            codomain=codomains[output.name],
        )
        for output in graph.outputs
    ]


def _losses(
    model_file: ModelFile, candidates: list[_Candidate], stated: LossSpec | None
) -> tuple[dict[str, LossSpec], list[str]]:
    """Each output's loss: the saved one, or the one the user stated, which wins."""
    names = [c.output.name for c in candidates]
    origin = "training_config" if model_file.format == "h5" else "compile_config"
    outputs = model_file.config.get("config")
    keyed = isinstance(outputs, Mapping) and isinstance(outputs.get("output_layers"), Mapping)
    saved = assign_losses(model_file.training, names, keyed_outputs=keyed, origin=origin)
    if stated is None:
        notes = list(saved.notes)
        if not saved.by_output and model_file.format != "onnx":  # ONNX never holds one
            # The loss decides what the data means (0 and 1 under binary cross-entropy are
            # intended, under mse they saturate a sigmoid): say that none was there to read.
            notes.append(NO_SAVED_LOSS)
        return dict(saved.by_output), notes
    notes = [
        f"--loss {stated.describe()} replaces the saved loss {spec.describe()} of '{name}'"
        for name, spec in saved.by_output.items()
        if spec != stated
    ]
    return {name: stated for name in names}, notes


def shapes_match(sample_shape: tuple[int, ...], output: Shape, loss: LossSpec | None = None) -> bool:
    """Whether data samples of `sample_shape` can be compared with this output, by the shape
    rules of Keras's losses (see `vaecheck.target_shapes`)."""
    return targets_match(tuple(sample_shape), tuple(output[1:]), loss)


def _match_shapes(
    candidates: list[_Candidate],
    source: DataSource,
    losses: Mapping[str, LossSpec],
    per_pixel: bool = False,
) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    sample_shape = tuple(source.shape[1:])
    selected = [
        c
        for c in candidates
        if c.shape is None
        or shapes_match(sample_shape, c.shape, losses.get(c.output.name))
        # Images of several sizes: an image output with as many channels takes them.
        or (per_pixel and len(c.shape) == 4 and c.shape[-1] == sample_shape[-1])
    ]
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
