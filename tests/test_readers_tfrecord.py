"""TFRecord files of tf.train.Example, written by TensorFlow's own writer, read without it."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from vaecheck.cli import main
from vaecheck.extras import install_command
from vaecheck.errors import VaecheckError
from vaecheck.readers.data import DataSource, open_data

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
SIGMOID_VAE = str(SAMPLES / "sigmoid_vae.keras")
ROWS = 40


def read_all(source: DataSource, max_bytes: int = 2**20) -> np.ndarray:
    return np.concatenate([block for _, block in source.chunks(max_bytes)])


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same 40 examples, uncompressed and GZIP, each with a float, int and image feature."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    unit = np.load(SAMPLES / "unit.npy")[:ROWS]
    labels = rng.integers(0, 10, (ROWS, 2))
    images = rng.integers(0, 256, (ROWS, 6, 5, 3), dtype=np.uint8)
    root = tmp_path_factory.mktemp("tfrecord")
    paths = {"plain": root / "data.tfrecord", "gzip": root / "data.tfrecord.gz"}
    for kind, path in paths.items():
        with tf.io.TFRecordWriter(str(path), options="GZIP" if kind == "gzip" else None) as writer:
            for row in range(ROWS):
                feature = {
                    "x": tf.train.Feature(float_list=tf.train.FloatList(value=unit[row])),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=labels[row])),
                    "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png(images[row])])),
                }
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())
    return {"paths": paths, "x": unit, "label": labels, "image": images}


@pytest.mark.parametrize("kind", ["plain", "gzip"])
def test_each_feature_kind_reads_as_rows(written: dict[str, Any], kind: str) -> None:
    path = written["paths"][kind]
    x = open_data(path, key="x")
    assert (x.shape, x.dtype, x.description) == ((ROWS, 16), np.float32, f"{path.name}[x]")
    np.testing.assert_array_equal(read_all(x, max_bytes=7 * 64), written["x"])
    label = open_data(path, key="label")
    assert (label.shape, label.dtype) == ((ROWS, 2), np.int64)
    np.testing.assert_array_equal(read_all(label), written["label"])
    image = open_data(path, key="image")
    assert (image.shape, image.dtype) == ((ROWS, 6, 5, 3), np.uint8)
    np.testing.assert_array_equal(read_all(image), written["image"])
    np.testing.assert_array_equal(read_all(image.sample(5, 2)), written["image"][np.sort(np.random.default_rng(2).choice(ROWS, 5, replace=False))])


def test_without_key_the_features_are_listed(written: dict[str, Any]) -> None:
    with pytest.raises(VaecheckError) as raised:
        open_data(written["paths"]["plain"])
    assert raised.value.problem == "the records hold features 'image', 'label', 'x'; name one with --key"
    with pytest.raises(VaecheckError, match="record 0 has no feature 'y'; it holds 'image', 'label', 'x'"):
        open_data(written["paths"]["plain"], key="y")


def record_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each record's framing in an uncompressed TFRecord file."""
    spans = []
    position = 0
    while position < len(data):
        (length,) = struct.unpack_from("<Q", data, position)
        end = position + 12 + length + 4
        spans.append((position, end))
        position = end
    return spans


def test_a_flipped_data_byte_fails_the_crc_naming_the_record(written: dict[str, Any], tmp_path: Path) -> None:
    data = bytearray(written["paths"]["plain"].read_bytes())
    start, _ = record_spans(bytes(data))[17]
    data[start + 12 + 20] ^= 0x01
    path = tmp_path / "flipped.tfrecord"
    path.write_bytes(bytes(data))
    source = open_data(path, key="x")  # the first record is fine
    with pytest.raises(VaecheckError) as raised:
        read_all(source)
    assert str(raised.value) == f"{path}: record 17: its data fails the CRC check"


def test_a_lying_length_is_refused_before_reading(written: dict[str, Any], tmp_path: Path) -> None:
    """A length past the file's end, with a valid CRC of that length: refused, nothing allocated."""
    import google_crc32c

    data = bytearray(written["paths"]["plain"].read_bytes())
    start, _ = record_spans(bytes(data))[3]
    length = struct.pack("<Q", 2**60)
    crc = google_crc32c.value(length)
    masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    data[start : start + 12] = length + struct.pack("<I", masked)
    path = tmp_path / "lying.tfrecord"
    path.write_bytes(bytes(data))
    with pytest.raises(VaecheckError) as raised:
        open_data(path, key="x")
    assert raised.value.problem.startswith(f"record 3: declares {2**60:,} bytes, more than the ")
    data[start + 8] ^= 0xFF  # the length's CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(VaecheckError, match="record 3: its length fails the CRC check"):
        open_data(path, key="x")


def test_a_cut_file_and_garbage_records_are_one_line(written: dict[str, Any], tmp_path: Path) -> None:
    data = written["paths"]["plain"].read_bytes()
    spans = record_spans(data)
    cut = tmp_path / "cut.tfrecord"
    cut.write_bytes(data[: spans[5][0] + 30])
    with pytest.raises(VaecheckError, match=r"record 5: declares [\d,]+ bytes, more than the \d+ left in the file"):
        open_data(cut, key="x")
    import google_crc32c

    def masked(chunk: bytes) -> bytes:
        crc = google_crc32c.value(chunk)
        return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)

    junk = b"\xff\xff\xff\xff not a protobuf"
    header = struct.pack("<Q", len(junk))
    garbage = tmp_path / "garbage.tfrecord"
    garbage.write_bytes(header + masked(header) + junk + masked(junk))
    with pytest.raises(VaecheckError, match=r"^.*: record 0 is not a tf.train.Example \("):
        open_data(garbage, key="x")


def test_records_of_another_length_name_the_record(tmp_path: Path) -> None:
    import tensorflow as tf

    path = tmp_path / "ragged.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for count in (3, 3, 2):
            feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=[0.5] * count))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    source = open_data(path)  # a single feature needs no --key
    assert source.shape == (3, 3)
    with pytest.raises(VaecheckError) as raised:
        read_all(source)
    assert raised.value.problem == (
        "feature 'x' of record 2 holds values: 2, where record 0 holds 3; every record needs the same"
    )


def test_cli_on_tfrecord_and_a_glob_of_them(written: dict[str, Any], capsys) -> None:  # type: ignore[no-untyped-def]
    plain = written["paths"]["plain"]
    assert main([SIGMOID_VAE, str(plain), "--key", "x"]) == 0
    assert "data.tfrecord[x]" in capsys.readouterr().out
    assert main([SIGMOID_VAE, str(plain.parent / "*.tfrecord*"), "--key", "x", "--format", "json"]) == 0
    assert '"count": 1280' in capsys.readouterr().out  # 2 files x 40 records x 16 values


def test_a_missing_pillow_for_images_is_the_install_line(written: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(VaecheckError) as raised:
        open_data(written["paths"]["plain"], key="image")
    assert raised.value.problem == (
        "images in TFRecord bytes features needs the optional package Pillow: " + install_command("images")
    )


def test_the_reader_imports_no_tensorflow(written: dict[str, Any]) -> None:
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from vaecheck.readers.data import open_data\n"
        f"source = open_data({str(written['paths']['gzip'])!r}, key='image')\n"
        "total = sum(int(block.sum()) for _, block in source.chunks())\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'torch', 'tfrecord')]\n"
        "print('LOADED', loaded, total)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"LOADED [] {int(written['image'].astype(np.int64).sum())}" in result.stdout


@pytest.mark.parametrize(("module", "package"), [("google.protobuf", "protobuf"), ("google_crc32c", "google_crc32c")])
def test_a_missing_tfrecord_extra_is_the_install_line(written: dict[str, Any], monkeypatch: pytest.MonkeyPatch, module: str, package: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(VaecheckError) as raised:
        open_data(written["paths"]["plain"], key="x")
    assert raised.value.problem == (
        f"TFRecord data needs the optional package {package}: {install_command('tfrecord')}"
    )
