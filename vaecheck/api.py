"""`check(model, data) -> Report`: the whole analysis, as the CLI and Python users call it."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vaecheck.checks import (
    OutputFacts,
    StatsRequest,
    enabled_codes,
    run_checks,
    run_model_checks,
    statistics_needed,
)
from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.fixes import suggest_fix, with_range_fixes
from vaecheck.graph import LayerVariables, ModelOutput, TensorRef, WeightSource
from vaecheck.intervals import Interval
from vaecheck.losses import LossSpec, assign_losses, parse_loss_option
from vaecheck.ranges.evaluate import output_codomains
from vaecheck.readers.archive import refuse_link
from vaecheck.readers.data import (
    DATA_SUFFIXES,
    DataSource,
    array_source,
    open_data,
    open_stream,
)
from vaecheck.readers.model import ModelFile, read_model
from vaecheck.readers.locations import is_url, redact
from vaecheck.report import (
    Finding,
    Fix,
    OutputResult,
    ProbeObservation,
    ProbeSummary,
    Report,
    SampleInfo,
    Severity,
)
from vaecheck.shapes import Shape, output_shape
from vaecheck.stats import SAMPLE_SIZE, DataStats, measure_source, recognize, worst_features
from vaecheck.target_shapes import targets_match

if TYPE_CHECKING:
    from vaecheck.cluster import DaskOptions
    from vaecheck.readers.rescaling import Rescaling
    from vaecheck.probe import ObservedOutput, ProbeOptions, ProbeResult

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


def check(
    model: str | os.PathLike[str],
    data: Any = None,
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
    dask: Any = None,
    max_batches: int | None = None,
    rescaling: Rescaling | tuple[float, float] | str | None = None,
    color_mode: str | None = None,
    skip_bad: bool = False,
    histogram: bool = True,
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
    refused unless `follow_links`. `rescaling=(scale, offset)` states the map the training
    pipeline applies to the data (`x * scale + offset`, as `keras.layers.Rescaling`); the data
    is checked as the loss sees it. `model` and a `data` path may be URLs (s3://, gs://, az://,
    https://). A folder of images takes `color_mode` ("grayscale", "rgb", "rgba"; by default
    the channels of the model's output) and `skip_bad` (count unreadable images instead of
    stopping). `histogram` False keeps no sample of the values for the text report's
    histogram (`DataStats.sample` is empty), which the other formats never draw. Raises
    VaecheckError for input that cannot be used. `data` can also be a Dask array, dataframe or
    series, measured on the current Dask client; `dask` measures a file's statistics on a Dask
    cluster: True for the current client, a scheduler address, `"local:N"`, a Client, or
    cluster.DaskOptions.

    `model` may also be a live `keras.Model` (Keras 3 on any backend, or tf.keras), and `data`
    anything in memory: an array-like, a DataFrame, `(x, y)`, a `tf.data.Dataset`, a
    `PyDataset`, a generator of batches (see `vaecheck.live`), of which at most `max_batches`
    batches are read. Targets given as a dict by output name give one report per output, as a
    CheckRun.

    With `data` None the model is checked alone: each output's codomain, the loss checks that
    need no data, and the safety checks (VC3xx), which run on every model. When a safety check
    finds code Keras would run on loading, `probe` does not load the model unless it is
    unsafe (`--unsafe`): the report says why.
    """
    if color_mode is not None or skip_bad:
        _refuse_image_options(data, color_mode, skip_bad)
    if is_url(model):
        return _check_remote_model(
            str(model),
            data,
            key=key,
            loss=loss,
            severities=severities,
            select=select,
            ignore=ignore,
            probe=probe,
            columns=columns,
            sample=sample,
            seed=seed,
            per_feature=per_feature,
            follow_links=follow_links,
            rescaling=rescaling,
            color_mode=color_mode,
            skip_bad=skip_bad,
            histogram=histogram,
        )
    scaling = _as_rescaling(rescaling)
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
    if _is_live(model, data):
        from vaecheck.live.check import check_live

        return check_live(  # type: ignore[return-value]
            model,
            data,
            stated=stated,
            severities=severities,
            enabled=enabled,
            sample=sample,
            seed=seed,
            per_feature=per_feature,
            max_batches=max_batches,
            follow_links=follow_links,
            probe=probe,
            rescaling=scaling,
        )
    if not follow_links:
        refuse_link(os.fspath(model), os.fspath(model))
    opaque = _is_opaque_saved_model(model)
    if opaque and probe is None:
        raise VaecheckError(
            "a TensorFlow SavedModel without Keras metadata (no keras_metadata.pb): it holds no "
            "Keras configuration to read; use --probe to measure what its outputs produce",
            os.fspath(model),
        )
    if data is None and (opaque or probe is not None):
        raise VaecheckError(
            "--probe runs the model on DATA: give DATA, or check the model alone without --probe"
            if not opaque
            else "a TensorFlow SavedModel without Keras metadata can only be probed, which needs DATA",
            os.fspath(model),
        )
    try:
        model_file = None if opaque else read_model(model, follow_links=follow_links)
    except VaecheckError as error:
        raise _swapped(model, data) or error from None
    # The VC3xx checks read Keras configurations; an ONNX graph holds no code to load.
    model_findings = (
        model_safety_findings(model_file, severities, enabled)
        if model_file is not None and model_file.format != "onnx"
        else ()
    )
    if data is None:
        assert model_file is not None
        return _model_only(model_file, model_findings, stated, severities, enabled)
    probe, probe_note = _probe_if_safe(probe, model_findings)
    source = _data_source(
        data, key, columns, follow_links, _images_options(model_file, color_mode, skip_bad)
    )
    # Only an image folder imports readers/images, and only it makes sources of images.
    images = sys.modules.get("vaecheck.readers.images")
    per_pixel = images is not None and images.by_pixels(source)
    skipped_images = images.skipped_files(source) if images is not None else ()
    if sample is not None:
        seed_used = seed if seed is not None else 0
        source = (
            images.sample_images(source, sample, seed_used)
            if per_pixel
            else source.sample(sample, seed_used)
        )
    if scaling is not None:
        from vaecheck.readers.rescaling import rescaled

        source = rescaled(source, scaling)
    run_probe = (lambda chosen: _run_probe(model, chosen, probe)) if probe is not None else None
    return report_for(
        os.fspath(model),
        model_file,
        source,
        stated=stated,
        severities=severities,
        enabled=enabled,
        run_probe=run_probe,
        seed=seed,
        per_feature=per_feature,
        per_pixel=per_pixel,
        rescaling=scaling,
        skipped_files=skipped_images,
        histogram=histogram,
        model_findings=model_findings,
        probe_note=probe_note,
        dask=_on_dask(data, source, dask),
    )


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


def _probe_if_safe(
    probe: ProbeOptions | None, model_findings: tuple[Finding, ...]
) -> tuple[ProbeOptions | None, tuple[str, ...]]:
    """No probe in safe mode of a file that makes Keras run or read what it names."""
    if probe is None or not probe.safe_mode:
        return probe, ()
    # A third-party module may be the user's own unregistered code, given with --custom-objects.
    blocking = sorted(
        {
            f.code
            for f in model_findings
            if f.severity >= Severity.ERROR and f.evidence.get("origin") != "third-party"
        }
    )
    if not blocking:
        return probe, ()
    return None, (
        f"--probe did not load the model: {', '.join(blocking)} found what Keras would run or "
        "read on loading; only --probe --unsafe loads such a file, and only a trusted one",
    )


def _model_only(
    model_file: ModelFile,
    model_findings: tuple[Finding, ...],
    stated: LossSpec | None,
    severities: Mapping[str, Severity] | None,
    enabled: Iterable[str],
) -> Report:
    """The model without data: codomains, the checks that need no data, the safety findings."""
    candidates = _candidates(model_file)
    losses, loss_notes = _losses(model_file, candidates, stated)
    results = []
    for candidate in candidates:
        spec = losses.get(candidate.output.name)
        facts = OutputFacts(
            output=candidate.output.name,
            codomain=candidate.codomain,
            stats=None,
            data_kind=None,
            edges=None,
            loss=spec,
            shape=candidate.shape,
        )
        findings = tuple(run_checks(facts, severities, enabled))
        fixes = [f.fix for f in sorted(findings, key=lambda f: -f.severity) if f.fix is not None]
        results.append(
            OutputResult(
                name=candidate.output.name,
                label=candidate.label,
                shape=candidate.shape,
                codomain=candidate.codomain,
                findings=findings,
                fix=fixes[0] if fixes else Fix("none", "no data given: nothing was compared"),
                loss=spec.name if spec else None,
                loss_spec=spec,
                targets_compared=False,
            )
        )
    return Report(
        model=model_file.path,
        data=None,
        data_description="no data (the model alone)",
        stats=None,
        data_kind=None,
        outputs=tuple(results),
        notes=(*model_file.graph.notes, *loss_notes),
        model_findings=model_findings,
    )


def _swapped(model: str | os.PathLike[str], data: Any) -> VaecheckError | None:
    """The error for a model that is no model while the data is one: the two are swapped."""
    from vaecheck.readers.model import looks_like_model

    if not isinstance(data, (str, os.PathLike)) or not os.path.lexists(model):
        return None
    model_path, data_path = os.fspath(model), os.fspath(data)
    if not looks_like_model(data_path):
        return None
    return VaecheckError(
        f"MODEL and DATA look swapped: '{data_path}' is a saved Keras model and "
        f"'{model_path}' is not; the model comes first ({data_path} then {model_path})"
    )


def _as_rescaling(rescaling: Any) -> Rescaling | None:
    """`readers.rescaling.as_rescaling`, imported only when a rescaling is given."""
    if rescaling is None:
        return None
    from vaecheck.readers.rescaling import as_rescaling

    return as_rescaling(rescaling)


def _is_live(model: Any, data: Any) -> bool:
    """A model object or in-memory data other than a numpy array: the live door (no framework
    is imported to tell)."""
    paths = (str, os.PathLike)
    if isinstance(model, paths) and (data is None or isinstance(data, paths)):
        return False  # files: the live door's detection is not even imported
    from vaecheck.cluster import is_dask_collection
    from vaecheck.live.detect import is_live_data, is_live_model

    # A Dask collection is measured where its blocks are, not read into this process.
    return is_live_model(model) or (
        data is not None and is_live_data(data) and not is_dask_collection(data)
    )


def _check_remote_model(url: str, data: Any, **options: Any) -> Report:
    """Check a model in remote storage: read from a private local copy, reported by its URL."""
    from dataclasses import replace

    from vaecheck.readers.remote import local_copy

    shown = redact(url)
    with local_copy(url, "the model") as local:
        try:
            report = check(local, data, **options)
        except VaecheckError as error:
            path = shown if error.path == local else error.path
            raise VaecheckError(error.problem.replace(local, shown), path) from None
    return replace(report, model=shown)


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


def _on_dask(data: Any, source: DataSource, dask: Any) -> Any:
    """The Dask options to measure `source` with, or None to measure it here.

    A Dask collection is measured on the current client unless told otherwise; a sample of one
    is small and already here."""
    if dask is None and isinstance(data, (str, os.PathLike)):
        return None  # files measured here: the cluster code is not even imported
    from vaecheck.cluster import DaskOptions, dask_options, is_dask_collection

    options = dask_options(dask)
    if is_dask_collection(data):
        if source.sampled_from is not None:
            return None
        return options or DaskOptions()
    return options


def _refuse_image_options(data: Any, color_mode: str | None, skip_bad: bool) -> None:
    """`color_mode` and `skip_bad` decode images: for other data they would change nothing,
    and a check that silently ignores what it was told is a check of something else."""
    from vaecheck.readers.images import is_image_location

    if isinstance(data, (str, os.PathLike)) and is_image_location(os.fspath(data)):
        return
    given = [name for name, used in (("color_mode=", color_mode is not None), ("skip_bad=", skip_bad)) if used]
    verb = "apply" if len(given) > 1 else "applies"
    if data is None:
        what = "a model checked alone (no data)"
    elif isinstance(data, (str, os.PathLike)):
        what = "this data"
    else:
        what = f"data given as {type(data).__name__}"
    path = os.fspath(data) if isinstance(data, (str, os.PathLike)) else None
    raise VaecheckError(
        f"{' and '.join(given)} {verb} to images (an image file, or a folder of them), not to {what}",
        path,
    )


def _images_options(
    model_file: ModelFile | None, color_mode: str | None, skip_bad: bool
) -> dict[str, Any]:
    """How to decode a folder of images: the colour mode given, or else the channels of the
    model's image outputs (rank 4, with 1, 3 or 4 channels)."""
    channels: tuple[int, ...] = ()
    if color_mode is None and model_file is not None:
        graph = model_file.graph
        shapes = [output_shape(graph, output.ref) for output in graph.outputs]
        channels = tuple(
            dict.fromkeys(
                shape[-1] for shape in shapes if shape is not None and len(shape) == 4 and shape[-1] in (1, 3, 4)
            )
        )
    return {"color_mode": color_mode, "channels": channels, "skip_bad": skip_bad}


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


# --- the Python API's own words ----------------------------------------------------------------
# Readers and checks word their errors for the command line (`--key`, `--probe`); a Python
# caller passed keyword arguments, so `vaecheck.check` names those instead.
_API_TERMS = (
    (re.compile(r"--(key|columns|loss|sample|seed) ('[^']*'|\d+\b)"), r"\1=\2"),
    (re.compile(r"--(key|columns|loss|sample|seed|follow-links|per-feature)\b"), None),
    (re.compile(r"--probe-samples\b"), "ProbeOptions(samples=...)"),
    (re.compile(r"--probe-timeout\b"), "ProbeOptions(timeout=...)"),
    (re.compile(r"--custom-objects\b"), "ProbeOptions(custom_objects=...)"),
    (re.compile(r"--unsafe\b"), "ProbeOptions(safe_mode=False)"),
    (re.compile(r"--probe\b"), "probe=True"),
    (re.compile(r"--dask-timeout\b"), "DaskOptions(timeout=...)"),
    (re.compile(r"--dask ('[^']*')"), r"dask=\1"),
    (re.compile(r"--dask\b"), "dask=..."),
    (re.compile(r"\bMODEL and DATA\b"), "model and data"),
)
_FLAG_VALUES = {"follow-links": "follow_links=True", "per-feature": "per_feature=True"}


def in_api_terms(message: str) -> str:
    """A message written for the command line, with its flags named as `check()`'s arguments."""
    for pattern, replacement in _API_TERMS:
        if replacement is None:
            message = pattern.sub(
                lambda m: _FLAG_VALUES.get(m.group(1), f"{m.group(1)}=..."), message
            )
        else:
            message = pattern.sub(replacement, message)
    return message


@functools.wraps(check)
def api_check(*args: Any, **kwargs: Any) -> Report:
    try:
        return check(*args, **kwargs)
    except VaecheckError as error:
        translated = in_api_terms(error.problem)
        if translated == error.problem:
            raise
        raise VaecheckError(translated, error.path) from None
