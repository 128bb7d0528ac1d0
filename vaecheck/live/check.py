"""`check(model, data)` for a live model or in-memory data: the file path's core, other doors."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any

from vaecheck.errors import VaecheckError
from vaecheck.live.data import LiveData, read_live_data
from vaecheck.live.detect import is_live_model
from vaecheck.live.model import LiveModel, read_live_model
from vaecheck.losses import LossSpec
from vaecheck.readers.data import DataSource
from vaecheck.report import CheckRun, Fix, Report, Severity

UNTRACED = (
    "a subclassed model whose call() could not be traced ({why}): its range is observed by "
    "running it on the data, not proven"
)


def check_live(
    model: Any,
    data: Any,
    *,
    stated: LossSpec | None,
    severities: Mapping[str, Severity] | None,
    enabled: Any,
    sample: int | None,
    seed: int | None,
    per_feature: bool | None,
    max_batches: int | None,
    follow_links: bool,
    probe: Any,
    rescaling: Any = None,
) -> Report | CheckRun:
    """A live model, a saved one, or either with in-memory data. With targets given per output
    (a dict), one report per output, as a CheckRun."""
    from vaecheck.pipeline import SAVED_MODEL_UNKNOWN, _run_probe, model_safety_findings, report_for
    from vaecheck.readers.model import read_model
    from vaecheck.readers.rescaling import rescaled

    live_data = _data(data, max_batches, follow_links)
    live_model: LiveModel | None = None
    if is_live_model(model):
        live_model = read_live_model(model, live_data.inputs)
        model_name = live_model.name
        model_file = live_model.model_file
    else:
        if not isinstance(model, (str, os.PathLike)):
            raise VaecheckError(
                f"model must be a path or a keras.Model, not {type(model).__name__}"
            )
        model_name = os.fspath(model)
        model_file = read_model(model, follow_links=follow_links)

    model_findings = (
        model_safety_findings(model_file, severities, enabled, weights_file=live_model is None)
        if model_file is not None
        else ()
    )
    targets = live_data.targets
    if isinstance(targets, dict) and live_data.targets_are_inputs and len(targets) == 1:
        # An autoencoder fed a dict of one named input: its targets are that input.
        targets = next(iter(targets.values()))
    by_output = targets if isinstance(targets, dict) else {None: targets}

    reports = []
    for output, source in by_output.items():
        source = rescaled(_sampled(source, sample, seed), rescaling)
        chosen_file = model_file
        if output is not None:
            chosen_file = _only_output(model_file, output, model_name)
        run_probe, reason = None, SAVED_MODEL_UNKNOWN
        if live_model is not None and live_model.observe is not None:
            observe = live_model.observe
            inputs = live_data.inputs
            run_probe = lambda _source, observe=observe, inputs=inputs: observe(inputs)  # noqa: E731
            reason = UNTRACED.format(why=live_model.untraced)
        elif probe is not None and live_model is None:
            probed_rows = _probe_rows(live_data)
            run_probe = lambda chosen, probe=probe, rows=probed_rows: _run_probe(  # noqa: E731
                model, rows or chosen, probe
            )
        report = report_for(
            model_name,
            chosen_file,
            source,
            stated=stated,
            severities=severities,
            enabled=enabled,
            run_probe=run_probe,
            seed=seed,
            per_feature=per_feature,
            weights=live_model.weights if live_model is not None else None,
            unknown_reason=reason,
            rescaling=rescaling,
            model_findings=model_findings,
        )
        if live_model is not None and live_model.weights is not None:
            report = weights_in_memory(report)
        extra = tuple(live_model.notes) if live_model is not None else ()
        if live_data.read_note:
            extra += (live_data.read_note,)
        if live_model is not None and live_model.observe is not None:
            extra += (reason[0].upper() + reason[1:],)
        if extra:
            report = dataclasses.replace(report, notes=(*report.notes, *extra))
        reports.append(report)
    if len(reports) == 1:
        return reports[0]
    return CheckRun(tuple(reports))


# Where the range engine's prose says the weights came from: a file, for the file door.
_WEIGHTS_PROSE = (
    ("for the weights in this file", "for the weights the model holds now"),
    ("the saved weights of", "the weights in memory of"),
    ("(saved weights)", "(weights in memory)"),
)


def _in_memory_text(text: str) -> str:
    for saved, live in _WEIGHTS_PROSE:
        text = text.replace(saved, live)
    return text


def weights_in_memory(report: Report) -> Report:
    """The report with the prose that says where weights came from saying: from memory."""
    outputs = []
    for output in report.outputs:
        codomain = dataclasses.replace(
            output.codomain,
            bounded_by=tuple(map(_in_memory_text, output.codomain.bounded_by)),
            notes=tuple(map(_in_memory_text, output.codomain.notes)),
        )
        findings = tuple(
            dataclasses.replace(f, message=_in_memory_text(f.message), fix=_fix_in_memory(f.fix))
            for f in output.findings
        )
        outputs.append(
            dataclasses.replace(
                output, codomain=codomain, findings=findings, fix=_fix_in_memory(output.fix)
            )
        )
    return dataclasses.replace(report, outputs=tuple(outputs))


def _fix_in_memory(fix: Fix | None) -> Any:
    if fix is None:
        return None
    alternative = _in_memory_text(fix.alternative) if fix.alternative is not None else None
    return dataclasses.replace(fix, summary=_in_memory_text(fix.summary), alternative=alternative)


def _data(data: Any, max_batches: int | None, follow_links: bool) -> LiveData:
    if isinstance(data, (str, os.PathLike)) or hasattr(data, "read") or _is_ndarray(data):
        from vaecheck.pipeline import _data_source
        from vaecheck.live.data import INPUT_SAMPLE_ROWS
        from vaecheck.probe import sample_rows

        source = _data_source(data, None, None, follow_links)
        return LiveData(source, sample_rows(source, INPUT_SAMPLE_ROWS), source.path, None, True)
    return read_live_data(data, max_batches=max_batches)


def _probe_rows(live_data: LiveData) -> DataSource | None:
    """What a probe runs a saved model on: the inputs when targets are not the inputs."""
    import numpy as np

    from vaecheck.readers.data import array_source

    if live_data.targets_are_inputs or not isinstance(live_data.inputs, np.ndarray):
        return None
    return array_source(live_data.inputs, live_data.origin)


def _is_ndarray(data: Any) -> bool:
    import numpy as np

    return isinstance(data, np.ndarray)


def _sampled(source: DataSource, sample: int | None, seed: int | None) -> DataSource:
    if sample is None:
        return source
    return source.sample(sample, seed if seed is not None else 0)


def _only_output(model_file: Any, output: str, model_name: str) -> Any:
    """The model read with only the output `output`, for targets given by output name."""
    if model_file is None:
        return None
    names = [o.name for o in model_file.graph.outputs]
    if output not in names:
        raise VaecheckError(
            f"the targets name an output '{output}' the model does not have (outputs: "
            f"{', '.join(names)})",
            model_name,
        )
    graph = dataclasses.replace(
        model_file.graph, outputs=[o for o in model_file.graph.outputs if o.name == output]
    )
    return dataclasses.replace(model_file, graph=graph)


def live_arguments_given(model: Any, data: Any) -> bool:
    """Whether `check` must take the live door: a model object, or data that is not a file."""
    from vaecheck.live.detect import is_live_data

    return is_live_model(model) or is_live_data(data)


__all__: Iterable[str] = ["check_live", "live_arguments_given"]
