"""Storage servers on 127.0.0.1 for tests and benchmarks: moto's S3 server, a plain HTTP
server that honours range requests and one that ignores them (as `python -m http.server`
does); each counts the bytes of the bodies it sends."""

from __future__ import annotations

import http.server
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class _Counting:
    """A WSGI app that counts the body bytes its wrapped app sends."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent = 0
        self.requests = 0

    def __call__(self, environ: dict, start_response: Any) -> Iterator[bytes]:
        self.requests += 1
        for chunk in self.app(environ, start_response):
            self.sent += len(chunk)
            yield chunk


class S3Server:
    """moto's S3 in server mode, on a free port of 127.0.0.1, in a thread."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.counter = _Counting(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", 0, self.counter, threaded=True, request_handler=MotoRequestHandler
        )
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with `Range: bytes=a-b`; `/forbidden/...` answers 403."""

    sent = [0]
    requests = [0]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def send_head(self) -> Any:
        type(self).requests[0] += 1
        if self.path.startswith("/forbidden/"):
            self.send_error(403, "Forbidden")
            return None
        path = self.translate_path(self.path.split("?", 1)[0])
        if not os.path.isfile(path):
            self.send_error(404, "Not Found")
            return None
        size = os.path.getsize(path)
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        handle = open(path, "rb")
        if match is None:
            self.send_response(200)
            start, stop = 0, size
        else:
            start = int(match.group(1))
            stop = min(int(match.group(2)) + 1 if match.group(2) else size, size)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        handle.seek(start)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(stop - start))
        self.end_headers()
        self._remaining = stop - start
        return handle

    def copyfile(self, source: Any, outputfile: Any) -> None:
        remaining = self._remaining
        while remaining > 0:
            data = source.read(min(remaining, 1 << 20))
            if not data:
                break
            outputfile.write(data)
            remaining -= len(data)
            type(self).sent[0] += len(data)


class _NoRangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files as `python -m http.server` serves them: a Range header is ignored, and
    every GET answers 200 with the whole file."""

    sent = [0]
    requests = [0]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def send_head(self) -> Any:
        type(self).requests[0] += 1
        del self.headers["Range"]  # whatever this Python's http.server would do with it
        return super().send_head()

    def copyfile(self, source: Any, outputfile: Any) -> None:
        while data := source.read(1 << 16):
            try:
                outputfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the reader took what it needed
                return
            type(self).sent[0] += len(data)


class HTTPServer:
    """Files of `root` over plain HTTP on a free port of 127.0.0.1, in a thread; with
    `ranges` False, a server that ignores range requests."""

    def __init__(self, root: Path, ranges: bool = True) -> None:
        base = _RangeHandler if ranges else _NoRangeHandler
        handler = type("Handler", (base,), {"sent": [0], "requests": [0]})
        self._handler = handler

        def make(*args: Any, **kwargs: Any) -> Any:
            return handler(*args, directory=str(root), **kwargs)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def sent(self) -> int:
        return self._handler.sent[0]

    @property
    def requests(self) -> int:
        return self._handler.requests[0]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def closed_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SilentServer:
    """A TCP port of 127.0.0.1 that accepts connections and never answers: an endpoint that
    hangs, as a blackholed or overloaded one does."""

    def __init__(self) -> None:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port = self._socket.getsockname()[1]
        self._held: list[Any] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()

    def _hold(self) -> None:
        self._socket.settimeout(0.1)
        while not self._stopping.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self._held.append(connection)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        for connection in self._held:
            connection.close()
        self._socket.close()

