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
def remote_errors(url: str, doing: str = "cannot reach the data") -> Iterator[None]:
    try:
        yield
    except VaecheckError:
        raise
    except ImportError as exc:
        # fsspec names the package a protocol needs ("Install gcsfs to access Google Storage").
        text = (str(exc).strip() or "a storage package is missing").splitlines()[0].rstrip(".")
        raise VaecheckError(f"{doing}: {text}: {install_command('cloud')}", url) from None
    except FileNotFoundError:
        raise VaecheckError("no such object (or no access to the bucket that would hold it)", url) from None
    except PermissionError:
        raise VaecheckError("access denied", url) from None
    except Exception as exc:  # storage clients raise their own types: botocore, aiohttp, ...
        from vaecheck.readers.remote import RANGES_REFUSED, refuses_ranges

        if refuses_ranges(exc):
            raise VaecheckError(RANGES_REFUSED, url) from None
        from vaecheck.readers.remote import scrub

        # A storage client's message can quote a credential; remote's scrub masks those.
        text = scrub((str(exc).strip() or type(exc).__name__).splitlines()[0])
        raise VaecheckError(f"{doing} ({type(exc).__name__}: {text})", url) from None
