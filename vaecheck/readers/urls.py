"""Data named by URL (`s3://`, `gs://`, `az://`, `https://`, ...), reached through fsspec.

fsspec and the storage's own package (s3fs, gcsfs, adlfs) come with the `cloud` extra and are
imported only for a URL. The storage's standard credential conventions apply (for S3, the
AWS variables and files, including `AWS_ENDPOINT_URL` for S3-compatible stores). A missing
object, a refused access or a missing credential is one line naming the URL; the exception
text from the storage is shown without its traceback, and it never holds the credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vaecheck.errors import VaecheckError
from vaecheck.extras import install_command
from vaecheck.readers.remote import is_url as is_url

def url_filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path within it) for a URL, with the storage options of
    readers/remote (endpoint, timeouts); one line if its storage is unknown."""
    from vaecheck.readers.remote import url_filesystem as filesystem

    return filesystem(url)


@contextmanager
def remote_errors(url: str) -> Iterator[None]:
    """Errors of the storage while reading `url` as one line, in the same words as every other
    remote read (readers/remote.storage_error); a missing storage package names its extra."""
    try:
        yield
    except VaecheckError:
        raise
    except ImportError as exc:
        # fsspec names the package a protocol needs ("Install gcsfs to access Google Storage").
        text = (str(exc).strip() or "a storage package is missing").splitlines()[0].rstrip(".")
        raise VaecheckError(f"cannot reach the data: {text}: {install_command('cloud')}", url) from None
    except Exception as exc:  # storage clients raise their own types: botocore, aiohttp, ...
        from vaecheck.readers.remote import storage_error

        raise storage_error(exc, url) from None
