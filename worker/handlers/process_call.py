"""``process_call``: turn a stored recording into a playable, transcribed, tagged call.

Steps, each skipped when its result is already there (the job may run twice):

1. renditions: the recognition input (16 kHz mono), the loudness-normalised playback file and
   the waveform peaks; for a stereo call with one voice per channel, each channel on its own too;
2. the transcript, with a speaker on each segment when the channels were split (the tenant
   says which side is the agent);
3. the tags (worker/tagging/company.py), always rewritten from the transcript (cheap), except those
   a person has set.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from webapp import storage, tenancy
from webapp.errors import PermanentError, RetryableError
from webapp.models import Call, CallStatus, StereoLayout, Tenant, Transcript
from worker.audio import renditions
from worker.handlers.context import JobContext
from worker.speech import whisper
from worker.tagging import company

KIND = "process_call"
log = logging.getLogger(__name__)

#: Failure reasons are stored as codes and shown translated (webapp.i18n FAILURE_LABELS).
UNDECODABLE = "undecodable"
MISSING = "missing_original"
UNTRANSCRIBABLE = "untranscribable"
TOO_SLOW = "transcription_too_slow"
#: Not a failure: the call is ready, but its recording sounds like speech and no word was heard.
NO_WORDS = "no_words_heard"
#: No speech model (or engine) on this worker: an operator's problem, shown to people without its details.
UNAVAILABLE = "transcription_unavailable"

AGENT, CUSTOMER = "agent", "customer"


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
        notice = None
        if not self._has_transcript(ctx, call.id):
            self._set_status(ctx, call.id, CallStatus.PROCESSING)
            notice = self._transcribe(ctx, store, call, keys)
        self._tag(ctx, call.id)
        # Ready, with the warning that no words were heard in a recording that sounds like speech (kept on a rerun).
        self._set_status(ctx, call.id, CallStatus.READY,
                         reason=notice if notice is not None else self._kept_notice(ctx, call.id))
        if self._load(ctx) is None:
            # Erased while being processed: its purge may have run before these files were written.
            for key in (*keys.all(), *keys.asr_channels):
                store.delete(key)

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
                outputs: list[tuple[Path, str, str]] = []
                if call.channels == 2 and renditions.has_split_voices(original, timeout):
                    # Written before the others: complete renditions imply the channels are there too.
                    for channel, key in enumerate(keys.asr_channels):
                        renditions.make_asr_channel(original, work / f"asr-{channel}.wav", channel, timeout)
                        outputs.append((work / f"asr-{channel}.wav", key, "audio/wav"))
                renditions.make_asr(original, work / "asr.wav", timeout)
                renditions.make_playback(original, work / "play.webm", timeout)
                (work / "peaks.json").write_bytes(renditions.peaks_json(renditions.peaks(original, timeout)))
                outputs += [(work / "asr.wav", keys.asr, "audio/wav"),
                            (work / "play.webm", keys.playback, "audio/webm"),
                            (work / "peaks.json", keys.peaks, "application/json")]
                for path, key, content_type in outputs:
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
    def _company_language(ctx: JobContext) -> str | None:
        """The company's own language: the guess when Whisper cannot tell French from English."""
        with tenancy.tenant_session(ctx.tenant_id) as session:
            tenant = session.get(Tenant, ctx.tenant_id)
            return tenant.default_locale if tenant is not None else None

    @staticmethod
    def _speakers(ctx: JobContext, store: storage.Storage, keys: storage.RenditionKeys) -> dict[str, str] | None:
        """Storage key of each speaker's channel, or None to transcribe the mix."""
        if not all(store.exists(k) for k in keys.asr_channels):
            return None
        with tenancy.tenant_session(ctx.tenant_id) as session:
            tenant = session.get(Tenant, ctx.tenant_id)
            layout = tenant.stereo_layout if tenant is not None else StereoLayout.MIXED.value
        left, right = keys.asr_channels
        if layout == StereoLayout.AGENT_LEFT:
            return {CUSTOMER: right, AGENT: left}
        if layout == StereoLayout.AGENT_RIGHT:
            return {CUSTOMER: left, AGENT: right}
        return None

    @staticmethod
    def _kept_notice(ctx: JobContext, call_id: int) -> str:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            call = session.get(Call, call_id)
            return NO_WORDS if call is not None and call.failure_reason == NO_WORDS else ""

    def _transcribe(self, ctx: JobContext, store: storage.Storage, call: Call, keys: storage.RenditionKeys) -> str:
        """Write the transcript; return :data:`NO_WORDS` when no word was heard in a voice, else ``""``."""
        settings = ctx.settings
        try:
            transcriber = whisper.get_transcriber(settings)
            speakers = self._speakers(ctx, store, keys)
            if speakers is None:
                with store.local_copy(keys.asr) as asr:
                    found = transcriber.transcribe(asr, call.language_hint or None, self._company_language(ctx))
                language, probability = found.language, found.language_probability
                segments: list[dict[str, Any]] = found.to_json()["segments"]
                voiced = found.voiced_s
            else:
                # One language for the call, from both sides, each weighing as much as it spoke: one
                # side may hold a few words only ("Bonjour, je vous écoute"), too few to tell French
                # from English, and a guess on the mix is swayed by whoever speaks first.
                language, probability = call.language_hint or "", 1.0
                if not language:
                    guesses = []
                    for key in (speakers[CUSTOMER], speakers[AGENT]):
                        with store.local_copy(key) as side:
                            guesses.append(transcriber.detect_language(side))
                    language, probability = whisper.combine(guesses)
                with store.local_copy(speakers[CUSTOMER]) as audio:
                    customer = transcriber.transcribe(audio, language)
                with store.local_copy(speakers[AGENT]) as audio:
                    agent = transcriber.transcribe(audio, language)
                voiced = customer.voiced_s + agent.voiced_s
                segments = sorted(
                    [{**s, "speaker": CUSTOMER} for s in customer.to_json()["segments"]]
                    + [{**s, "speaker": AGENT} for s in agent.to_json()["segments"]],
                    key=lambda s: (s["start"], s["end"]))
        except storage.ObjectMissing:
            raise RetryableError("a rendition vanished before transcription") from None
        except whisper.UnreadableAudio as err:
            log.warning("call %s cannot be transcribed: %s", call.id, err)
            raise PermanentError(UNTRANSCRIBABLE) from None
        except whisper.TooSlow as err:
            log.warning("call %s: %s", call.id, err)
            raise RetryableError(TOO_SLOW) from err
        except (storage.StorageError, TimeoutError) as err:
            raise RetryableError(str(err)) from err
        except (whisper.ModelNotInstalled, whisper.EngineNotInstalled) as err:  # an operator can fix it
            log.error("call %s cannot be transcribed on this worker: %s", call.id, err)
            raise RetryableError(UNAVAILABLE) from err
        except whisper.TranscriptionError as err:
            raise RetryableError(str(err)) from err
        engine = whisper.engine_label(settings)
        text = " ".join(s["text"] for s in segments if s["text"])
        heard = any(s.get("words") or s.get("text") for s in segments)
        notice = NO_WORDS if not heard and voiced >= whisper.MIN_VOICED_S else ""
        if notice:
            log.warning("call %s: %.1f s sound like speech, but no word was heard", call.id, voiced)
        with tenancy.tenant_session(ctx.tenant_id) as session:
            if session.get(Call, call.id) is None:
                return ""  # erased while it was being transcribed
            row = session.scalar(select(Transcript).where(Transcript.call_id == call.id))
            if row is None:
                row = Transcript(call_id=call.id)
                session.add(row)
            row.language, row.language_probability = language, probability
            row.text, row.segments, row.engine = text, segments, engine
        return notice

    @staticmethod
    def _tag(ctx: JobContext, call_id: int) -> None:
        """Rewrite the machine's tags from the transcript, in one transaction; a person's tags win.

        The customer's words decide the sentiment and topics when the speakers are known (an
        agent's "je suis désolé" says nothing of the customer's mood). The text is the words
        joined by spaces, so that each piece of personal data gets its time in the call.
        """
        with tenancy.tenant_session(ctx.tenant_id) as session:
            transcript = session.scalar(select(Transcript).where(Transcript.call_id == call_id))
            if transcript is None or session.get(Call, call_id) is None:
                return
            segments = transcript.segments or []
            if any(s.get("speaker") for s in segments):
                segments = [s for s in segments if s.get("speaker") == CUSTOMER]
            words = [w for s in segments for w in s.get("words") or []]
            if words:
                text = " ".join(str(w["word"]) for w in words)
            else:
                text = " ".join(str(s["text"]) for s in segments if s.get("text"))
            # The tagger reads the language from the words: Whisper's guess may be wrong on a short call.
            found = company.for_company(session).tag(text, None)
            company.write_tags(session, found, text, call_id=call_id, words=words or None)
