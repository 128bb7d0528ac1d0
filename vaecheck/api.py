"""`check(model, data) -> Report`: the whole analysis, as the CLI and Python users call it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vaecheck.checks import OutputFacts, StatsRequest, enabled_codes, run_checks, statistics_needed
from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.fixes import suggest_fix, with_range_fixes
from vaecheck.fixes_onnx import exact_ends, phrase_findings, phrased_for
from vaecheck.graph import ModelOutput, TensorRef
from vaecheck.intervals import Interval
from vaecheck.losses import LossSpec, assign_losses, parse_loss_option
from vaecheck.ops import output_codomains
from vaecheck.readers.archive import refuse_link
from vaecheck.readers.data import DataSource, array_source, open_data, open_stream
from vaecheck.readers.model import ModelFile, read_model
from vaecheck.readers.weights import open_weights
from vaecheck.report import (
    OutputResult,
    ProbeObservation,
    ProbeSummary,
    Report,
    SampleInfo,
    Severity,
)
from vaecheck.shapes import Shape, output_shape
from vaecheck.stats import DataStats, measure_source, recognize, worst_features

if TYPE_CHECKING:
    from vaecheck.probe import ObservedOutput, ProbeOptions, ProbeResult

ONNX_NO_LOSS = "an ONNX model holds no loss: the checks about the loss run only with --loss"
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
    loss: str | LossSpec | None = None,
    severities: Mapping[str, Severity] | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    probe: ProbeOptions | bool | None = None,
    columns: str | Sequence[str | int] | None = None,
    sample: int | None = None,
    seed: int | None = None,
    per_feature: bool | None = None,
    follow_links: bool = False,
) -> Report:
    """Check that `model`'s outputs can produce the values in `data`.

    `model` is the path of a `.keras`, `.h5` or `.onnx` file; `data` a path (`.npy`, `.npz` with `key`,
    `.csv`/`.tsv` with `columns`, an HDF5 dataset as `file.h5:/dataset` or with `key`, a
    directory or glob of shards, `-` for a .npy on standard input), a binary stream holding a
    .npy, or a numpy array. `sample` checks a uniform random sample of that many rows, drawn
    with `seed` (0 by default, so runs repeat). `per_feature` True gives per-feature rescaling
    vectors, False never, None when the features' ranges differ a lot. `loss` states the loss every output is trained with, for a file that
    holds none (`"binary_crossentropy"`, `"BinaryCrossentropy:from_logits"`, or a LossSpec);
    it replaces a saved one. `severities` overrides the default severity of checks by code;
    `select` runs only the checks with these codes, `ignore` skips some. With `probe`, the
    model is also loaded with Keras in a child process and run on a sample of the data (or on
    latent draws), and each output's observed range is set beside its codomain; a SavedModel
    directory without Keras metadata can only be checked so. `probe=True` probes with the
    defaults (safe mode on). A symbolic link, as `model`, as `data` or among shards, is
    refused unless `follow_links`. Raises VaecheckError for input that cannot be used.
    """
    try:
        enabled = enabled_codes(select, ignore)
    except ValueError as error:
        raise VaecheckError(str(error)) from None
    stated = parse_loss_option(loss) if isinstance(loss, str) else loss
    if probe is True:
        from vaecheck.probe import ProbeOptions

        probe = ProbeOptions()
    elif probe is False:
        probe = None
    if not follow_links:
        refuse_link(os.fspath(model), os.fspath(model))
    opaque = _is_opaque_saved_model(model)
    if opaque and probe is None:
        raise VaecheckError(
            "a TensorFlow SavedModel without Keras metadata (no keras_metadata.pb): it holds no "
            "Keras configuration to read; use --probe to measure what its outputs produce",
            os.fspath(model),
        )
    model_file = None if opaque else read_model(model, follow_links=follow_links)
    source = _data_source(data, key, columns, follow_links)
    if sample is not None:
        source = source.sample(sample, seed if seed is not None else 0)
    if model_file is not None:
        candidates = _candidates(model_file)
        losses, loss_notes = _losses(model_file, candidates, stated)
        selected, skipped = _match_shapes(candidates, source, losses)
    probed = _run_probe(model, source, probe) if probe is not None else None
    if model_file is None:
        assert probed is not None
        candidates = _probed_candidates(probed)
        losses = {c.output.name: stated for c in candidates} if stated is not None else {}
        loss_notes = []
        selected, skipped = _match_shapes(candidates, source, losses)
    observed = _observed_outputs(candidates, selected, probed)

    # An ONNX range's ends allow for float32 rounding (a few steps past sigmoid's 1); the checks
    # and the fix judge the data against the exact ends.
    onnx_model = model_file is not None and model_file.format == "onnx"
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
    stats = measure_source(
        source,
        [*intervals, *needed.intervals],
        seed=seed,
        row_axes=needed.row_axes,
        value_counts=needed.value_counts,
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
        model=model_file.path if model_file is not None else os.fspath(model),
        data=source.path,
        data_description=source.description,
        stats=stats,
        data_kind=kind,
        outputs=tuple(results),
        skipped_outputs=tuple(skipped),
        notes=(*graph_notes, *loss_notes),
        probe=_probe_summary(probed),
        sampled=sampled,
        sample=(
            SampleInfo(source.rows, source.sampled_from or source.rows, source.sample_seed)
            if sampled
            else None
        ),
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


def _data_source(data: Any, key: str | None, columns: Any, follow_links: bool = False) -> DataSource:
    if isinstance(data, (str, os.PathLike)):
        return open_data(data, key=key, columns=columns, follow_links=follow_links)
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


def _candidates(model_file: ModelFile) -> list[_Candidate]:
    graph = model_file.graph
    # Opened lazily: a model whose ranges need no weights never reads them.
    weights = open_weights(
        model_file.path, model_file.format, model_file.config, model_file.keras_version
    )
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
        return dict(saved.by_output), list(saved.notes)
    notes = [
        f"--loss {stated.describe()} replaces the saved loss {spec.describe()} of '{name}'"
        for name, spec in saved.by_output.items()
        if spec != stated
    ]
    return {name: stated for name in names}, notes


def shapes_match(sample_shape: tuple[int, ...], output: Shape, loss: LossSpec | None = None) -> bool:
    """Whether data samples of `sample_shape` can be compared with this output."""
    per_sample = output[1:]
    if len(per_sample) == len(sample_shape):
        if all(d is None or d == s for d, s in zip(per_sample, sample_shape)):
            return True
    # Class indices, (N,) or (N, 1) against (None, C): the targets of a categorical loss.
    if loss is not None and (loss.is_sparse_categorical or loss.is_categorical_crossentropy):
        leading = per_sample[:-1]
        for indices in (leading, (*leading, 1)):
            if len(indices) == len(sample_shape) and all(
                d is None or d == s for d, s in zip(indices, sample_shape)
            ):
                return True
    # 1-D targets against a one-unit output: Keras compares them after expanding the targets.
    return sample_shape == () and per_sample in ((1,), (None,))


def _match_shapes(
    candidates: list[_Candidate], source: DataSource, losses: Mapping[str, LossSpec]
) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    sample_shape = tuple(source.shape[1:])
    selected = [
        c
        for c in candidates
        if c.shape is None or shapes_match(sample_shape, c.shape, losses.get(c.output.name))
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
