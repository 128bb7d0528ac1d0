"""`check(model, data) -> Report`: the whole analysis, as the CLI and Python users call it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vaecheck.checks import OutputFacts, run_checks
from vaecheck.codomain import Codomain
from vaecheck.errors import VaecheckError
from vaecheck.fixes import suggest_fix
from vaecheck.graph import ModelOutput
from vaecheck.losses import LossSpec, canonical_loss_name, losses_by_output
from vaecheck.ops import output_codomains
from vaecheck.readers.data import DataSource, array_source, open_data
from vaecheck.readers.model import ModelFile, read_model
from vaecheck.readers.weights import open_weights
from vaecheck.report import OutputResult, Report, Severity
from vaecheck.shapes import Shape, output_shape
from vaecheck.stats import measure, recognize


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
) -> Report:
    """Check that `model`'s outputs can produce the values in `data`.

    `model` is the path of a `.keras` or `.h5` file; `data` a path (`.npy`, `.npz` with `key`)
    or a numpy array. Raises VaecheckError for input that cannot be used.
    """
    model_file = read_model(model)
    source = _data_source(data, key)
    candidates = _candidates(model_file)
    selected, skipped = _match_shapes(candidates, source)

    intervals = [c.codomain.interval for c in selected if c.codomain.interval is not None]
    stats = measure((block for _, block in source.chunks()), source.shape, source.dtype, intervals)
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
        results.append(
            OutputResult(
                name=candidate.output.name,
                label=candidate.label,
                shape=candidate.shape,
                codomain=codomain,
                findings=findings,
                fix=suggest_fix(codomain, stats, kind, findings),
                loss=spec.name if spec else None,
            )
        )
    return Report(
        model=model_file.path,
        data=source.path,
        data_description=source.description,
        stats=stats,
        data_kind=kind,
        outputs=tuple(results),
        skipped_outputs=tuple(skipped),
        notes=tuple(model_file.graph.notes),
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
