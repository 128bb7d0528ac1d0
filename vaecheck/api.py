"""`check(model, data) -> Report`: the whole analysis, as the CLI and Python users call it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vaecheck.checks import OutputFacts, run_checks
from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.fixes import suggest_fix
from vaecheck.graph import ModelOutput
from vaecheck.losses import LossSpec, canonical_loss_name, losses_by_output
from vaecheck.ops import output_codomains
from vaecheck.readers.data import DataSource, array_source, open_data, open_stream
from vaecheck.readers.model import ModelFile, read_model
from vaecheck.report import OutputResult, Report, SampleInfo, Severity
from vaecheck.shapes import Shape, output_shape
from vaecheck.stats import measure_source, recognize, worst_features


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
    columns: str | Sequence[str | int] | None = None,
    sample: int | None = None,
    seed: int | None = None,
    per_feature: bool | None = None,
) -> Report:
    """Check that `model`'s outputs can produce the values in `data`.

    `model` is the path of a `.keras` or `.h5` file; `data` a path (`.npy`, `.npz` with `key`,
    `.csv`/`.tsv` with `columns`, an HDF5 dataset as `file.h5:/dataset` or with `key`, a
    directory or glob of shards, `-` for a .npy on standard input), a binary stream holding a
    .npy, or a numpy array. `sample` checks a uniform random sample of that many rows, drawn
    with `seed` (0 by default, so runs repeat). `per_feature` True gives per-feature rescaling
    vectors, False never, None when the features' ranges differ a lot. Raises VaecheckError
    for input that cannot be used.
    """
    model_file = read_model(model)
    source = _data_source(data, key, columns)
    if sample is not None:
        source = source.sample(sample, seed if seed is not None else 0)
    candidates = _candidates(model_file)
    selected, skipped = _match_shapes(candidates, source)

    intervals = [c.codomain.interval for c in selected if c.codomain.interval is not None]
    stats = measure_source(source, intervals, seed=seed)
    kind = recognize(stats)
    losses = losses_by_output(model_file.training, [c.output.name for c in candidates])
    if loss is not None:
        losses = {c.output.name: LossSpec(canonical_loss_name(loss)) for c in candidates}

    results = []
    for candidate in selected:
        codomain = candidate.codomain
        edges = stats.edges_for(codomain.interval) if codomain.interval is not None else None
        facts = OutputFacts(
            output=candidate.output.name,
            codomain=codomain,
            stats=stats,
            data_kind=kind,
            edges=edges,
            loss=losses.get(candidate.output.name),
        )
        findings = tuple(run_checks(facts, severities))
        spec = losses.get(candidate.output.name)
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
                codomain=codomain,
                findings=findings,
                fix=suggest_fix(codomain, stats, kind, findings, per_feature=per_feature),
                loss=spec.name if spec else None,
                worst_features=worst,
                features_outside=reaching,
            )
        )
    sampled = source.sampled_from is not None
    return Report(
        model=model_file.path,
        data=source.path,
        data_description=source.description,
        stats=stats,
        data_kind=kind,
        outputs=tuple(results),
        skipped_outputs=tuple(skipped),
        notes=tuple(model_file.graph.notes),
        sampled=sampled,
        sample=(
            SampleInfo(source.rows, source.sampled_from or source.rows, source.sample_seed)
            if sampled
            else None
        ),
    )


def _data_source(data: Any, key: str | None, columns: Any) -> DataSource:
    if isinstance(data, (str, os.PathLike)):
        return open_data(data, key=key, columns=columns)
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
