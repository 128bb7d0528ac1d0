"""Folders of images and --rescaling: real PNG/JPEG/... files written with Pillow, the real
sample models, through the CLI and the Python API."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from vaecheck.extras import install_command
from vaecheck.api import check
from vaecheck.cli import main
from vaecheck.errors import VaecheckError
from vaecheck.readers.images import is_image_location, open_images
from vaecheck.readers.rescaling import Rescaling, as_rescaling, parse_rescaling, rescaled
from vaecheck.readers.data import array_source
from vaecheck.stats import measure_source

Image = pytest.importorskip("PIL.Image")

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
TANH_GENERATOR = str(SAMPLES / "tanh_generator.keras")  # output (16, 16, 1), tanh


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    return np.load(SAMPLES / "images_uint8.npy")  # (256, 16, 16, 1) uint8, each 0..255


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory, blobs: np.ndarray) -> Path:
    """The sample images as grayscale PNGs in two class subfolders, plus a stray text file."""
    root = tmp_path_factory.mktemp("images")
    for number, image in enumerate(blobs[:64]):
        folder = root / ("cats" if number % 2 else "dogs")
        folder.mkdir(exist_ok=True)
        Image.fromarray(image[:, :, 0], mode="L").save(folder / f"img-{number}.png")
    (root / "labels.txt").write_text("cats\ndogs\n")
    return root


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- rescaling --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scale", "offset"),
    [
        ("1/255", 1 / 255, 0.0),
        ("1/127.5,-1", 1 / 127.5, -1.0),
        ("0.5", 0.5, 0.0),
        (" 2 , 3 ", 2.0, 3.0),
        ("-1/2,1/2", -0.5, 0.5),
    ],
)
def test_parse_rescaling(text: str, scale: float, offset: float) -> None:
    parsed = parse_rescaling(text)
    assert parsed.scale == pytest.approx(scale, rel=1e-15)
    assert parsed.offset == pytest.approx(offset, rel=1e-15)


@pytest.mark.parametrize("text", ["", "a", "1/0", "0", "1,2,3", "nan", "inf,1", "1,"])
def test_parse_rescaling_refuses(text: str) -> None:
    with pytest.raises(VaecheckError, match="rescaling"):
        parse_rescaling(text)


def test_as_rescaling_accepts_the_python_forms() -> None:
    assert as_rescaling((0.5, 1)) == Rescaling(0.5, 1.0)
    assert as_rescaling(2) == Rescaling(2.0, 0.0)
    assert as_rescaling(None) is None
    with pytest.raises(VaecheckError):
        as_rescaling((1, 2, 3))


def test_rescaled_source_maps_every_value_and_keeps_parts_and_rows() -> None:
    array = np.arange(24, dtype=np.uint8).reshape(6, 4)
    source = rescaled(array_source(array), Rescaling(1 / 2, -1))
    blocks = [block for _, block in source.chunks(8)]
    assert np.concatenate(blocks).tolist() == (array / 2 - 1).tolist()
    assert source.dtype == np.float64
    picked = source.take_rows([1, 4])
    assert np.concatenate([b for _, b in picked.chunks()]).tolist() == (array[[1, 4]] / 2 - 1).tolist()
    stats = measure_source(source)
    assert (stats.min, stats.max) == (-1.0, 10.5)


def test_rescaling_turns_the_pixel_error_into_a_clean_check(capsys: pytest.CaptureFixture[str]) -> None:
    images = str(SAMPLES / "images_uint8.npy")
    code, out, _ = run([TANH_GENERATOR, images, "--format", "json"], capsys)
    assert code == 1
    assert json.loads(out)["data_summary"]["rescaling"] is None
    # Into [-0.99, 0.99]: strictly inside tanh's (-1, 1).
    code, out, err = run(
        [TANH_GENERATOR, images, "--rescaling", "1.98/255,-0.99", "--format", "json"], capsys
    )
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["data_summary"]["rescaling"] == {
        "scale": pytest.approx(1.98 / 255), "offset": -0.99, "text": "1.98/255,-0.99"
    }
    assert report["data_summary"]["min"] == pytest.approx(-0.99)
    assert report["data_summary"]["max"] == pytest.approx(0.99)


def test_rescaling_in_the_text_header_and_the_python_api(capsys: pytest.CaptureFixture[str]) -> None:
    images = str(SAMPLES / "images_uint8.npy")
    code, out, _ = run([TANH_GENERATOR, images, "--rescaling", "1/127.5,-1", "--no-color"], capsys)
    assert "rescaled: x * 0.00784313725 + -1  (--rescaling 1/127.5,-1)" in out
    report = check(TANH_GENERATOR, images, rescaling=(1 / 255, 0))
    assert report.stats.min == 0.0 and report.stats.max == 1.0
    assert report.rescaling == Rescaling(1 / 255, 0.0)


def test_bad_rescaling_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([TANH_GENERATOR, str(SAMPLES / "images_uint8.npy"), "--rescaling", "x"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "--rescaling takes SCALE" in err


# --- image folders ----------------------------------------------------------------------------


def test_folder_of_pngs_reads_the_same_values_as_the_array(image_folder: Path, blobs: np.ndarray) -> None:
    source = open_images(str(image_folder), channels=(1,))
    assert source.shape == (64, 16, 16, 1) and source.dtype == np.uint8
    values = np.concatenate([block for _, block in source.chunks(4096)])
    # Natural order of paths: cats/img-1, cats/img-3, ..., dogs/img-0, dogs/img-2, ...
    order = [*range(1, 64, 2), *range(0, 64, 2)]
    assert np.array_equal(values, blobs[order])
    assert is_image_location(str(image_folder))
    assert not is_image_location(str(SAMPLES))


def test_image_folder_end_to_end_with_rescaling(image_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([TANH_GENERATOR, str(image_folder), "--format", "json"], capsys)
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["data_summary"]["shape"] == [64, 16, 16, 1]
    assert (report["data_summary"]["min"], report["data_summary"]["max"]) == (0, 255)
    assert report["outputs"][0]["findings"][0]["code"] == "VC001"
    code, out, _ = run(
        [TANH_GENERATOR, str(image_folder), "--rescaling", "1.98/255,-0.99", "--format", "json"], capsys
    )
    assert code == 0


def test_color_mode_follows_the_model_or_the_option(image_folder: Path) -> None:
    assert check(TANH_GENERATOR, str(image_folder)).stats.shape == (64, 16, 16, 1)
    with pytest.raises(VaecheckError, match=r"matches no model output"):
        check(TANH_GENERATOR, str(image_folder), color_mode="rgb")
    rgb = open_images(str(image_folder), color_mode="rgb")
    assert rgb.shape == (64, 16, 16, 3)
    block = next(rgb.chunks())[1]
    assert np.array_equal(block[..., 0], block[..., 2])  # gray converted to RGB


@pytest.mark.parametrize(
    ("suffix", "mode", "exact"),
    [
        (".png", "RGBA", True),
        (".bmp", "RGB", True),
        (".gif", "L", True),
        (".tiff", "RGB", True),
        (".webp", "RGB", False),  # lossy by default
        (".jpg", "RGB", False),
    ],
)
def test_every_format(tmp_path: Path, suffix: str, mode: str, exact: bool) -> None:
    generator = np.random.default_rng(0)
    bands = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = generator.integers(0, 256, size=(8, 8, bands), dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if bands == 1 else pixels, mode=mode)
    path = tmp_path / f"one{suffix}"
    if suffix == ".gif":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    image.save(path, **({"lossless": True} if suffix == ".webp" and exact else {}))
    source = open_images(str(path), color_mode={1: "grayscale", 3: "rgb", 4: "rgba"}[bands])
    values = next(source.chunks())[1][0]
    assert values.shape == (8, 8, bands)
    if exact and suffix != ".gif":
        assert np.array_equal(values, pixels)


def test_mixed_sizes_are_pixels_and_a_sample_picks_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for number, size in enumerate([(16, 16), (20, 12), (16, 16), (8, 30)]):
        Image.fromarray(np.full(size, number * 50, dtype=np.uint8), mode="L").save(tmp_path / f"{number}.png")
    source = open_images(str(tmp_path), color_mode="grayscale")
    assert source.shape == (256 + 240 + 256 + 240, 1)
    code, out, _ = run([TANH_GENERATOR, str(tmp_path), "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["data_summary"]["max"] == 150
    code, out, _ = run([TANH_GENERATOR, str(tmp_path), "--sample", "2", "--format", "json"], capsys)
    sample = json.loads(out)["data_summary"]["sample"]
    assert sample["of_rows"] == 4 and sample["rows"] in (480, 496, 512)


def test_sample_picks_images_of_a_folder(image_folder: Path, blobs: np.ndarray) -> None:
    report = check(TANH_GENERATOR, str(image_folder), sample=5, seed=3)
    assert report.stats.shape == (5, 16, 16, 1)
    assert report.sample is not None and report.sample.of_rows == 64


def test_parts_are_runs_of_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vaecheck.readers import images

    for number in range(7):
        Image.fromarray(np.full((4, 4), number, dtype=np.uint8), mode="L").save(tmp_path / f"{number}.png")
    monkeypatch.setattr(images, "IMAGES_PER_PART", 3)
    source = open_images(str(tmp_path), color_mode="grayscale")
    assert [part.rows for part in source.parts()] == [3, 3, 1]
    assert measure_source(source).max == 6


def test_not_an_image_is_exit_2_unless_skip_bad(image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, size=(3, 16, 16), dtype=np.uint8)
    for number in range(3):
        Image.fromarray(noise[number], mode="L").save(folder / f"{number}.png")
    (folder / "3.png").write_bytes(b"not a png at all")
    good = (folder / "0.png").read_bytes()
    (folder / "4.png").write_bytes(good[: len(good) // 2])  # truncated
    code, out, err = run([TANH_GENERATOR, str(folder)], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "3.png: not an image" in err
    (folder / "3.png").unlink()
    code, out, err = run([TANH_GENERATOR, str(folder)], capsys)
    assert code == 2 and err.count("\n") == 1 and "4.png: cannot decode the image" in err
    (folder / "3.png").write_bytes(b"not a png at all")
    code, out, err = run([TANH_GENERATOR, str(folder), "--skip-bad", "--format", "json"], capsys)
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["data_summary"]["shape"] == [3, 16, 16, 1]
    assert sorted(Path(s["file"]).name for s in report["data_summary"]["skipped_files"]) == ["3.png", "4.png"]
    code, out, _ = run([TANH_GENERATOR, str(folder), "--skip-bad", "--no-color"], capsys)
    assert "skipped 2 unreadable files (--skip-bad)" in out


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height 8-bit grayscale pixels, with a tiny body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bomb.png").write_bytes(_png_header(100_000, 100_000))
    code, out, err = run([TANH_GENERATOR, str(tmp_path)], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "bomb.png: refusing a likely decompression bomb" in err
    # Between Pillow's limit and twice it Pillow only warns; vaecheck refuses those too.
    (tmp_path / "bomb.png").write_bytes(_png_header(10_000, 10_000))
    code, _, err = run([TANH_GENERATOR, str(tmp_path)], capsys)
    assert code == 2 and "decompression bomb" in err


def test_links_among_images_are_refused(tmp_path: Path, image_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "a.png").symlink_to(next(image_folder.glob("*/*.png")))
    code, _, err = run([TANH_GENERATOR, str(folder)], capsys)
    assert code == 2 and "symbolic link" in err
    code, _, _ = run([TANH_GENERATOR, str(folder), "--follow-links"], capsys)
    assert code == 1


def test_missing_pillow_names_the_install_line(
    image_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    code, out, err = run([TANH_GENERATOR, str(image_folder)], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and install_command('images') in err


def test_rescaling_per_configured_pair_and_urls_kept_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vaecheck.config import load_config

    config = tmp_path / "vaecheck.toml"
    images = SAMPLES / "images_uint8.npy"
    config.write_text(
        f'[[check]]\nmodel = "{TANH_GENERATOR}"\ndata = "{images}"\nrescaling = "1.98/255,-0.99"\n'
        f'[[check]]\nmodel = "s3://bucket/m.keras"\ndata = "https://host/x.npy"\n'
    )
    pairs = load_config(config).pairs
    assert pairs[0].rescaling == "1.98/255,-0.99"
    assert (pairs[1].model, pairs[1].data) == ("s3://bucket/m.keras", "https://host/x.npy")
    config.write_text(f'[[check]]\nmodel = "{TANH_GENERATOR}"\ndata = "{images}"\nrescaling = "1.98/255,-0.99"\n')
    code, out, err = run(["--config", str(config), "--format", "json"], capsys)
    assert (code, err) == (0, "")
    # The command line wins over the file.
    code, _, _ = run(["--config", str(config), "--rescaling", "1", "-q"], capsys)
    assert code == 1
