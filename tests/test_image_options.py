"""--color-mode and --skip-bad (color_mode=, skip_bad=) decode images: given for any other
data, they are an error, never silently ignored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaecheck.api import check
from vaecheck.cli import main
from vaecheck.errors import VaecheckError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
RELU_VAE = str(SAMPLES / "relu_vae.keras")  # 16 features
STANDARDIZED = str(SAMPLES / "standardized.npy")
TANH_GENERATOR = str(SAMPLES / "tanh_generator.keras")  # (16, 16, 1) images


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--color-mode", "rgb"], "--color-mode applies"),
        (["--skip-bad"], "--skip-bad applies"),
        (["--skip-bad", "--color-mode", "grayscale"], "--color-mode and --skip-bad apply"),
    ],
)
def test_the_cli_refuses_image_options_for_other_data(
    options: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([RELU_VAE, STANDARDIZED, *options], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and named in err and STANDARDIZED in err, err
    code, out, err = run([RELU_VAE, *options], capsys)  # a model alone
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and named in err and "checked alone" in err, err


def test_the_api_names_its_keywords(tmp_path: Path) -> None:
    with pytest.raises(VaecheckError, match=r"color_mode= applies to images") as raised:
        check(RELU_VAE, STANDARDIZED, color_mode="rgb")
    assert raised.value.path == STANDARDIZED
    with pytest.raises(VaecheckError, match=r"skip_bad= applies to images .* data given as ndarray"):
        check(RELU_VAE, np.load(STANDARDIZED), skip_bad=True)
    with pytest.raises(VaecheckError, match=r"color_mode= and skip_bad= apply .* checked alone"):
        check(RELU_VAE, None, color_mode="rgb", skip_bad=True)
    assert check(RELU_VAE, STANDARDIZED).stats.shape == (512, 16)  # without them, as before


def test_a_run_with_images_and_other_data_passes_them_to_the_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    blobs = np.load(SAMPLES / "images_uint8.npy")[:4]
    for number, image in enumerate(blobs):
        Image.fromarray(image[:, :, 0], mode="L").save(folder / f"{number}.png")
    (folder / "bad.png").write_bytes(b"not a png")
    code, out, err = run(
        [TANH_GENERATOR, str(folder), RELU_VAE, STANDARDIZED, "--skip-bad", "--format", "json"], capsys
    )
    assert err == "" and code == 1
    images, table = json.loads(out)["reports"]
    assert images["data_summary"]["shape"] == [4, 16, 16, 1]
    assert [Path(s["file"]).name for s in images["data_summary"]["skipped_files"]] == ["bad.png"]
    assert table["data_summary"]["shape"] == [512, 16]
