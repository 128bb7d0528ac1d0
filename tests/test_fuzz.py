"""Property tests of every reader on hostile input: it succeeds or raises VaecheckError.

A small budget runs in the suite; tests/fuzz/fuzz_readers.py runs the same readers with large
budgets (atheris, coverage-guided), by hand.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz.strategies import (  # noqa: E402
    analyse_config,
    base_configs,
    config_text,
    consume,
    csv_texts,
    mutated_configs,
    npy_headers,
    npz_archives,
    only_vaecheck_errors,
    read_data_file,
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
