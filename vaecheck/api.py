"""`check(model, data) -> Report`: the whole analysis, as the CLI and Python users call it."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vaecheck.checks import (
    OutputFacts,
    enabled_codes,
    run_checks,
)
from vaecheck.errors import VaecheckError
from vaecheck.losses import LossSpec, parse_loss_option
from vaecheck.readers.archive import refuse_link
from vaecheck.readers.data import (
    DataSource,
)
from vaecheck.readers.locations import is_url, redact
from vaecheck.pipeline import (
    _candidates,
    _data_source,
    _losses,
    _run_probe,
    model_safety_findings,
    report_for,
)
from vaecheck.readers.model import ModelFile, read_model
from vaecheck.report import (
    Finding,
    Fix,
    OutputResult,
    Report,
    Severity,
)
from vaecheck.shapes import output_shape

if TYPE_CHECKING:
    from vaecheck.probe import ProbeOptions
    from vaecheck.readers.rescaling import Rescaling


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
