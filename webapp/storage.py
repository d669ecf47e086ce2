"""Storage: where recordings and other files live, on local disk or in an S3 bucket.

This is the only module that imports ``boto3`` and the only place that builds object keys
(:func:`key_for`: every key starts with ``tenants/<tenant_id>/``). Callers get a backend with
:func:`get_storage` and code against the :class:`Storage` protocol:

- writes stream in bounded memory, hash while they go, and are all-or-nothing: a failed write
  (too large, a network error, the uploader's stream failing) leaves no object and no partial
  file behind, and an object that was already at that key stays as it was;
- a write to an existing key replaces it, so handlers that write deterministic keys can run twice;
- backend failures become :class:`StorageError`, with the original exception as ``__cause__``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webapp import files
from webapp.config import Settings

log = logging.getLogger(__name__)

#: Size of one multipart-upload part (S3 wants at least 5 MiB for all parts but the last).
PART_SIZE = 8 * 1024 * 1024
#: Largest piece read from an upload stream, written to disk or yielded by ``read_range``.
CHUNK_SIZE = 1024 * 1024
_MIN_PART_SIZE = 5 * 1024 * 1024

#: One path segment of a key: no separators, no leading dot (so no ``.``, ``..`` or hidden
#: files, and never a name like our temporary files).
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_TEMP_PREFIX = ".upload-"
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class StorageError(Exception):
    """The storage backend failed (disk, network, S3 error); the failed write left nothing behind."""


class TooLarge(StorageError):
    """The stream was longer than ``max_bytes``; nothing was stored."""


class ObjectMissing(StorageError):
    """No object at that key."""


@dataclass(frozen=True)
class WriteResult:
    """What a write stored: its length in bytes and the SHA-256 (hex) of its content."""

    size: int
    sha256: str


def _check_segment(value: str, what: str) -> str:
    if not _SEGMENT.fullmatch(value) or ".." in value:
        raise ValueError(f"invalid {what} for a storage key: {value!r}")
    return value


def key_for(tenant_id: int, area: str, name: str) -> str:
    """Build the object key ``tenants/<tenant_id>/<area>/<name>``.

    ``area`` and ``name`` are ids, hashes or fixed words, never a user's file name: they may hold
    only ``A-Z a-z 0-9 . _ -``, not start with a dot and not contain ``..``. Raises ValueError
    otherwise, or when ``tenant_id`` is not a positive integer.
    """
    if isinstance(tenant_id, bool) or not isinstance(tenant_id, int) or tenant_id < 1:
        raise ValueError(f"invalid tenant id for a storage key: {tenant_id!r}")
    return f"tenants/{tenant_id}/{_check_segment(area, 'area')}/{_check_segment(name, 'name')}"


@dataclass(frozen=True)
class RenditionKeys:
    asr: str  #: 16 kHz mono WAV for speech recognition
    playback: str  #: loudness-normalised Opus in WebM, what browsers and kiosks play
    peaks: str  #: JSON waveform peaks
    #: Stereo calls with one voice per channel only: 16 kHz mono WAV of the left and right channels.
    asr_channels: tuple[str, str]

    def all(self) -> tuple[str, str, str]:
        """The renditions every call has (written last, so their presence means the set is complete)."""
        return (self.asr, self.playback, self.peaks)


def rendition_keys(tenant_id: int, call_id: int, sha256: str) -> RenditionKeys:
    """Where the worker puts a call's renditions: derived from the call, so the same on every run."""
    stem = f"{call_id}-{sha256[:16]}"
    return RenditionKeys(
        asr=key_for(tenant_id, "renditions", f"{stem}-asr.wav"),
        playback=key_for(tenant_id, "renditions", f"{stem}-play.webm"),
        peaks=key_for(tenant_id, "renditions", f"{stem}-peaks.json"),
        asr_channels=(key_for(tenant_id, "renditions", f"{stem}-asr-left.wav"),
                      key_for(tenant_id, "renditions", f"{stem}-asr-right.wav")),
    )


def clip_key(tenant_id: int, sha256: str) -> str:
    """Where a rendered clip lives: named by its content hash, so a kiosk may cache it for ever."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise ValueError(f"invalid content hash for a clip key: {sha256!r}")
    return key_for(tenant_id, "clips", f"{sha256}.webm")


def probe_key() -> str:
    """A fresh key outside every tenant's folder, where start-up checks write and delete a few bytes."""
    return f"preflight-{os.urandom(8).hex()}"


def tenant_prefix(tenant_id: int) -> str:
    """The prefix under which every object of ``tenant_id`` lives (for :meth:`Storage.delete_prefix`)."""
    if isinstance(tenant_id, bool) or not isinstance(tenant_id, int) or tenant_id < 1:
        raise ValueError(f"invalid tenant id for a storage key: {tenant_id!r}")
    return f"tenants/{tenant_id}/"


def _check_key(key: str) -> str:
    """``key`` if every ``/``-separated segment is a safe name; ValueError otherwise."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"invalid storage key: {key!r}")
    for segment in key.split("/"):
        _check_segment(segment, "key segment")
    return key


def _check_prefix(prefix: str) -> str:
    """A prefix names a folder: ``tenants/7`` and ``tenants/7/`` both mean ``tenants/7/``."""
    return _check_key(prefix[:-1] if prefix.endswith("/") else prefix)


class ReadableStream(Protocol):
    """What ``write`` reads from: ``BinaryIO``, ``IO[bytes]``, a request body, a raw stream."""

    def read(self, size: int = ..., /) -> bytes | None: ...


@runtime_checkable
class Storage(Protocol):
    """What both backends offer; keys come from :func:`key_for`."""

    def write(self, key: str, stream: ReadableStream, *, content_type: str,
              max_bytes: int | None = None) -> WriteResult:
        """Store everything ``stream`` yields at ``key``, replacing what was there."""
        ...

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes from ``start`` to ``end`` included, in chunks of at most 1 MiB."""
        ...

    def size(self, key: str) -> int:
        """Length in bytes of the object at ``key``."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object at ``key``, if any."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix``; returns how many there were."""
        ...

    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        """A local file with the object's bytes, for the time of a ``with`` block."""
        ...


# --- shared pieces -------------------------------------------------------------------------


class _HashingReader:
    """Reads the caller's stream in chunks, counting and hashing them, and enforces ``max_bytes``.

    Exceptions raised by the stream itself (a client that disconnects, a broken pipe...) go
    through unchanged; ``stream_failed`` tells them apart from the backend's own errors.
    """

    def __init__(self, stream: ReadableStream, max_bytes: int | None) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        self._stream = stream
        self._max_bytes = max_bytes
        self._sha256 = hashlib.sha256()
        self.size = 0
        self.stream_failed = False

    def read(self, limit: int = CHUNK_SIZE) -> bytes:
        """The next chunk of at most ``min(limit, CHUNK_SIZE)`` bytes; ``b""`` at the end.

        Raises :class:`TooLarge` as soon as the stream goes past ``max_bytes`` (never reading
        more than one byte beyond it).
        """
        want = min(limit, CHUNK_SIZE)
        if self._max_bytes is not None:
            want = min(want, self._max_bytes + 1 - self.size)
        try:
            chunk = self._stream.read(want)
            if chunk is None:
                raise ValueError("the stream is non-blocking and had no data ready; pass a blocking stream")
        except BaseException:
            self.stream_failed = True
            raise
        if not chunk:
            return b""
        self.size += len(chunk)
        if self._max_bytes is not None and self.size > self._max_bytes:
            raise TooLarge(f"the stream is longer than {self._max_bytes} bytes")
        self._sha256.update(chunk)
        return bytes(chunk)

    def result(self) -> WriteResult:
        return WriteResult(size=self.size, sha256=self._sha256.hexdigest())


class _Source(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class _Chunks(Iterator[bytes]):
    """The bytes of an opened range, at most :data:`CHUNK_SIZE` at a time.

    The source (file or HTTP body) is closed when the range is exhausted, on :meth:`close`
    (which WSGI servers call on a response body) or when the iterator is garbage-collected.
    Read errors of the backend become :class:`StorageError`.
    """

    def __init__(self, source: _Source | None, remaining: int, key: str,
                 errors: tuple[type[BaseException], ...] = ()) -> None:
        self._source = source
        self._remaining = remaining if source is not None else 0
        self._key = key
        self._errors = errors

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        if self._source is None or self._remaining <= 0:
            self.close()
            raise StopIteration
        try:
            chunk = self._source.read(min(CHUNK_SIZE, self._remaining))
        except self._errors as exc:
            self.close()
            raise StorageError(f"reading {self._key!r} failed: {exc}") from exc
        if not chunk:
            self.close()
            raise StorageError(f"{self._key!r} ended {self._remaining} bytes early (changed while being read?)")
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        """Release the file or connection; further iteration yields nothing."""
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def __del__(self) -> None:
        self.close()


def _check_range(start: int, end: int | None) -> None:
    if start < 0:
        raise ValueError(f"range start must be >= 0, not {start}")
    if end is not None and end < start:
        raise ValueError(f"range end {end} is before its start {start}")


# --- local disk ----------------------------------------------------------------------------


class _SizedStorage:
    """What both backends derive from ``size``."""

    def size(self, key: str) -> int:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        try:
            self.size(key)
        except ObjectMissing:
            return False
        return True


class LocalStorage(_SizedStorage):
    """Objects as files under ``root`` (``root/<key>``); the folders are created on demand.

    Writes go to a temporary file in the target's folder, then replace the target atomically
    (``os.replace``), so readers see the old object or the new one, never a partial file.
    ``content_type`` is not kept: the database row has it.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        """The file for ``key``; ValueError for a malformed key or one that leads outside ``root``."""
        path = self.root / _check_key(key)
        # Segments cannot be "..", but a symbolic link inside root could still point outside.
        if not path.resolve().is_relative_to(self.root):
            raise ValueError(f"storage key {key!r} leads outside {self.root}")
        return path

    def write(self, key: str, stream: ReadableStream, *, content_type: str,
              max_bytes: int | None = None) -> WriteResult:
        """Store everything ``stream`` yields at ``key``, replacing what was there, in 1 MiB chunks.

        Raises :class:`TooLarge` past ``max_bytes``, :class:`StorageError` when the disk fails;
        the stream's own exceptions propagate unchanged. In every failure case the temporary
        file is removed and any previous object at ``key`` is left intact.
        """
        path = self._path(key)
        reader = _HashingReader(stream, max_bytes)
        try:
            files.private_dir(path.parent)  # 0700, as the files are 0600 (mkstemp)
            fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=".tmp")
        except OSError as exc:
            raise StorageError(f"cannot write {key!r}: {exc}") from exc
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := reader.read():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException as exc:
            temp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and not reader.stream_failed:
                raise StorageError(f"cannot write {key!r}: {exc}") from exc
            raise
        return reader.result()

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes from ``start`` to ``end`` included (as in an HTTP Range), at most 1 MiB a chunk.

        ``end=None`` or an ``end`` past the object means "to the last byte"; a ``start`` at or
        past the end gives no bytes (callers answer 416 by comparing with :meth:`size` first).
        The file is opened now: :class:`ObjectMissing` is raised by this call, not by iteration.
        ValueError for a negative ``start`` or an ``end`` before ``start``.
        """
        _check_range(start, end)
        path = self._path(key)
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc}") from exc
        try:
            size = os.fstat(file.fileno()).st_size
            last = size - 1 if end is None else min(end, size - 1)
            if start > last:
                file.close()
                return _Chunks(None, 0, key)
            file.seek(start)
        except BaseException as exc:
            file.close()
            if isinstance(exc, OSError):
                raise StorageError(f"cannot read {key!r}: {exc}") from exc
            raise
        return _Chunks(file, last - start + 1, key, (OSError,))

    def size(self, key: str) -> int:
        """Length in bytes of the object at ``key``; :class:`ObjectMissing` if there is none."""
        path = self._path(key)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StorageError(f"cannot stat {key!r}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove the object at ``key``; nothing happens if there is none."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r}: {exc}") from exc

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder ``prefix`` (e.g. :func:`tenant_prefix`), and the folder.

        Returns the number of objects removed (leftovers of interrupted writes are removed too,
        but not counted). ``tenants/1`` never touches ``tenants/10``. Raises StorageError when the
        disk fails part-way (what was removed stays removed).
        """
        top = self._path(_check_prefix(prefix))
        if not top.is_dir() or top.is_symlink():
            return 0
        count = 0
        try:
            for dirpath, dirnames, filenames in os.walk(top, topdown=False):
                folder = Path(dirpath)
                for name in filenames:
                    (folder / name).unlink()
                    count += not name.startswith(_TEMP_PREFIX)
                for name in dirnames:
                    sub = folder / name
                    if sub.is_symlink():
                        sub.unlink()
                    else:
                        sub.rmdir()
            top.rmdir()
        except OSError as exc:
            raise StorageError(f"cannot delete everything under {prefix!r}: {exc}") from exc
        return count

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """The object's own file (no copy is made): read it, never change or move it.

        Raises :class:`ObjectMissing` if there is none.
        """
        path = self._path(key)
        if not path.is_file():
            raise ObjectMissing(key)
        yield path

    def close(self) -> None:
        """Nothing to release; here so both backends can be closed alike."""


# --- S3 ------------------------------------------------------------------------------------


def _error_code(exc: Any) -> str:  # Any: botocore's ClientError is untyped
    return str(exc.response.get("Error", {}).get("Code", ""))


def _storage_error(exc: Exception, action: str, key: str) -> StorageError:
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code in _MISSING_CODES:
            return ObjectMissing(key)
        return StorageError(f"S3 {action} of {key!r} failed: {code or exc}")
    return StorageError(f"S3 {action} of {key!r} failed: {exc}")


@contextmanager
def _s3_errors(action: str, key: str) -> Iterator[None]:
    """Turn botocore's exceptions into ours (the original stays as ``__cause__``)."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise _storage_error(exc, action, key) from exc


def _default_config(endpoint_url: str | None) -> Any:  # Any: botocore's Config is untyped
    config = Config(connect_timeout=10, read_timeout=60, retries={"mode": "standard", "max_attempts": 3})
    if endpoint_url:
        # MinIO, Ceph and moto answer on one host name: buckets go in the path, not the host.
        config = config.merge(Config(s3={"addressing_style": "path"}))
    return config


class S3Storage(_SizedStorage):
    """Objects in ``bucket`` under ``prefix`` (``<prefix>/<key>``), through one boto3 client.

    Credentials and region come from boto3's own chain (``AWS_*`` variables, config files,
    instance role); ``endpoint_url`` points at MinIO/Ceph. Tests pass ``client_kwargs``
    (credentials, a botocore ``config`` merged over ours) or a ready ``client``. boto3 clients
    are thread-safe, so one instance serves the whole process.

    Objects up to :data:`PART_SIZE` are sent with one PUT; longer ones as a multipart upload
    that is aborted if anything fails. If even the abort fails (the network is gone), the parts
    stay until the bucket's ``AbortIncompleteMultipartUpload`` lifecycle rule removes them.
    """

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, client: Any = None,
                 client_kwargs: Mapping[str, Any] | None = None, part_size: int = PART_SIZE) -> None:
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        if part_size < _MIN_PART_SIZE:
            raise ValueError(f"S3 parts must be at least {_MIN_PART_SIZE} bytes")
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = _check_key(prefix) if prefix else ""
        self._part_size = part_size
        if client is None:
            kwargs = dict(client_kwargs or {})
            endpoint_url = kwargs.pop("endpoint_url", endpoint_url) or None
            config = _default_config(endpoint_url)
            if kwargs.get("config") is not None:
                config = config.merge(kwargs.pop("config"))
            kwargs.pop("config", None)
            # A Session of our own: boto3's default session is not safe to share between threads.
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config, **kwargs)
        self._client: Any = client  # Any: boto3 ships no type information

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str | None = None,
                 client_kwargs: Mapping[str, Any] | None = None) -> S3Storage:
        """Storage for ``s3://bucket/prefix``; ValueError for another scheme or no bucket."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"expected s3://bucket/prefix, got {url!r}")
        return cls(parts.netloc, unquote(parts.path), endpoint_url=endpoint_url, client_kwargs=client_kwargs)

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, {self.prefix!r})"

    def _object_key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _checksum_args(self) -> dict[str, str]:
        # Mirror boto3's own transfer manager: when the client computes flexible checksums
        # (the default, unless AWS_REQUEST_CHECKSUM_CALCULATION=when_required for an older
        # S3 clone), a multipart upload must declare the algorithm up front.
        if self._client.meta.config.request_checksum_calculation == "when_supported":
            return {"ChecksumAlgorithm": "CRC32"}
        return {}

    def _read_part(self, reader: _HashingReader) -> bytes:
        chunks: list[bytes] = []
        have = 0
        while have < self._part_size:
            chunk = reader.read(self._part_size - have)
            if not chunk:
                break
            chunks.append(chunk)
            have += len(chunk)
        return b"".join(chunks)

    def write(self, key: str, stream: ReadableStream, *, content_type: str,
              max_bytes: int | None = None) -> WriteResult:
        """Store everything ``stream`` yields at ``key``, replacing what was there.

        Memory holds about two 8 MiB parts at most, whatever the size. Raises :class:`TooLarge`
        past ``max_bytes`` and :class:`StorageError` when S3 fails; the stream's own exceptions
        propagate unchanged. In every failure case the multipart upload is aborted, so no object
        and no parts are left, and any previous object at ``key`` is left intact.
        """
        object_key = self._object_key(key)
        reader = _HashingReader(stream, max_bytes)
        part = self._read_part(reader)
        if len(part) < self._part_size:
            with _s3_errors("write", key):
                self._client.put_object(Bucket=self.bucket, Key=object_key, Body=part, ContentType=content_type)
            return reader.result()
        checksum = self._checksum_args()
        with _s3_errors("write", key):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=object_key, ContentType=content_type, **checksum)["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            while part:
                number = len(parts) + 1
                with _s3_errors("write", key):
                    response = self._client.upload_part(Bucket=self.bucket, Key=object_key, UploadId=upload_id,
                                                        PartNumber=number, Body=part, **checksum)
                done = {"PartNumber": number, "ETag": response["ETag"]}
                if "ChecksumCRC32" in response and checksum:
                    done["ChecksumCRC32"] = response["ChecksumCRC32"]
                parts.append(done)
                part = b""  # let the sent part go before reading the next one
                part = self._read_part(reader)
            with _s3_errors("write", key):
                self._client.complete_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=upload_id,
                                                       MultipartUpload={"Parts": parts})
        except BaseException:
            self._abort(object_key, upload_id)
            raise
        return reader.result()

    def _abort(self, object_key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            log.warning("could not abort the multipart upload %s of %s; the bucket's lifecycle rule will",
                        upload_id, object_key, exc_info=True)

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes from ``start`` to ``end`` included (as in an HTTP Range), at most 1 MiB a chunk.

        ``end=None`` or an ``end`` past the object means "to the last byte"; a ``start`` at or
        past the end gives no bytes (callers answer 416 by comparing with :meth:`size` first).
        The GET is sent now: :class:`ObjectMissing` and :class:`StorageError` are raised by this
        call; errors while streaming raise StorageError. ValueError for a negative ``start`` or
        an ``end`` before ``start``.
        """
        _check_range(start, end)
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = self._client.get_object(**args)
        except ClientError as exc:
            if _error_code(exc) == "InvalidRange":  # 416: start at or past the end
                return _Chunks(None, 0, key)
            raise _storage_error(exc, "read", key) from exc
        except BotoCoreError as exc:
            raise _storage_error(exc, "read", key) from exc
        return _Chunks(response["Body"], int(response["ContentLength"]), key, (BotoCoreError, OSError))

    def size(self, key: str) -> int:
        """Length in bytes of the object at ``key``; :class:`ObjectMissing` if there is none."""
        with _s3_errors("stat", key):
            response = self._client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        return int(response["ContentLength"])

    def delete(self, key: str) -> None:
        """Remove the object at ``key``; nothing happens if there is none."""
        with _s3_errors("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder ``prefix`` (e.g. :func:`tenant_prefix`).

        Also aborts multipart uploads in progress there. Returns the number of objects removed.
        ``tenants/1`` never touches ``tenants/10``. Raises StorageError when S3 fails part-way
        (what was removed stays removed; running it again finishes the job).
        """
        folder = self._object_key(_check_prefix(prefix)) + "/"
        count = 0
        with _s3_errors("delete", folder):
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if not keys:
                    continue
                response = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                if response.get("Errors"):
                    first = response["Errors"][0]
                    raise StorageError(f"S3 refused to delete {len(response['Errors'])} objects under {folder!r}, "
                                       f"e.g. {first.get('Key')!r}: {first.get('Code')}")
                count += len(keys)
            uploads = self._client.get_paginator("list_multipart_uploads")
            for page in uploads.paginate(Bucket=self.bucket, Prefix=folder):
                for upload in page.get("Uploads", []):
                    self._client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                        UploadId=upload["UploadId"])
        return count

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """Download the object to a temporary file (streamed) and remove it after the block.

        The file keeps the key's last segment as its name (and so its extension). Raises
        :class:`ObjectMissing` or :class:`StorageError`; nothing is left behind either way.
        """
        with tempfile.TemporaryDirectory(prefix="ecoute-s3-") as folder:
            path = Path(folder) / key.rsplit("/", 1)[-1]
            chunks = self.read_range(key)
            try:
                with path.open("wb") as out:
                    for chunk in chunks:
                        out.write(chunk)
            except OSError as exc:
                raise StorageError(f"cannot copy {key!r} to {folder}: {exc}") from exc
            finally:
                if isinstance(chunks, _Chunks):
                    chunks.close()
            yield path

    def close(self) -> None:
        """Close the client's connections (tests; the app keeps one instance for its lifetime)."""
        self._client.close()


# --- choosing the backend ------------------------------------------------------------------


def get_storage(settings: Settings) -> Storage:
    """The backend named by ``settings.storage_url``: ``file:///abs/path`` or ``s3://bucket/prefix``.

    One instance per (URL, endpoint) is kept for the process. Raises ValueError for another
    scheme, or a ``file://`` URL that is not an absolute path.
    """
    return _open_storage(settings.storage_url, settings.s3_endpoint_url or None)


@functools.cache
def _open_storage(url: str, endpoint_url: str | None) -> Storage:
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(f"storage URL {url!r}: write an absolute path, like file:///srv/ecoute/media")
        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        return S3Storage.from_url(url, endpoint_url=endpoint_url)
    raise ValueError(f"storage URL {url!r}: expected file:// or s3://")
