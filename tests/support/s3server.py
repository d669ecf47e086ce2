"""A moto S3 server on 127.0.0.1, reached over real HTTP, for the storage tests::

    with S3Server() as server:
        server.create_bucket("media")
        storage = S3Storage("media", client_kwargs=server.client_kwargs)

The server (moto's ``ThreadedMotoServer`` on a free port) runs in a child process, not in a
thread of the test process: moto keeps objects in memory and holds a whole object twice while it
completes a multipart upload, which would swamp the ``tracemalloc`` measurement of our own
bounded-memory writes; and its global state stays out of the test process.
"""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType
from typing import Any

#: Fake credentials: moto accepts any; boto3 refuses to sign without some.
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


class S3Server:
    """Start with :meth:`start` (or ``with S3Server() as server:``), stop with :meth:`stop`."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[str] | None = None
        self._admin: Any = None

    def start(self) -> S3Server:
        """Start the server on a free port of 127.0.0.1; returns self once it answers."""
        if self._process is not None:
            raise RuntimeError("the S3 server is already started")
        process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            process.kill()
            _close(process)
            raise RuntimeError(f"the moto S3 server did not start (it said {line!r})")
        self.port = int(line)
        self._process = process
        return self

    def stop(self) -> None:
        """Stop the server (closing its stdin tells it to) and forget every bucket."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        process, self._process = self._process, None
        if process is None:
            return
        _close(process)

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._process is None:
            raise RuntimeError("start the S3 server first")
        return f"http://{self.host}:{self.port}"

    @property
    def client_kwargs(self) -> dict[str, Any]:
        """What ``boto3.client("s3", ...)`` (or ``S3Storage(client_kwargs=...)``) needs to reach it."""
        return {"endpoint_url": self.endpoint_url, **CREDENTIALS}

    def client(self) -> Any:
        """A new boto3 S3 client for this server; close it after use."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client("s3", config=Config(s3={"addressing_style": "path"}),
                                              **self.client_kwargs)

    @property
    def admin(self) -> Any:
        """A client kept open until :meth:`stop`, to look at buckets from the outside."""
        if self._admin is None:
            self._admin = self.client()
        return self._admin

    def create_bucket(self, name: str) -> str:
        """Create the bucket ``name``; returns the name."""
        self.admin.create_bucket(Bucket=name)
        return name


def _close(process: subprocess.Popen[str]) -> None:
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    finally:
        if process.stdout is not None:
            process.stdout.close()


def _serve() -> None:
    """Child process: serve until stdin closes, printing the bound port first."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in the test output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(port, flush=True)
    sys.stdin.read()
    server.stop()
    # stop() shuts the serving loop down but leaves the listening socket open.
    if server._server is not None:
        server._server.server_close()


if __name__ == "__main__":
    _serve()
