"""`--save-rescale FILE`: the fix's rescaling, saved for the training script to load.

Four arrays, `scale`, `offset`, `inverse_scale` and `inverse_offset`, such that

    x_model = x * scale + offset          # before training
    x       = x_model * inverse_scale + inverse_offset

Each is a vector with one value per feature (the last axis) when the fix rescales feature by
feature, and a single number (a 0-d array in `.npz`) otherwise; both broadcast the same way.
`.npz` holds just those arrays (`np.load(FILE)["scale"]`); `.json` holds them with what they
are for. When no output needs its data rescaled, the identity is saved (scale 1, offset 0),
so that a pipeline can always load the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from vaecheck.errors import VaecheckError
from vaecheck.report import Fix, Report

SUFFIXES = (".npz", ".json")
FORMAT_VERSION = 1


def check_destination(path: str) -> None:
    """Refuse a destination that cannot be written, before any work is done."""
    if os.path.splitext(path)[1].lower() not in SUFFIXES:
        raise VaecheckError("--save-rescale writes a .npz or a .json file", path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise VaecheckError("--save-rescale: no such directory", path)


def rescale_arrays(report: Report) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The four arrays to save, and what they are for."""
    chosen: list[tuple[str, Fix]] = [
        (output.name, output.fix) for output in report.outputs if output.fix.rescale is not None
    ]
    arrays = [_arrays(fix) for _, fix in chosen]
    for (name, _), other in zip(chosen[1:], arrays[1:]):
        if not all(np.array_equal(arrays[0][k], other[k]) for k in arrays[0]):
            raise VaecheckError(
                f"outputs '{chosen[0][0]}' and '{name}' need different rescalings of the same "
                f"data; --save-rescale saves one"
            )
    if not chosen:
        identity = {"scale": 1.0, "offset": 0.0, "inverse_scale": 1.0, "inverse_offset": 0.0}
        about = {"needed": False, "output": None, "for_activation": None, "per_feature": False,
                 "target": None}
        return {k: np.array(v) for k, v in identity.items()}, about
    name, fix = chosen[0]
    assert fix.rescale is not None
    about = {
        "needed": True,
        "output": name,
        "for_activation": fix.rescale_for,
        "per_feature": fix.per_feature is not None,
        "target": [fix.rescale.target_low, fix.rescale.target_high],
    }
    return arrays[0], about


def save_rescale(report: Report, path: str) -> None:
    check_destination(path)
    arrays, about = rescale_arrays(report)
    directory = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1].lower()
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, suffix=suffix, prefix=".vaecheck-")
        try:
            with os.fdopen(handle, "wb") as stream:
                if suffix == ".npz":
                    np.savez(stream, **arrays)
                else:
                    document = {
                        "version": FORMAT_VERSION,
                        "model": report.model,
                        "data": report.data,
                        **about,
                        **{k: v.tolist() for k, v in arrays.items()},
                    }
                    stream.write((json.dumps(document, indent=2) + "\n").encode())
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise VaecheckError(f"--save-rescale cannot write the file ({exc.strerror})", path) from None


def _arrays(fix: Fix) -> dict[str, np.ndarray]:
    if fix.per_feature is not None:
        vectors = fix.per_feature
        return {
            "scale": np.asarray(vectors.scale, np.float64),
            "offset": np.asarray(vectors.offset, np.float64),
            "inverse_scale": np.asarray(vectors.inverse_scale, np.float64),
            "inverse_offset": np.asarray(vectors.inverse_offset, np.float64),
        }
    assert fix.rescale is not None
    rescale = fix.rescale
    return {
        "scale": np.array(rescale.scale),
        "offset": np.array(rescale.offset),
        "inverse_scale": np.array(rescale.inverse_scale),
        "inverse_offset": np.array(rescale.inverse_offset),
    }
