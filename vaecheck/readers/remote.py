"""Object storage and HTTP: a model or data given as a URL, read through fsspec.

`s3://`, `gs://` (or `gcs://`), `az://` (or `abfs://`), `https://` and `http://` URLs are
read with fsspec and the storage's own package (s3fs, gcsfs, adlfs, aiohttp), from the
`vaecheck[cloud]` extra, imported only when a URL is named. Credentials follow each storage's
standard conventions (for S3: the AWS_* variables, the shared config and credentials files,
instance roles; `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3` names an S3-compatible store).

The API the readers use:
- `is_url(path)`: whether a path names remote storage;
- `open_url(url)`: a seekable binary file whose reads are range requests (or, from an HTTP
  server that ignores them, one streamed GET, for a reader that goes front to back);
- `read_ranges(url, ranges)`: many byte ranges at once (concurrent where the storage allows),
  for a sample of rows scattered through a large file;
- `url_filesystem(url)`: `(fs, path)` for libraries that take an fsspec filesystem;
- `local_copy(url)`: the object downloaded into a private temporary folder, for readers that
  need a path (models).

A missing object, a denied access, a missing credential or an unreachable endpoint is a
VaecheckError: one line naming the URL. No secret reaches a message: credentials embedded in a
URL (`user:password@`, a signed query string) are masked wherever a URL is shown, and the
values of the environment's secret variables are masked in any text taken from the storage
libraries' exceptions.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

from vaecheck.extras import install_command
from vaecheck.errors import MASK, VaecheckError, redact

SCHEMES = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "abfs",
    "abfs": "abfs",
    "abfss": "abfs",
    "http": "http",
    "https": "http",
}
# How far a read fetches past what it asks for: a pass from start to end reads in pieces of a
# megabyte or more anyway, and a header read should not pull megabytes behind it. A sample
# of rows reads only its rows (see read_ranges).
BLOCK_BYTES = 16 * 2**10
# Rows closer than this on the storage are fetched in one request: a request costs more than
# this many bytes of transfer.
MERGE_GAP_BYTES = 4 * 2**10
RANGES_PER_CALL = 512
# An endpoint that does not answer is given up on after these, not after aiohttp's 5 minutes.
CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0
# An HTTP server that ignores Range (`python -m http.server`) sends the whole object for every
# read. A reader that goes front to back gets the object streamed once instead, of which the
# first HEAD_BYTES are kept, so a header can be read again; a reader that needs the object out
# of order gets this.
RANGES_REFUSED = (
    "the HTTP server does not support range requests, which reading this file needs (it is "
    "read out of order): download it first"
)
SAMPLE_RANGES_REFUSED = (
    "the HTTP server does not support range requests, which --sample needs to fetch only the "
    "drawn rows: check without --sample (the file is then streamed once), or download it first"
)
HEAD_BYTES = 64 * 2**10
STREAM_PIECE_BYTES = 2**20

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_URL_ANYWHERE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|SIGNATURE|(?<![A-Z])KEY$|_KEY|SAS", re.I)
# Environment values shorter than this are too common to mask (a region, "1", "true").
_SHORTEST_SECRET = 8

_CREDENTIAL_PREFIXES = ("AWS_", "GOOGLE_", "GCS", "AZURE_", "HTTP", "FSSPEC")
_filesystems: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}

# Bytes fetched from remote storage by this process: what range requests actually transferred.
_transferred = [0]
# HTTP objects whose server was seen to answer a range request with a range.
_ranged: set[str] = set()


def is_url(path: object) -> bool:
    """Whether `path` is a URL of a storage vaecheck reads (s3, gs, az, http, https, ...)."""
    if not isinstance(path, str):
        return False
    match = _URL.match(path)
    return match is not None and match.group(1).lower() in SCHEMES


def has_scheme(path: object) -> bool:
    """Whether `path` looks like a URL at all, of a scheme vaecheck reads or not."""
    return isinstance(path, str) and _URL.match(path) is not None




def scrub(text: str) -> str:
    """`text` (an exception's message) with every URL redacted and secret values masked."""
    text = _URL_ANYWHERE.sub(lambda m: redact(m.group(0)), text)
    for name, value in os.environ.items():
        if len(value) >= _SHORTEST_SECRET and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, MASK)
    return text


def display_name(url: str) -> str:
    """The last part of a URL's path, as a report names a file: `s3://b/d/x.npy` -> `x.npy`."""
    path = redact(url).split("?", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] or path


def transferred_bytes() -> int:
    """Bytes fetched from remote storage so far by this process (range requests included)."""
    return _transferred[0]


def storage_options(url: str) -> dict[str, Any]:
    """The options fsspec gets for this URL's storage, beyond its own conventions."""
    protocol = SCHEMES[_URL.match(url).group(1).lower()]  # type: ignore[union-attr]
    if protocol == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        # A wrong endpoint or a refused connection fails after a few quick tries, not minutes.
        config = {
            "connect_timeout": CONNECT_SECONDS,
            "read_timeout": READ_SECONDS,
            "retries": {"max_attempts": 2, "mode": "standard"},
        }
        options: dict[str, Any] = {"config_kwargs": config}
        if endpoint:
            options["client_kwargs"] = {"endpoint_url": endpoint}
        return options
    if protocol == "http":
        import aiohttp

        timeout = aiohttp.ClientTimeout(connect=CONNECT_SECONDS, sock_read=READ_SECONDS)
        return {"block_size": BLOCK_BYTES, "client_kwargs": {"timeout": timeout}}
    return {}


def url_filesystem(url: str) -> tuple[Any, str]:
    """`(fs, path)` for `url`: an fsspec filesystem and the path within it."""
    fsspec = _import_fsspec(url)
    # One filesystem per storage and credentials: a filesystem keeps the credentials and the
    # endpoint it was made with, so the environment they come from is part of the key.
    protocol = SCHEMES[_URL.match(url).group(1).lower()]  # type: ignore[union-attr]
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_CREDENTIAL_PREFIXES)))
    try:
        options = storage_options(url)
        cache_key = (protocol, repr(sorted(options.items(), key=str)), environment)
        cached = _filesystems.get(cache_key)
        if cached is None:
            fs, path = fsspec.core.url_to_fs(url, skip_instance_cache=True, **options)
            _filesystems.clear()  # one at a time: credentials are not kept longer than needed
            _filesystems[cache_key] = fs
        else:
            fs, path = cached, cached._strip_protocol(url)
    except ImportError as error:
        raise VaecheckError(
            f"reading {_URL.match(url).group(1)}:// URLs needs {error.name or 'a package'}: "  # type: ignore[union-attr]
            f"{install_command('cloud')}",
            redact(url),
        ) from None
    except Exception as error:
        raise storage_error(error, url) from None
    return fs, path


def url_size(url: str) -> int:
    """The size in bytes of the object at `url`; a VaecheckError if there is none."""
    fs, path = url_filesystem(url)
    try:
        info = fs.info(path)
    except Exception as error:
        raise storage_error(error, url) from None
    if info.get("type") == "directory":
        raise VaecheckError("a folder in the storage, not an object", redact(url))
    size = info.get("size")
    if size is None:
        raise VaecheckError(
            "the server does not state the object's size, so it cannot be read in ranges",
            redact(url),
        )
    return int(size)


def open_url(url: str, block_bytes: int = BLOCK_BYTES) -> BinaryIO:
    """The object at `url` as a seekable binary file; each read fetches only what it needs
    (at least `block_bytes` ahead, for a pass from start to end)."""
    url_size(url)  # a missing object or a denied access is named here, before any read
    fs, path = url_filesystem(url)
    try:
        handle = fs.open(path, "rb", block_size=block_bytes, cache_type="readahead")
    except Exception as error:
        raise storage_error(error, url) from None
    return _CountingFile(handle, url)


def read_ranges(url: str, ranges: Sequence[tuple[int, int]]) -> Iterator[bytes]:
    """The bytes of each `(start, stop)` range of the object, in order.

    Ranges closer than MERGE_GAP_BYTES are fetched as one request; the requests go out
    together (concurrently, for the storages whose fsspec backend is asynchronous).
    """
    fs, path = url_filesystem(url)
    if ranges:
        _check_ranges(fs, path, url)
    merged: list[list[int]] = []
    owners: list[int] = []
    for start, stop in ranges:
        if merged and start - merged[-1][1] <= MERGE_GAP_BYTES and start >= merged[-1][0]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
        owners.append(len(merged) - 1)
    fetched: list[bytes] = []
    for first in range(0, len(merged), RANGES_PER_CALL):
        batch = merged[first : first + RANGES_PER_CALL]
        try:
            pieces = fs.cat_ranges(
                [path] * len(batch), [s for s, _ in batch], [e for _, e in batch], on_error="raise"
            )
        except Exception as error:
            raise storage_error(error, url) from None
        for piece, (start, stop) in zip(pieces, batch):
            if isinstance(piece, Exception):
                raise storage_error(piece, url)
            if len(piece) > stop - start:  # the whole object, not the range asked for
                raise VaecheckError(SAMPLE_RANGES_REFUSED, redact(url))
            if len(piece) != stop - start:
                raise VaecheckError("the object ended early: it changed while vaecheck read it", redact(url))
            _transferred[0] += len(piece)
        fetched.extend(pieces)
    for (start, stop), owner in zip(ranges, owners):
        base = merged[owner][0]
        yield fetched[owner][start - base : stop - base]


@contextlib.contextmanager
def local_copy(url: str, what: str = "the file") -> Iterator[str]:
    """Download the object at `url` into a private temporary folder; yield the local path.

    The copy keeps the URL's file name (readers recognise formats by suffix) and is deleted
    on exit.
    """
    import tempfile

    fs, path = url_filesystem(url)
    try:
        if fs.isdir(path):
            raise VaecheckError(f"a folder in the storage: {what} must be one object", redact(url))
    except VaecheckError:
        raise
    except Exception as error:
        raise storage_error(error, url) from None
    name = re.sub(r"[^A-Za-z0-9._-]", "_", display_name(url).split("?")[0]) or "download"
    with tempfile.TemporaryDirectory(prefix="vaecheck-") as folder:
        local = os.path.join(folder, name)
        try:
            fs.get_file(path, local)
        except Exception as error:
            raise storage_error(error, url) from None
        _transferred[0] += os.path.getsize(local)
        yield local


def _check_ranges(fs: Any, path: str, url: str) -> None:
    """Refuse, before many requests each bring the whole object, an HTTP server that ignores
    range requests: one read of a byte past the start tells (fsspec refuses the answer from
    its headers, before its body is read)."""
    if not url.lower().startswith(("http://", "https://")) or url in _ranged:
        return
    try:
        with fs.open(path, "rb", block_size=1, cache_type="none") as probe:
            if probe.size is not None and probe.size > 2:
                probe.seek(1)
                probe.read(1)
    except Exception as error:
        if refuses_ranges(error):
            raise VaecheckError(SAMPLE_RANGES_REFUSED, redact(url)) from None
        raise storage_error(error, url) from None
    _ranged.add(url)


def refuses_ranges(error: BaseException) -> bool:
    """Whether the error is fsspec's on an HTTP server that answers a range request with the
    whole object."""
    return any(
        isinstance(cause, ValueError) and "support range requests" in str(cause)
        for cause in _causes(error)
    )


def storage_error(error: BaseException, url: str) -> VaecheckError:
    """What went wrong with remote storage, as one line naming the (redacted) URL."""
    shown = redact(url)
    if isinstance(error, VaecheckError):
        return error
    if refuses_ranges(error):
        return VaecheckError(RANGES_REFUSED, shown)
    unreachable = _connection_failure(error)
    if unreachable:
        return VaecheckError(
            "cannot reach the storage endpoint (refused, unreachable or not answering)", shown
        )
    status = _http_status(error)
    if status in (401, 403):
        return VaecheckError(f"access denied by the storage (HTTP {status})", shown)
    if status in (404, 410):
        return VaecheckError(f"no such object in the storage (HTTP {status})", shown)
    kind = type(error).__name__
    if isinstance(error, FileNotFoundError):
        return VaecheckError("no such object in the storage (or no access to list it)", shown)
    if isinstance(error, PermissionError):
        return VaecheckError("access denied by the storage", shown)
    if kind in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return VaecheckError(
            "no credentials for S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE, or run where an instance role applies",
            shown,
        )
    if kind in ("DefaultCredentialsError", "RefreshError"):
        return VaecheckError(
            "no credentials for Google Cloud Storage: set GOOGLE_APPLICATION_CREDENTIALS or run "
            "`gcloud auth application-default login`",
            shown,
        )
    if kind in ("ClientAuthenticationError", "CredentialUnavailableError"):
        return VaecheckError("no usable credentials for Azure storage", shown)
    reason = scrub(str(error).splitlines()[0] if str(error) else kind)
    return VaecheckError(f"cannot read from the storage ({reason})", shown)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and those it was raised from or while handling, nearest first."""
    current: BaseException | None = error
    for _ in range(8):
        if current is None:
            return
        yield current
        current = current.__cause__ or current.__context__


def _http_status(error: BaseException) -> int | None:
    """The HTTP status an error carries (aiohttp's `status`), here or in its causes."""
    for cause in _causes(error):
        status = getattr(cause, "status", None)
        if isinstance(status, int) and 100 <= status < 600:
            return status
    return None


def _connection_failure(error: BaseException) -> bool:
    """Whether the error, or one it was raised from, is a failure to connect at all (fsspec's
    HTTP backend reports a refused connection as a missing file, raised from the real cause)."""
    names = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
             "ClientConnectorError", "ServerTimeoutError", "ConnectionRefusedError")
    return any(
        type(cause).__name__ in names or isinstance(cause, (ConnectionError, TimeoutError))
        for cause in _causes(error)
    )


def _import_fsspec(url: str) -> Any:
    try:
        import fsspec
    except ImportError:
        scheme = _URL.match(url).group(1)  # type: ignore[union-attr]
        raise VaecheckError(
            f"reading {scheme}:// URLs needs the cloud extra: {install_command('cloud')}", redact(url)
        ) from None
    return fsspec


class _CountingFile:
    """An fsspec file that adds what its range requests fetched to transferred_bytes, and
    turns the storage's exceptions into VaecheckErrors.

    When an HTTP server ignores range requests, a file read front to back so far (each read
    starting where the bytes read before end) goes on as one streamed GET (_StreamingFile);
    a read out of order is the one-line RANGES_REFUSED.
    """

    def __init__(self, handle: Any, url: str) -> None:
        self._handle = handle
        self._url = url
        self._counted = 0
        self._frontier = 0  # the bytes [0, frontier) were read front to back
        self._streaming = False

    @property
    def size(self) -> int:
        return int(self._handle.size)

    def _count(self) -> None:
        cache = getattr(self._handle, "cache", None)
        total = getattr(cache, "total_requested_bytes", 0)
        _transferred[0] += total - self._counted
        self._counted = total

    def read(self, size: int = -1) -> bytes:
        start = self.tell()
        try:
            data = self._handle.read(size)
        except Exception as error:
            if not (refuses_ranges(error) and not self._streaming and start <= self._frontier):
                raise storage_error(error, self._url) from None
            data = self._stream_from(start, size)
        finally:
            self._count()
        if start <= self._frontier:
            self._frontier = max(self._frontier, start + len(data))
        return data

    def _stream_from(self, start: int, size: int) -> bytes:
        """Go on with one streamed GET of the object, from `start`, and read `size` bytes."""
        self._count()
        fs, path = url_filesystem(self._url)
        total = self.size
        with contextlib.suppress(Exception):
            self._handle.close()
        self._handle = _StreamingFile(fs, path, self._url, total)
        self._counted = 0
        self._streaming = True
        try:
            self._handle.skip_to(start)
            return self._handle.read(size)
        except VaecheckError:
            raise
        except Exception as error:
            raise storage_error(error, self._url) from None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return int(self._handle.seek(offset, whence))

    def tell(self) -> int:
        return int(self._handle.tell())

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:  # io.BufferedReader flushes its raw file on closing
        pass

    def close(self) -> None:
        self._count()
        self._handle.close()

    @property
    def closed(self) -> bool:
        return bool(self._handle.closed)

    def __enter__(self) -> _CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StreamingFile:
    """The object as one streamed GET, for an HTTP server that ignores range requests: read
    front to back, with its first HEAD_BYTES kept so that a header can be read again. A read
    anywhere else is the one-line RANGES_REFUSED."""

    def __init__(self, fs: Any, path: str, url: str, size: int) -> None:
        self._stream = fs.open(path, "rb", block_size=0)
        self._url = url
        self.size = size
        self._head = bytearray()
        self._consumed = 0  # bytes taken from the stream
        self._position = 0
        self.closed = False

    def skip_to(self, position: int) -> None:
        """Take the stream up to `position` (no further than the reads before the fallback)."""
        while self._consumed < position:
            self._position = self._consumed
            if not self.read(min(position - self._consumed, STREAM_PIECE_BYTES)):
                break
        self._position = position

    def read(self, size: int = -1) -> bytes:
        wanted = self.size - self._position if size is None or size < 0 else size
        pieces: list[bytes] = []
        while wanted > 0:
            if self._position < len(self._head):
                piece = bytes(self._head[self._position : self._position + wanted])
            elif self._position == self._consumed:
                piece = self._stream.read(min(wanted, STREAM_PIECE_BYTES))
                if not piece:
                    break
                self._consumed += len(piece)
                _transferred[0] += len(piece)
                kept = HEAD_BYTES - len(self._head)
                if kept > 0:
                    self._head += piece[:kept]
            else:
                raise VaecheckError(RANGES_REFUSED, redact(self._url))
            self._position += len(piece)
            wanted -= len(piece)
            pieces.append(piece)
        return b"".join(pieces)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self._stream.close()
