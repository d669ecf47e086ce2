"""The storage contract, run against both backends: local disk (in tmp_path) and S3 over HTTP
(a moto server in another process). Then what is specific to each: keys that escape the local
root, S3 unreachable, and choosing the backend from the settings.
"""

from __future__ import annotations

import hashlib
import io
import socket
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import LimitedStream

from webapp.config import Settings
from webapp.storage import (
    CHUNK_SIZE,
    LocalStorage,
    ObjectMissing,
    S3Storage,
    Storage,
    StorageError,
    TooLarge,
    WriteResult,
    get_storage,
    key_for,
    tenant_prefix,
)

MB = 1024 * 1024
#: 1 MiB of varied bytes; generated streams cycle through it with an odd offset.
_BLOCK = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(MB // 32))


class Generated(io.RawIOBase):
    """``size`` bytes made on demand (nothing is held in memory); raises Boom at ``fail_at``."""

    def __init__(self, size: int, fail_at: int | None = None) -> None:
        self.size = size
        self.fail_at = fail_at
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise Boom("the uploader went away")
        n = min(len(buffer), self.size - self.pos, 64 * 1024)
        start = (self.pos * 7) % len(_BLOCK)
        piece = (_BLOCK[start:] + _BLOCK[:start])[:n]
        buffer[:n] = piece
        self.pos += n
        return n


class Boom(Exception):
    """What a failing upload stream raises."""


def sha256_of(stream: io.RawIOBase) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(MB):
        digest.update(chunk)
    return digest.hexdigest()


def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(storage.read_range(key, start, end))


@dataclass
class Backend:
    kind: str
    storage: LocalStorage | S3Storage
    #: Everything in the backend: object keys, temp files, pending multipart uploads.
    leftovers: Callable[[], list[str]]


def _local_backend(tmp_path: Path) -> Iterator[Backend]:
    root = tmp_path / "media"

    def leftovers() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()) if root.exists() else []

    yield Backend("local", LocalStorage(root), leftovers)


def _s3_backend(server: Any) -> Iterator[Backend]:
    bucket = server.create_bucket(f"test-{uuid.uuid4().hex[:12]}")
    admin = server.admin

    def leftovers() -> list[str]:
        objects = admin.list_objects_v2(Bucket=bucket).get("Contents", [])
        uploads = admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return sorted([o["Key"].removeprefix("media/") for o in objects]
                      + [f"pending upload: {u['Key']}" for u in uploads])

    storage = S3Storage(bucket, "media", client_kwargs=server.client_kwargs)
    yield Backend("s3", storage, leftovers)
    storage.close()


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield from _local_backend(tmp_path)
    else:
        yield from _s3_backend(request.getfixturevalue("s3_server"))


KEY = key_for(1, "calls", "abc123.wav")


# --- the contract --------------------------------------------------------------------------


def test_write_then_read_back(backend: Backend) -> None:
    store = backend.storage
    data = b"RIFF" + bytes(range(256)) * 100

    result = store.write(KEY, io.BytesIO(data), content_type="audio/wav")

    assert result == WriteResult(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    assert read_all(store, KEY) == data
    assert store.size(KEY) == len(data)
    assert store.exists(KEY)
    assert isinstance(store, Storage)
    assert backend.leftovers() == [KEY]


def test_empty_object(backend: Backend) -> None:
    result = backend.storage.write(KEY, io.BytesIO(b""), content_type="audio/wav")

    assert result == WriteResult(0, hashlib.sha256(b"").hexdigest())
    assert backend.storage.size(KEY) == 0
    assert read_all(backend.storage, KEY) == b""
    assert read_all(backend.storage, KEY, 0, 10) == b""


def test_range_reads(backend: Backend) -> None:
    store = backend.storage
    data = bytes(range(256)) * 40
    store.write(KEY, io.BytesIO(data), content_type="audio/wav")
    n = len(data)

    assert read_all(store, KEY, 10, 19) == data[10:20]  # end included, as in HTTP
    assert read_all(store, KEY, 100) == data[100:]  # open end
    assert read_all(store, KEY, 0, 0) == data[:1]  # single byte
    assert read_all(store, KEY, n - 1, n - 1) == data[-1:]  # the last byte
    assert read_all(store, KEY, n - 5, n + 1000) == data[-5:]  # an end past the object is clamped
    assert read_all(store, KEY, n) == b""  # a start at the end: nothing (the view answers 416)
    assert read_all(store, KEY, n + 100, n + 200) == b""
    with pytest.raises(ValueError):
        store.read_range(KEY, -1)
    with pytest.raises(ValueError):
        store.read_range(KEY, 10, 9)


def test_a_range_can_be_closed_before_its_end(backend: Backend) -> None:
    backend.storage.write(KEY, Generated(3 * MB), content_type="audio/wav")

    chunks = backend.storage.read_range(KEY)
    assert len(next(chunks)) <= CHUNK_SIZE
    chunks.close()  # type: ignore[attr-defined]  # WSGI servers do this when a client goes away

    assert list(chunks) == []


def test_missing_objects(backend: Backend) -> None:
    store = backend.storage
    with pytest.raises(ObjectMissing):
        store.size(KEY)
    with pytest.raises(ObjectMissing):
        store.read_range(KEY)  # raised by the call itself, before any response is started
    with pytest.raises(ObjectMissing):
        with store.local_copy(KEY):
            pass
    assert not store.exists(KEY)
    store.delete(KEY)  # no error


def test_overwrite_replaces_the_object(backend: Backend) -> None:
    store = backend.storage
    store.write(KEY, io.BytesIO(b"first version, the longer one"), content_type="audio/wav")

    result = store.write(KEY, io.BytesIO(b"second"), content_type="audio/wav")

    assert result.size == 6
    assert read_all(store, KEY) == b"second"
    assert backend.leftovers() == [KEY]


def test_delete_and_exists(backend: Backend) -> None:
    store = backend.storage
    other = key_for(1, "calls", "other.wav")
    store.write(KEY, io.BytesIO(b"x"), content_type="audio/wav")
    store.write(other, io.BytesIO(b"y"), content_type="audio/wav")

    store.delete(KEY)

    assert not store.exists(KEY)
    assert store.exists(other)
    assert backend.leftovers() == [other]


def test_delete_prefix_deletes_only_under_the_prefix(backend: Backend) -> None:
    store = backend.storage
    doomed = [key_for(1, "calls", "a.wav"), key_for(1, "calls", "b.wav"), key_for(1, "waveforms", "a.json")]
    kept = [key_for(10, "calls", "a.wav"), key_for(2, "calls", "a.wav")]
    for key in doomed + kept:
        store.write(key, io.BytesIO(key.encode()), content_type="application/octet-stream")

    assert store.delete_prefix(tenant_prefix(1)) == 3

    assert backend.leftovers() == sorted(kept)
    assert store.delete_prefix("tenants/1") == 0  # again: nothing left (and no trailing slash needed)
    assert store.delete_prefix("tenants/3/") == 0  # never existed
    for bad in ("", "/", "tenants/../x"):
        with pytest.raises(ValueError):
            store.delete_prefix(bad)


def test_local_copy_has_the_same_bytes(backend: Backend) -> None:
    store = backend.storage
    data = bytes(range(256)) * 1000
    store.write(KEY, io.BytesIO(data), content_type="audio/wav")

    with store.local_copy(KEY) as path:
        assert path.read_bytes() == data
        assert path.suffix == ".wav"  # ffprobe sees the extension

    if backend.kind == "s3":
        assert not path.exists()
        assert not path.parent.exists()  # the temporary folder went too
    else:
        assert path.exists()  # the object's own file, not a copy
    assert backend.leftovers() == [KEY]


def test_a_big_stream_goes_through_in_bounded_memory(backend: Backend) -> None:
    size = 20 * MB + 12345
    expected = sha256_of(Generated(size))

    tracemalloc.start()
    try:
        result = backend.storage.write(KEY, Generated(size), content_type="audio/wav")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result == WriteResult(size, expected)
    assert peak < 40 * MB, f"peak memory {peak / MB:.1f} MiB"
    digest, chunk_sizes = hashlib.sha256(), set()
    for chunk in backend.storage.read_range(KEY):
        digest.update(chunk)
        chunk_sizes.add(len(chunk))
    assert digest.hexdigest() == expected
    assert max(chunk_sizes) <= CHUNK_SIZE
    if isinstance(backend.storage, S3Storage):
        head = backend.storage._client.head_object(Bucket=backend.storage.bucket, Key=f"media/{KEY}")
        assert head["ETag"].strip('"').endswith("-3")  # 8 MiB + 8 MiB + the rest
    assert backend.leftovers() == [KEY]


@pytest.mark.parametrize("size", [100, 20 * MB], ids=["small", "multipart"])
def test_too_large_leaves_nothing_behind(backend: Backend, size: int) -> None:
    limit = size // 2
    with pytest.raises(TooLarge):
        backend.storage.write(KEY, Generated(size), content_type="audio/wav", max_bytes=limit)

    assert backend.leftovers() == []  # no object, no temp file, no pending multipart upload


def test_exactly_max_bytes_is_accepted(backend: Backend) -> None:
    result = backend.storage.write(KEY, io.BytesIO(b"x" * 10), content_type="audio/wav", max_bytes=10)

    assert result.size == 10


@pytest.mark.parametrize("fail_at", [64 * 1024, 12 * MB], ids=["small", "multipart"])
def test_a_stream_failing_midway_leaves_nothing_behind(backend: Backend, fail_at: int) -> None:
    with pytest.raises(Boom):  # the stream's own error, unchanged
        backend.storage.write(KEY, Generated(20 * MB, fail_at=fail_at), content_type="audio/wav")

    assert backend.leftovers() == []


def test_a_client_disconnecting_leaves_nothing_behind(backend: Backend) -> None:
    # What Flask's request.stream does when the client announced more bytes than it sent.
    body = LimitedStream(io.BytesIO(b"x" * 1000), 9 * MB)

    with pytest.raises(ClientDisconnected):
        backend.storage.write(KEY, body, content_type="audio/wav")

    assert backend.leftovers() == []


def test_a_failed_write_keeps_the_previous_object(backend: Backend) -> None:
    backend.storage.write(KEY, io.BytesIO(b"the good one"), content_type="audio/wav")

    with pytest.raises(TooLarge):
        backend.storage.write(KEY, io.BytesIO(b"x" * 1000), content_type="audio/wav", max_bytes=100)

    assert read_all(backend.storage, KEY) == b"the good one"
    assert backend.leftovers() == [KEY]


# --- keys ----------------------------------------------------------------------------------


def test_key_for_builds_tenant_keys() -> None:
    assert key_for(42, "calls", "0f3a.mp3") == "tenants/42/calls/0f3a.mp3"
    assert tenant_prefix(42) == "tenants/42/"


@pytest.mark.parametrize("area, name", [
    ("calls", "../x"), ("calls", "a/b"), ("calls", ""), ("calls", ".."), ("calls", "."), ("calls", ".hidden"),
    ("calls", "a b.wav"), ("calls", "é.wav"), ("calls", "a\\b"), ("calls", "x\x00"), ("..", "x"), ("", "x"),
    ("a/b", "x"),
])
def test_key_for_rejects_path_tricks(area: str, name: str) -> None:
    with pytest.raises(ValueError):
        key_for(1, area, name)


@pytest.mark.parametrize("tenant_id", [0, -1, True, "1"])
def test_key_for_rejects_bad_tenant_ids(tenant_id: Any) -> None:
    with pytest.raises(ValueError):
        key_for(tenant_id, "calls", "x")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "tenants/1/../../../x", "tenants//x", "", "tenants/1/"])
def test_local_storage_refuses_keys_escaping_its_root(tmp_path: Path, key: str) -> None:
    store = LocalStorage(tmp_path / "media")

    with pytest.raises(ValueError):
        store.write(key, io.BytesIO(b"x"), content_type="text/plain")
    with pytest.raises(ValueError):
        store.read_range(key)
    assert list(tmp_path.rglob("*")) == []


def test_local_storage_refuses_a_symlink_out_of_its_root(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "media" / "tenants").symlink_to(tmp_path / "outside")
    store = LocalStorage(tmp_path / "media")

    with pytest.raises(ValueError):
        store.write(KEY, io.BytesIO(b"x"), content_type="text/plain")
    assert list((tmp_path / "outside").iterdir()) == []


# --- S3 failures ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nobody listens there any more


def test_s3_unreachable_raises_storage_error() -> None:
    store = S3Storage("media", client_kwargs={
        "endpoint_url": f"http://127.0.0.1:{_closed_port()}", "aws_access_key_id": "test",
        "aws_secret_access_key": "test", "region_name": "us-east-1",
        "config": Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1}),
    })
    try:
        with pytest.raises(StorageError) as raised:
            store.write(KEY, io.BytesIO(b"x"), content_type="audio/wav")
        assert type(raised.value) is StorageError
        assert raised.value.__cause__ is not None  # the botocore error, kept for the logs
        for call in (lambda: store.size(KEY), lambda: store.read_range(KEY), lambda: store.delete(KEY)):
            with pytest.raises(StorageError):
                call()
    finally:
        store.close()


def test_s3_missing_bucket_raises_storage_error(s3_server: Any) -> None:
    store = S3Storage("no-such-bucket", client_kwargs=s3_server.client_kwargs)
    try:
        with pytest.raises(StorageError) as raised:
            store.write(KEY, io.BytesIO(b"x"), content_type="audio/wav")
        assert not isinstance(raised.value, ObjectMissing)
    finally:
        store.close()


# --- choosing the backend ------------------------------------------------------------------


def test_get_storage_by_url(tmp_path: Path) -> None:
    local = get_storage(Settings(storage_url=f"file://{tmp_path}/media"))
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "media"
    assert get_storage(Settings(storage_url=f"file://{tmp_path}/media")) is local  # one per URL

    s3 = get_storage(Settings(storage_url="s3://ecoute-media/prod/media", s3_endpoint_url="http://127.0.0.1:9"))
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix) == ("ecoute-media", "prod/media")
    assert s3._client.meta.endpoint_url == "http://127.0.0.1:9"


@pytest.mark.parametrize("url", ["ftp://host/media", "media", "file://relative/media", "s3://", "s3:///prefix"])
def test_get_storage_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError):
        get_storage(Settings(storage_url=url))
