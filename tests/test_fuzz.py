"""Property tests of every reader on hostile input: it succeeds or raises VaecheckError.

A small budget runs in the suite; tests/fuzz/fuzz_readers.py runs the same readers with large
budgets (atheris, coverage-guided), by hand.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz.strategies import (  # noqa: E402
    SHAPELESS_ACTIVATIONS,
    analyse_config,
    check_and_render,
    base_configs,
    config_text,
    consume,
    csv_texts,
    mutated_configs,
    npy_headers,
    npz_archives,
    only_vaecheck_errors,
    read_data_file,
    write_shapeless_model,
)

BUDGET = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_the_base_configurations_are_valid_models():
    # The mutations start from models the whole static path accepts: a rejection of a mutant
    # then says something about the mutation, not about a broken starting point.
    for config in base_configs():
        analyse_config(config_text(config))


@BUDGET
@given(mutated_configs())
def test_config_reader_and_range_engine_on_mutated_configs(config):
    only_vaecheck_errors(lambda: analyse_config(config_text(config)))


@BUDGET
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_config_reader_on_arbitrary_bytes(data):
    only_vaecheck_errors(lambda: analyse_config(data))


@BUDGET
@given(npy_headers())
# A row of 2**63 values: more bytes than numpy can allocate, which once escaped as ValueError.
@example(
    b"\x93NUMPY\x01\x00L\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 9223372036854775808)}\n"
)
def test_npy_stream_reader(data):
    from vaecheck.readers.data import open_stream

    only_vaecheck_errors(lambda: consume(open_stream(io.BytesIO(data))))


@BUDGET
@given(data=npy_headers())
def test_npy_file_reader(tmp_path, data):
    read_data_file(tmp_path / "data.npy", data)


@BUDGET
@given(data=csv_texts(), columns=st.none() | st.sampled_from(["a", "0", "1:", "0,0", "z", "-1", "5"]))
def test_csv_reader(tmp_path, data, columns):
    read_data_file(tmp_path / "data.csv", data, columns=columns)


@BUDGET
@given(data=npz_archives(), key=st.none() | st.sampled_from(["x", "y", "x.npy", "../x.npy"]))
def test_npz_reader(tmp_path, data, key):
    read_data_file(tmp_path / "data.npz", data, key=key)


@pytest.fixture(scope="module")
def shapeless_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shapeless")
    return {name: write_shapeless_model(folder / f"{name}.keras", name) for name in SHAPELESS_ACTIVATIONS}


EXTREMES = [0.0, -0.0, 1.0, -1.0, 0.5, 255.0, 1e-45, 3e38, -3e38, 1e308, -1e308, np.inf, -np.inf, np.nan]
dtypes = st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.uint8, np.int64, np.uint64, np.bool_])


@st.composite
def absurd_arrays(draw):
    dtype = np.dtype(draw(dtypes))
    if dtype.kind == "f":
        with np.errstate(over="ignore"):  # 1e308 as float16 is inf: one more extreme
            extremes = [np.asarray(v).astype(dtype).item() for v in EXTREMES]
        elements = st.sampled_from(extremes) | st.floats(width=8 * dtype.itemsize)
    elif dtype.kind == "b":
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        elements = st.sampled_from([info.min, info.max, 0, 1]) | st.integers(info.min, info.max)
    return draw(arrays(dtype, array_shapes(min_dims=1, max_dims=3, max_side=6), elements=elements))


@BUDGET
@given(
    data=absurd_arrays(),
    activation=st.sampled_from(SHAPELESS_ACTIVATIONS),
    loss=st.none() | st.sampled_from(["mse", "binary_crossentropy", "BinaryCrossentropy:from_logits", "categorical_crossentropy", "sparse_categorical_crossentropy", "hinge", "poisson", "kld"]),
    per_feature=st.none() | st.booleans(),
)
def test_any_data_is_checked_and_rendered_in_every_format(shapeless_models, data, activation, loss, per_feature):
    # Extremes, infinities, NaN, every dtype and width: valid data, so no error is allowed.
    check_and_render(shapeless_models[activation], data, loss=loss, per_feature=per_feature)
