"""A folder of images (or one image file) -> a DataSource of decoded pixels.

The layout `keras.utils.image_dataset_from_directory` reads: PNG, JPEG, BMP, GIF, WebP and
TIFF files at any depth, class subfolders included, in natural order of their paths. Each
image is decoded with Pillow (the `vaecheck[images]` extra) into the channels of the model's
image output (1 grayscale, 3 RGB, 4 RGBA) or of `color_mode`, with Keras's names. Images are
never resized: resampling changes values. When every image has one size the source is
`(images, height, width, channels)` and is matched with outputs of that shape; when sizes
differ it is `(pixels, channels)`, matched with outputs by channel count alone, and a sample
still picks whole images.

Opening reads each file's header (its format, size and mode), so a file that is not an
image, and a decompression bomb (more pixels than Pillow's limit, which stays on), is named
before any pixel is decoded. A truncated file is found when decoded. Each is exit 2 naming the
file, unless `skip_bad`: then every file is decoded once at opening to find the bad ones, and
the report counts and lists what was left out. The source's parts are runs of files, so a
distributed engine can measure them apart and merge the results.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import struct
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vaecheck.extras import install_command
from vaecheck.errors import VaecheckError
from vaecheck.readers.archive import FOLLOW_HINT, refuse_link
from vaecheck.readers.source import DATA_SUFFIXES, DataSource, Index, _Body, row_batches
from vaecheck.readers.remote import display_name, is_url

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
PILLOW_FORMATS = ["PNG", "JPEG", "BMP", "DIB", "GIF", "WEBP", "TIFF"]
COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
MODE_OF_CHANNELS = {1: "grayscale", 3: "rgb", 4: "rgba"}
# Grayscale images of more than eight bits keep their values (Keras decodes them so too).
WIDE_GRAY = {"I;16": np.uint16, "I;16L": np.uint16, "I;16B": np.uint16, "I": np.int32, "F": np.float32}
IMAGES_PER_PART = 512
MAX_NAMED = 3


@dataclass(frozen=True)
class ImageFile:
    path: str
    width: int
    height: int
    dtype: np.dtype


def is_image_location(path: str) -> bool:
    """Whether `path` names an image file, or a folder of images (and no data files).

    A URL is an image when its name says so; a folder of remote storage (a URL ending in /)
    holds images when it has no data files at its top and images below.
    """
    if is_url(path):
        name = path.split("?", 1)[0]
        if name.lower().endswith(IMAGE_SUFFIXES):
            return True
        return name.endswith("/") and bool(_remote_image_paths(path)) if _has_fsspec() else False
    if os.path.isfile(path):
        return path.lower().endswith(IMAGE_SUFFIXES)
    if not os.path.isdir(path):
        return False
    try:
        top = [name for name in os.listdir(path) if not name.startswith(".")]
    except OSError:
        return False
    if any(os.path.splitext(name)[1].lower() in DATA_SUFFIXES for name in top):
        return False
    return next(_image_paths(path), None) is not None


def open_images(
    location: str,
    *,
    color_mode: str | None = None,
    channels: Sequence[int] = (),
    skip_bad: bool = False,
    follow_links: bool = False,
) -> DataSource:
    """Open an image file or a folder of images as one source (see the module's docstring).

    `channels` are the channel counts of the model's image outputs, used when `color_mode`
    is None; with neither, images are read as RGB (Keras's default).
    """
    Image = import_pillow(location)
    mode = _color_mode(color_mode, channels, location)
    pil_mode, count = COLOR_MODES[mode]
    remote = is_url(location)
    if not follow_links and not remote:
        refuse_link(location, location)
    if remote and location.split("?", 1)[0].endswith("/"):
        paths = _remote_image_paths(location)
        shown = display_name(location.rstrip("/")) + "/"
    elif remote:
        paths = [location]
        shown = display_name(location)
    elif os.path.isdir(location):
        paths = sorted(_image_paths(location, follow_links), key=_natural)
        if not follow_links:
            for path in paths:
                if os.path.islink(path):
                    raise VaecheckError(f"a symbolic link among the images: {FOLLOW_HINT}", path)
        shown = os.path.basename(os.path.normpath(location)) + os.sep
    else:
        paths = [location]
        shown = os.path.basename(location)
    skipped: list[tuple[str, str]] = []
    files: list[ImageFile] = []
    for path in paths:
        try:
            files.append(_read_header(Image, path, mode, verify=skip_bad))
        except VaecheckError as error:
            if not skip_bad:
                raise
            skipped.append((path, error.problem))
    if not files:
        problem = f"no readable image among {len(paths)} files" if paths else "no image files"
        raise VaecheckError(f"{problem} ({', '.join(IMAGE_SUFFIXES)})", location)
    sizes = {(f.height, f.width) for f in files}
    dtype = np.result_type(*{f.dtype for f in files})
    body = _ImagesBody(tuple(files), pil_mode, count, tuple(skipped))
    noun = "image" if len(files) == 1 else "images"
    if len(sizes) == 1:
        (height, width), = sizes
        shape: tuple[int, ...] = (len(files), height, width, count)
        description = f"{shown} ({len(files)} {noun}, {mode})"
    else:
        shape = (sum(f.height * f.width for f in files), count)
        description = f"{shown} ({len(files)} {noun} of {len(sizes)} sizes, as pixels, {mode})"
    return DataSource(
        path=location,
        description=description,
        shape=shape,
        dtype=dtype,
        fortran_order=False,
        _body=body,
    )


def import_pillow(location: str) -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise VaecheckError(f"reading images needs the images extra: {install_command('images')}", location) from None
    return Image


def skipped_files(source: DataSource) -> tuple[tuple[str, str], ...]:
    """The files an image source left out (`skip_bad`), each with its problem."""
    body = source._body
    return body.skipped if isinstance(body, _ImagesBody) else ()


def by_pixels(source: DataSource) -> bool:
    """Whether this image source holds images of several sizes, as rows of pixels."""
    body = source._body
    return isinstance(body, _ImagesBody) and len(source.shape) == 2


def sample_images(source: DataSource, images: int, seed: int | None) -> DataSource:
    """A uniform random sample of whole images (without repeats, in file order)."""
    body = source._body
    assert isinstance(body, _ImagesBody)
    if images <= 0:
        raise VaecheckError(f"a sample needs at least one image, not {images}")
    total = len(body.files)
    if images >= total:
        return source
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=images, replace=False))
    files = tuple(body.files[i] for i in chosen.tolist())
    sub = replace(body, files=files)
    if len(source.shape) == 2:
        shape: tuple[int, ...] = (sum(f.height * f.width for f in files), source.shape[1])
    else:
        shape = (len(files), *source.shape[1:])
    return replace(source, shape=shape, _body=sub, sampled_from=total, sample_seed=seed)


def _color_mode(color_mode: str | None, channels: Sequence[int], location: str) -> str:
    if color_mode is not None:
        if color_mode not in COLOR_MODES:
            raise VaecheckError(
                f"unknown colour mode '{color_mode}' (Keras's: {', '.join(COLOR_MODES)})", location
            )
        return color_mode
    known = [c for c in channels if c in MODE_OF_CHANNELS]
    return MODE_OF_CHANNELS[known[0]] if known else "rgb"


def _has_fsspec() -> bool:
    try:
        import fsspec  # noqa: F401
    except ImportError:
        return False
    return True


def _remote_image_paths(location: str) -> list[str]:
    """Image objects under a folder of remote storage, at any depth, as URLs, in natural order;
    [] when the folder's top holds data files (it is a folder of shards then)."""
    from vaecheck.readers.remote import storage_error, url_filesystem

    fs, path = url_filesystem(location)
    try:
        found = fs.find(path.rstrip("/"), detail=False)
    except Exception as error:
        raise storage_error(error, location) from None
    base = path.rstrip("/") + "/"
    relative = [name[len(base) :] for name in found if name.startswith(base)]
    if any("/" not in name and name.lower().endswith(DATA_SUFFIXES) for name in relative):
        return []
    images = [
        location.split("?", 1)[0] + name
        for name in relative
        if name.lower().endswith(IMAGE_SUFFIXES)
        and not any(part.startswith(".") for part in name.split("/"))
    ]
    return sorted(images, key=_natural)


def _image_source(path: str) -> Any:
    """What Pillow opens: the path of a local file, or an object's bytes fetched in one request."""
    if not is_url(path):
        return path
    import io

    from vaecheck.readers.remote import storage_error, url_filesystem

    fs, inner = url_filesystem(path)
    try:
        return io.BytesIO(fs.cat_file(inner))
    except Exception as error:
        raise storage_error(error, path) from None


def _image_paths(directory: str, follow_links: bool = False) -> Iterator[str]:
    for root, folders, names in os.walk(directory, followlinks=follow_links):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            yield os.path.join(root, name)


_DIGITS = re.compile(r"(\d+)")


def _natural(path: str) -> tuple[object, ...]:
    """img-2 before img-10, as a person orders files."""
    pieces = _DIGITS.split(path)
    pieces[1::2] = [int(piece) for piece in pieces[1::2]]  # type: ignore[call-overload]
    return tuple(pieces)


def _read_header(Image: Any, path: str, mode: str, verify: bool) -> ImageFile:
    """Format, size and mode from the file's header; with `verify`, decode it all once."""
    if not verify:
        png = _png_header(Image, path, mode)
        if png is not None:
            return png
    with _opened(Image, path) as image:
        width, height = image.size
        dtype = np.dtype(WIDE_GRAY.get(image.mode, np.uint8)) if mode == "grayscale" else np.dtype(np.uint8)
        if verify:
            _pixels(Image, image, path, COLOR_MODES[mode][0])
    return ImageFile(path, int(width), int(height), dtype)


_PNG_IHDR = struct.Struct(">8sI4sIIBB")


def _png_header(Image: Any, path: str, mode: str) -> ImageFile | None:
    """A PNG's size and depth from its first 26 bytes, which is all the header pass needs;
    None for anything else (Pillow then reads the header, and names any problem)."""
    if is_url(path):
        from vaecheck.readers.remote import read_ranges

        try:
            head = next(iter(read_ranges(path, [(0, _PNG_IHDR.size)])))
        except VaecheckError as error:
            if "ended early" in error.problem:
                return None  # shorter than a PNG header: Pillow names the problem
            raise
    else:
        try:
            with open(path, "rb") as stream:
                head = stream.read(_PNG_IHDR.size)
        except OSError:
            return None
    if len(head) < _PNG_IHDR.size:
        return None
    signature, length, kind, width, height, depth, color = _PNG_IHDR.unpack(head)
    if signature != b"\x89PNG\r\n\x1a\n" or kind != b"IHDR" or length != 13 or not width or not height:
        return None
    if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
        raise VaecheckError(
            f"refusing a likely decompression bomb ({width * height:,} pixels, more than "
            f"Pillow's limit of {Image.MAX_IMAGE_PIXELS:,})",
            path,
        )
    wide = mode == "grayscale" and color == 0 and depth == 16
    return ImageFile(path, width, height, np.dtype(np.uint16 if wide else np.uint8))


class _opened:
    """Image.open limited to the formats vaecheck reads, with Pillow's exceptions (and the
    decompression-bomb warning) as VaecheckErrors naming the file."""

    def __init__(self, Image: Any, path: str) -> None:
        self._Image = Image
        self._path = path
        self._image: Any = None

    def __enter__(self) -> Any:
        Image = self._Image
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                self._image = Image.open(_image_source(self._path), formats=PILLOW_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise VaecheckError(f"refusing a likely decompression bomb ({error})", self._path) from None
        except Image.UnidentifiedImageError:
            raise VaecheckError(
                "not an image vaecheck reads (PNG, JPEG, BMP, GIF, WebP, TIFF)", self._path
            ) from None
        except (OSError, ValueError, SyntaxError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise VaecheckError(f"cannot read the image ({reason or type(error).__name__})", self._path) from None
        return self._image

    def __exit__(self, *exc: object) -> None:
        if self._image is not None:
            self._image.close()


def _pixels(Image: Any, image: Any, path: str, pil_mode: str, checked: bool = False) -> np.ndarray:
    """The image's first frame decoded into `pil_mode` (wide grayscale kept), as (h, w, c)."""
    try:
        with warnings.catch_warnings() if not checked else contextlib.nullcontext():
            if not checked:
                warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            if pil_mode == "L" and image.mode in WIDE_GRAY:
                array = np.asarray(image)
            else:
                array = np.asarray(image if image.mode == pil_mode else image.convert(pil_mode))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise VaecheckError(f"refusing a likely decompression bomb ({error})", path) from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        reason = str(error) or type(error).__name__
        raise VaecheckError(f"cannot decode the image ({reason})", path) from None
    return array.reshape(array.shape[0], array.shape[1], -1)


@dataclass(frozen=True, eq=False)
class _ImagesBody:
    files: tuple[ImageFile, ...]
    pil_mode: str
    channels: int
    skipped: tuple[tuple[str, str], ...] = ()

    def blocks(
        self, source: DataSource, max_bytes: int, reuse: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        from PIL import Image

        by_pixels = len(source.shape) == 2
        if by_pixels:
            yield from self._pixel_blocks(Image, source, max_bytes)
            return
        image_bytes = math.prod(source.shape[1:]) * source.dtype.itemsize
        positions = np.arange(len(self.files))
        # One thread: for images of a few kilobytes Pillow's Python code dominates, and threads
        # measured slower than one loop (bench/images_folder.py).
        for start, chosen in row_batches(positions, image_bytes, max_bytes):
            block = np.empty((chosen.size, *source.shape[1:]), dtype=source.dtype)
            for row, position in enumerate(chosen.tolist()):
                block[row] = self._decode(Image, self.files[position], source)
            yield (slice(start, start + chosen.size), slice(None), slice(None), slice(None)), block

    def _pixel_blocks(
        self, Image: Any, source: DataSource, max_bytes: int
    ) -> Iterator[tuple[Index, np.ndarray]]:
        pending: list[np.ndarray] = []
        pending_bytes = 0
        done = 0
        for file in self.files:
            pixels = self._decode(Image, file, source).reshape(-1, self.channels)
            pending.append(pixels)
            pending_bytes += pixels.nbytes
            if pending_bytes >= max_bytes:
                block = np.concatenate(pending).astype(source.dtype, copy=False)
                yield (slice(done, done + block.shape[0]), slice(None)), block
                done += block.shape[0]
                pending, pending_bytes = [], 0
        if pending:
            block = np.concatenate(pending).astype(source.dtype, copy=False)
            yield (slice(done, done + block.shape[0]), slice(None)), block

    def _decode(self, Image: Any, file: ImageFile, source: DataSource) -> np.ndarray:
        # The header pass refused bombs; a file that grew since is caught by its size.
        try:
            image = Image.open(_image_source(file.path), formats=PILLOW_FORMATS)
        except (OSError, ValueError, SyntaxError):
            with _opened(Image, file.path):  # names the problem
                pass
            raise
        with image:
            if image.size != (file.width, file.height):
                raise VaecheckError("the image changed while vaecheck was reading it", file.path)
            return _pixels(Image, image, file.path, self.pil_mode, checked=True)

    def parts(self, source: DataSource) -> tuple[DataSource, ...]:
        if len(self.files) <= IMAGES_PER_PART:
            return (source,)
        pieces = []
        for first in range(0, len(self.files), IMAGES_PER_PART):
            files = self.files[first : first + IMAGES_PER_PART]
            rows = len(files) if len(source.shape) == 4 else sum(f.height * f.width for f in files)
            pieces.append(
                replace(source, shape=(rows, *source.shape[1:]), _body=replace(self, files=files))
            )
        return tuple(pieces)

    def take_rows(self, source: DataSource, rows: np.ndarray) -> _Body:
        if len(source.shape) == 4:
            return replace(self, files=tuple(self.files[i] for i in rows.tolist()))
        from vaecheck.readers.source import _SelectedRowsBody

        return _SelectedRowsBody(source, rows)
