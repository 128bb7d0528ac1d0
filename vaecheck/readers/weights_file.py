"""A model's weights file, opened without reading a value: the `.keras` archive's
`model.weights.h5` member (read in place when stored uncompressed) or an `.h5` file, each
refused past a size limit. Shared by the weights reader (readers/weights.py), which reads the
variables a range needs, and the safety scan (readers/weights_scan.py), which walks the whole
structure; h5py is imported by `open`, so importing this module costs neither.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from vaecheck.graph import WeightsUnavailable

WEIGHTS_MEMBER = "model.weights.h5"
# A weights file past this size is not read at all: its ranges stay what they are without weights.
MAX_WEIGHTS_BYTES = 512 * 1024 * 1024
# A dataset that declares far more than it stores is a decompression bomb (Keras uses the same
# ratio); small ones are harmless whatever their ratio.
MAX_EXPANSION = 1000
SMALL_DATASET_BYTES = 1024 * 1024
# The walks of a weights file's whole structure (the safety scan, and its proof of the plain
# layout) stop past this many objects or this depth of groups.
MAX_OBJECTS = 200_000
MAX_DEPTH = 64


def declares_far_more(declared: int, stored: int) -> bool:
    """Whether a dataset declaring `declared` bytes and storing `stored` is a decompression bomb.

    Keras's own guard on load (3.15.0 `safe_get_h5_dataset`) is 4 GiB declared; here anything
    declaring more than it stores by the expansion ratio, past a megabyte, counts.
    """
    return declared > SMALL_DATASET_BYTES and declared > MAX_EXPANSION * stored


# Opening the HDF5 file -----------------------------------------------------------------------
class _Opener(Protocol):
    def open(self) -> Any: ...

    def close(self) -> None: ...


@dataclass
class _FileOpener:
    path: str
    limit: int | None = MAX_WEIGHTS_BYTES  # bytes; a larger file is not opened (None: any)

    def open(self) -> Any:
        self._checked_size()
        import h5py  # only for a file that is there to open

        try:
            return h5py.File(self.path, "r")
        except OSError as exc:
            raise WeightsUnavailable(f"the weights are not a readable HDF5 file ({exc})") from None

    def open_bytes(self) -> tuple[BinaryIO, int]:
        """The file's bytes and their count, for reading its structure without h5py."""
        size = self._checked_size()
        try:
            return open(self.path, "rb"), size
        except OSError as exc:
            raise WeightsUnavailable(f"cannot read the weights ({exc.strerror})") from None

    def _checked_size(self) -> int:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise WeightsUnavailable(f"there is no {os.path.basename(self.path)}") from None
        except OSError as exc:
            raise WeightsUnavailable(f"cannot read the weights ({exc.strerror})") from None
        if not stat.S_ISREG(info.st_mode):
            raise WeightsUnavailable(f"{os.path.basename(self.path)} is not a regular file")
        if self.limit is not None and info.st_size > self.limit:
            raise WeightsUnavailable(_too_large(info.st_size, self.limit))
        return info.st_size

    def close(self) -> None:
        return None


@dataclass
class _ArchiveOpener:
    """`model.weights.h5` inside a `.keras` zip, read in place when stored uncompressed."""

    path: str
    # Bytes; a larger member is not opened. None: a stored member of any size (it is read in
    # place), a compressed one up to MAX_WEIGHTS_BYTES (it is decompressed into memory).
    limit: int | None = MAX_WEIGHTS_BYTES
    _handle: Any = None  # the file object h5py reads from, which h5py does not close

    def open(self) -> Any:
        handle, _ = self.open_bytes()
        import h5py  # only for an archive that holds a weights file

        try:
            return h5py.File(handle, "r")
        except (OSError, ValueError) as exc:
            self.close()
            raise WeightsUnavailable(
                f"model.weights.h5 is not a readable HDF5 file ({exc})"
            ) from None

    def open_bytes(self) -> tuple[BinaryIO, int]:
        """The member's bytes and their count, read in place when stored; `close` closes them."""
        try:
            with zipfile.ZipFile(self.path) as archive:
                names = set(archive.namelist())
                if WEIGHTS_MEMBER not in names:
                    if "model.weights.npz" in names:
                        raise WeightsUnavailable(
                            "the weights are stored as model.weights.npz, whose arrays are "
                            "pickled objects, which vaecheck never unpickles"
                        )
                    raise WeightsUnavailable("the archive holds no model.weights.h5")
                info = archive.getinfo(WEIGHTS_MEMBER)
                stored = info.compress_type == zipfile.ZIP_STORED
                limit = self.limit if self.limit is not None or stored else MAX_WEIGHTS_BYTES
                if limit is not None and info.file_size > limit:
                    raise WeightsUnavailable(_too_large(info.file_size, limit))
                if info.flag_bits & 0x1:
                    raise WeightsUnavailable("model.weights.h5 is encrypted")
                if stored:
                    handle: Any = io.BufferedReader(_StoredMember(self.path, info))
                else:
                    assert limit is not None
                    handle = io.BytesIO(_read_compressed(archive, info, limit))
        except WeightsUnavailable:
            raise
        except Exception as exc:  # zipfile, zlib and lzma raise their own types on corrupt data
            raise WeightsUnavailable(
                f"cannot read model.weights.h5 from the archive ({exc})"
            ) from None
        self._handle = handle
        return handle, info.file_size

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _too_large(size: int, limit: int) -> str:
    return (
        f"the weights file declares {size / 2**20:,.0f} MB, more than the "
        f"{limit // 2**20} MB vaecheck reads; ranges are computed without weights"
    )


def _read_compressed(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with archive.open(info) as member:
        data = member.read(limit + 1)  # a lying size header cannot make us read more
    if len(data) > limit:
        raise WeightsUnavailable("model.weights.h5 is larger than its size header says")
    return data


class _StoredMember(io.RawIOBase):
    """A seekable window on an uncompressed zip member, so h5py reads only what it needs."""

    def __init__(self, path: str, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self._file = open(path, "rb")
        try:
            self._file.seek(info.header_offset)
            header = self._file.read(30)
            if len(header) != 30 or header[:4] != b"PK\x03\x04":
                raise WeightsUnavailable("model.weights.h5 has a damaged zip header")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            self._start = info.header_offset + 30 + name_length + extra_length
            self._size = info.file_size
            end = os.fstat(self._file.fileno()).st_size
            if info.compress_size != info.file_size or self._start + self._size > end:
                raise WeightsUnavailable("model.weights.h5 runs past the end of the archive")
        except BaseException:
            self._file.close()
            raise
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        self._file.seek(self._start + self._position)
        data = self._file.read(wanted)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()
