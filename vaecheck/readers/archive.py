"""Guards shared by the readers of untrusted files: zip archives opened within bounds, and
symbolic links refused.

A zip's central directory lists its members, and zipfile builds an object for each before it
can answer anything: an archive that lists a million members costs half a gigabyte to open.
The end-of-central-directory record states the count and the directory's size in a few bytes at
the end of the file, so both are checked there first.

A symbolic link in a pull request can point anywhere on the machine that checks it
(`data.csv -> /etc/passwd`, or a CI secret), and an error message or a report quoting what was
read would leak it. vaecheck reads the files it is given, not what they point to, unless the
user says to follow links.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from typing import BinaryIO

from vaecheck.errors import VaecheckError

# A .keras archive has three members and its assets; an .npz one per array.
MAX_ZIP_MEMBERS = 10_000
MAX_CENTRAL_DIRECTORY_BYTES = 16 * 2**20
_END = struct.Struct("<4sHHHHLLH")  # end of central directory
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQHHLLQQQQ")
_LARGEST_COMMENT = 0xFFFF
FOLLOW_HINT = "pass --follow-links to read what links out of the current folder point to"


def zip_directory_size(stream: BinaryIO) -> tuple[int, int] | None:
    """(members, central directory bytes) as the archive's end records state them, or None
    when the records cannot be found (zipfile then says what is wrong)."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    tail_size = min(size, _END.size + _LARGEST_COMMENT)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        return None
    _, _, _, _, members, directory, _, _ = _END.unpack_from(tail, at)
    if members == 0xFFFF or directory == 0xFFFFFFFF:
        locator_at = size - tail_size + at - _ZIP64_LOCATOR.size
        if locator_at < 0:
            return None
        stream.seek(locator_at)
        locator = stream.read(_ZIP64_LOCATOR.size)
        if len(locator) < _ZIP64_LOCATOR.size or not locator.startswith(b"PK\x06\x07"):
            return None
        _, _, end_at, _ = _ZIP64_LOCATOR.unpack(locator)
        stream.seek(end_at)
        record = stream.read(_ZIP64_END.size)
        if len(record) < _ZIP64_END.size or not record.startswith(b"PK\x06\x06"):
            return None
        members, directory = _ZIP64_END.unpack(record)[7:9]
    return members, directory


def open_zip(stream: BinaryIO, source: str, what: str, invalid: str) -> zipfile.ZipFile:
    """Open a zip archive whose end records promise a directory of bounded size.

    `what` names the archive in messages ("a .keras archive"); `invalid` is the problem with
    a damaged one ("not a valid .keras archive"), completed by zipfile's reason.
    """
    try:
        listed = zip_directory_size(stream)
        stream.seek(0)
        if listed is not None:
            members, directory = listed
            if members > MAX_ZIP_MEMBERS:
                raise VaecheckError(
                    f"the zip archive lists {members:,} members, more than the "
                    f"{MAX_ZIP_MEMBERS:,} vaecheck opens in {what}",
                    source,
                )
            if directory > MAX_CENTRAL_DIRECTORY_BYTES:
                raise VaecheckError(
                    f"the zip archive's directory declares {directory:,} bytes, more than the "
                    f"{MAX_CENTRAL_DIRECTORY_BYTES // 2**20} MB vaecheck reads in {what}",
                    source,
                )
        return zipfile.ZipFile(stream)
    except (
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        OverflowError,
        struct.error,
        NotImplementedError,
    ) as exc:
        raise VaecheckError(f"{invalid} ({exc or type(exc).__name__})", source) from None


def refuse_link(path: str, source: str, what: str | None = None) -> None:
    """Raise if `path` is a symbolic link leading out of the current folder.

    A link that stays inside the folder vaecheck runs in (the checkout, in CI) is followed:
    data managed by DVC or git-annex is links into the repository's own cache. A link out of
    it is how a pull request would point vaecheck at `/etc/passwd` or a CI secret. `what`
    names the path when it is a part of `source`.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return  # the caller says "no such file" in its own words
    if stat.S_ISLNK(info.st_mode) and not _inside_working_folder(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        subject = f"{what} is a symbolic link" if what else "a symbolic link"
        raise VaecheckError(
            f"{subject} (to '{target}'), out of the current folder: vaecheck does not follow "
            f"such links; {FOLLOW_HINT}",
            source,
        )


def _inside_working_folder(path: str) -> bool:
    try:
        target = os.path.realpath(path)
        root = os.path.realpath(os.getcwd())
        return os.path.commonpath([target, root]) == root
    except (OSError, ValueError):  # a loop of links, or another drive
        return False


def stat_input(source: str, what: str) -> os.stat_result:
    """`os.stat` of a path the user gave, its failures as one-line errors about `what`."""
    try:
        return os.stat(source)
    except FileNotFoundError:
        raise VaecheckError("no such file or directory", source) from None
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise VaecheckError(f"cannot read {what} ({reason})", source) from None
    except ValueError:  # a NUL byte in the path
        raise VaecheckError("not a valid path", source) from None
