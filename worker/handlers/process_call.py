"""``process_call``: turn a stored recording into its renditions and mark the call ready.

Steps today: the recognition input (16 kHz mono), the loudness-normalised playback file and
the waveform peaks, then the transcript of the recognition input. Tagging joins here as a further step.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sqlalchemy import select

from webapp import storage, tenancy
from webapp.errors import PermanentError, RetryableError
from webapp.models import Call, CallStatus, Transcript
from worker import renditions, whisper
from worker.handlers import JobContext

KIND = "process_call"
log = logging.getLogger(__name__)

#: Failure reasons are stored as codes and shown translated (webapp.i18n FAILURE_LABELS).
UNDECODABLE = "undecodable"
MISSING = "missing_original"
UNTRANSCRIBABLE = "untranscribable"


class Handler:
    def run(self, ctx: JobContext) -> None:
        call = self._load(ctx)
        if call is None:
            return  # erased since: nothing to do
        keys = storage.rendition_keys(call.tenant_id, call.id, call.sha256)
        store = storage.get_storage(ctx.settings)
        if not all(store.exists(k) for k in keys.all()):
            self._set_status(ctx, call.id, CallStatus.PROCESSING)
            self._render(ctx, store, call, keys)
        if not self._has_transcript(ctx, call.id):
            self._set_status(ctx, call.id, CallStatus.PROCESSING)
            self._transcribe(ctx, store, call, keys)
        self._set_status(ctx, call.id, CallStatus.READY, reason="")

    def failed(self, ctx: JobContext, reason: str) -> None:
        call_id = int(ctx.payload["call_id"])
        self._set_status(ctx, call_id, CallStatus.FAILED, reason=reason)

    @staticmethod
    def _load(ctx: JobContext) -> Call | None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            call = session.get(Call, int(ctx.payload["call_id"]))
            if call is not None:
                session.expunge(call)
            return call

    @staticmethod
    def _set_status(ctx: JobContext, call_id: int, status: CallStatus, reason: str | None = None) -> None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            call = session.get(Call, call_id)
            if call is not None:
                call.status = status
                if reason is not None:
                    call.failure_reason = reason

    @staticmethod
    def _render(ctx: JobContext, store: storage.Storage, call: Call, keys: storage.RenditionKeys) -> None:
        # ffmpeg gets a generous limit proportional to the recording's length.
        timeout = 120 + call.duration_seconds * 2
        try:
            with store.local_copy(call.storage_key) as original, tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                renditions.make_asr(original, work / "asr.wav", timeout)
                renditions.make_playback(original, work / "play.webm", timeout)
                peaks = renditions.peaks(original, timeout)
                (work / "peaks.json").write_bytes(renditions.peaks_json(peaks))
                for path, key, content_type in ((work / "asr.wav", keys.asr, "audio/wav"),
                                                (work / "play.webm", keys.playback, "audio/webm"),
                                                (work / "peaks.json", keys.peaks, "application/json")):
                    with path.open("rb") as stream:
                        store.write(key, stream, content_type=content_type)
        except storage.ObjectMissing:
            raise PermanentError(MISSING) from None
        except renditions.DecodeError as err:
            log.warning("call %s cannot be decoded: %s", call.id, err)
            raise PermanentError(UNDECODABLE) from None
        except (storage.StorageError, TimeoutError) as err:
            raise RetryableError(str(err)) from err

    @staticmethod
    def _has_transcript(ctx: JobContext, call_id: int) -> bool:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            return session.scalar(select(Transcript.id).where(Transcript.call_id == call_id)) is not None

    @staticmethod
    def _transcribe(ctx: JobContext, store: storage.Storage, call: Call, keys: storage.RenditionKeys) -> None:
        settings = ctx.settings
        try:
            transcriber = whisper.get_transcriber(settings)
            with store.local_copy(keys.asr) as asr:
                found = transcriber.transcribe(asr, call.language_hint or None)
        except storage.ObjectMissing:
            raise RetryableError(f"rendition {keys.asr} vanished before transcription") from None
        except whisper.UnreadableAudio as err:
            log.warning("call %s cannot be transcribed: %s", call.id, err)
            raise PermanentError(UNTRANSCRIBABLE) from None
        except (storage.StorageError, TimeoutError) as err:
            raise RetryableError(str(err)) from err
        except whisper.TranscriptionError as err:  # no model or engine installed: an operator can fix it
            raise RetryableError(str(err)) from err
        engine = f"{settings.whisper_engine}/{settings.whisper_model_dir.name.removeprefix('whisper-')}/" \
                 f"{settings.whisper_compute_type}"
        segments = found.to_json()["segments"]
        with tenancy.tenant_session(ctx.tenant_id) as session:
            if session.get(Call, call.id) is None:
                return  # erased while it was being transcribed
            row = session.scalar(select(Transcript).where(Transcript.call_id == call.id))
            if row is None:
                row = Transcript(call_id=call.id)
                session.add(row)
            row.language, row.language_probability = found.language, found.language_probability
            row.text, row.segments, row.engine = found.text, segments, engine
