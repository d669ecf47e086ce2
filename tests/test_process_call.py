"""The ``process_call`` handler on real audio with real ffmpeg: renditions, loudness, idempotence, failure."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from webapp import storage, tenancy
from webapp.errors import PermanentError
from webapp.models import Call, CallStatus, Role
from worker.audio import renditions
from worker.handlers import JobContext, process_call


def _context(app: Flask, tenant_id: int, call_id: int) -> JobContext:
    return JobContext(job_id=1, kind=process_call.KIND, tenant_id=tenant_id, payload={"call_id": call_id},
                      attempt=1, max_attempts=5, settings=app.config["ECOUTE"])


def _call(app: Flask, tenant_id: int, call_id: int) -> Call:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        call = session.scalars(select(Call).where(Call.id == call_id)).one()
        session.expunge(call)
        return call


def _loudness(path: Path) -> float:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    return float(re.findall(r"I:\s+(-?[0-9.]+) LUFS", done.stderr)[-1])


def test_renditions_are_made_once_and_the_call_is_ready(app: Flask, tenants: dict[str, TenantSet],
                                                        tmp_path: Path) -> None:
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id, seconds=4)
        handler = process_call.Handler()
        handler.run(_context(app, tenants["a"].id, call_id))
        call = _call(app, tenants["a"].id, call_id)
        assert call.status == CallStatus.READY
        store = storage.get_storage(app.config["ECOUTE"])
        keys = storage.rendition_keys(call.tenant_id, call.id, call.sha256)
        first = {k: b"".join(store.read_range(k)) for k in keys.all()}
        handler.run(_context(app, tenants["a"].id, call_id))  # a second run changes nothing
        assert {k: b"".join(store.read_range(k)) for k in keys.all()} == first
    asr, play = tmp_path / "asr.wav", tmp_path / "play.webm"
    asr.write_bytes(first[keys.asr])
    play.write_bytes(first[keys.playback])
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels",
                            "-of", "json", str(asr), ], capture_output=True, text=True, check=True)
    assert json.loads(probe.stdout)["streams"][0] == {"codec_name": "pcm_s16le", "sample_rate": "16000",
                                                      "channels": 1}
    assert abs(_loudness(play) - renditions.TARGET_LUFS) < 1.0
    peaks = json.loads(first[keys.peaks])
    assert peaks["seconds_per_peak"] == 0.05
    assert 75 <= len(peaks["peaks"]) <= 85  # 4 s at 20 peaks per second
    assert all(0 < p <= 1 for p in peaks["peaks"])


def test_loud_and_quiet_calls_come_out_at_the_same_loudness(app: Flask, tenants: dict[str, TenantSet],
                                                            tmp_path: Path) -> None:
    levels = []
    with app.app_context():
        for volume in ("0.05", "0.9"):
            source = tmp_path / f"v{volume}.wav"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                            f"sine=frequency=500:duration=5,volume={volume}", str(source)], check=True)
            with source.open("rb") as stream, tenancy.tenant_session(tenants["b"].id) as session:
                from webapp.models import Source
                from webapp.services import ingestion

                done = ingestion.ingest_call(session, app.config["ECOUTE"], tenants["b"].id, stream=stream,
                                             filename=source.name, meta=ingestion.clean_meta({}),
                                             origin=ingestion.Origin(Source.BROWSER))
                call_id, sha = done.call.id, done.call.sha256
            process_call.Handler().run(_context(app, tenants["b"].id, call_id))
            key = storage.rendition_keys(tenants["b"].id, call_id, sha).playback
            out = tmp_path / f"out{volume}.webm"
            out.write_bytes(b"".join(storage.get_storage(app.config["ECOUTE"]).read_range(key)))
            levels.append(_loudness(out))
    assert abs(levels[0] - levels[1]) < 1.0, levels


def test_a_file_ffmpeg_cannot_decode_fails_for_good_with_a_reason(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
        call = _call(app, tenants["a"].id, call_id)
        # The stored original gets damaged after it passed the upload checks.
        storage.get_storage(app.config["ECOUTE"]).write(call.storage_key, io.BytesIO(b"\x00garbage" * 500),
                                                        content_type="application/octet-stream")
        handler = process_call.Handler()
        ctx = _context(app, tenants["a"].id, call_id)
        with pytest.raises(PermanentError) as failure:
            handler.run(ctx)
        handler.failed(ctx, str(failure.value))
    call = _call(app, tenants["a"].id, call_id)
    assert (call.status, call.failure_reason) == (CallStatus.FAILED, process_call.UNDECODABLE)
    assert not any(storage.get_storage(app.config["ECOUTE"]).exists(k)
                   for k in storage.rendition_keys(call.tenant_id, call.id, call.sha256).all())


def test_the_call_page_shows_the_failure_in_the_readers_language(app: Flask, login_as,
                                                                 tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
        with tenancy.tenant_session(tenants["a"].id) as session:
            call = session.get(Call, call_id)
            assert call is not None
            call.status, call.failure_reason = CallStatus.FAILED, process_call.UNDECODABLE
    page = login_as("a", Role.QUALITY_MANAGER, locale="en").get(f"/calls/{call_id}")
    assert "This recording could not be decoded" in page.text


def test_a_ready_call_plays_its_normalised_rendition(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        call_id = factories.make_call(tenants["b"].id, seconds=2)
    qm = login_as("b", Role.QUALITY_MANAGER)
    before = qm.get(f"/calls/{call_id}/audio")
    assert before.headers["Content-Type"] == "audio/wav"  # not processed yet: the original
    with app.app_context():
        process_call.Handler().run(_context(app, tenants["b"].id, call_id))
    after = qm.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=0-3"})
    assert after.status_code == 206 and after.headers["Content-Type"] == "audio/webm"
    assert after.data == b"\x1aE\xdf\xa3"  # the EBML magic of a WebM file


def test_the_retry_button_queues_a_failed_call_again(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    from sqlalchemy import update

    from webapp.jobs import Job, JobStatus

    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
        with tenancy.tenant_session(tenants["a"].id) as session:
            session.execute(update(Job).values(status=JobStatus.FAILED, attempts=5, last_error="undecodable"))
            call = session.get(Call, call_id)
            assert call is not None
            call.status, call.failure_reason = CallStatus.FAILED, process_call.UNDECODABLE
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    assert "Try processing again" in qm.get(f"/calls/{call_id}").text
    assert qm.post(f"/calls/{call_id}/retry").status_code == 303
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 0)
    page = qm.get(f"/calls/{call_id}").text
    assert "Try processing again" not in page and "This recording could not be decoded" not in page
    assert qm.post(f"/calls/{call_id}/retry").status_code == 303  # a second click changes nothing
    assert login_as("b", Role.QUALITY_MANAGER).post(f"/calls/{call_id}/retry").status_code == 404


# --- transcription -----------------------------------------------------------------------

SAID = "Hello, my washing machine broke down after two weeks."


def test_an_english_call_is_transcribed_once_and_its_words_are_shown(app: Flask, login_as,
                                                                     tenants: dict[str, TenantSet],
                                                                     tmp_path: Path) -> None:
    from tests.audio import speech
    from webapp.models import Source, Transcript
    from webapp.services import ingestion

    a = tenants["a"].id
    source = speech(tmp_path / "said.wav", SAID)
    with app.app_context():
        with source.open("rb") as stream, tenancy.tenant_session(a) as session:
            done = ingestion.ingest_call(session, app.config["ECOUTE"], a, stream=stream, filename=source.name,
                                         meta=ingestion.clean_meta({}), origin=ingestion.Origin(Source.BROWSER))
            call_id, duration = done.call.id, done.call.duration_seconds
        handler = process_call.Handler()
        handler.run(_context(app, a, call_id))
        with tenancy.tenant_session(a) as session:
            first = session.scalars(select(Transcript)).one()
            first_id, first_text = first.id, first.text
        handler.run(_context(app, a, call_id))  # a second run keeps the one transcript
        with tenancy.tenant_session(a) as session:
            transcript = session.scalars(select(Transcript)).one()
            session.expunge(transcript)
    assert (transcript.id, transcript.text, transcript.call_id) == (first_id, first_text, call_id)
    assert _call(app, a, call_id).status == CallStatus.READY
    assert transcript.language == "en"
    assert transcript.engine == "faster-whisper/base/int8"
    heard = set(re.sub(r"[^\w\s]", "", first_text.lower()).split())
    assert len(heard & {"hello", "washing", "machine", "broke", "two", "weeks"}) >= 3, first_text
    timed = [w for s in transcript.segments for w in s["words"]]
    assert timed
    for word in timed:
        assert 0 <= word["start"] <= word["end"] <= duration + 0.5
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        assert session.scalars(select(Transcript)).all() == []  # the other company sees none of it

    page = login_as("a", Role.QUALITY_MANAGER, locale="en").get(f"/calls/{call_id}").text
    word_button = r'<button type="button" class="word" data-start="([0-9.]+)" data-end="[0-9.]+">([^<]*)</button>'
    buttons = re.findall(word_button, page)
    assert [html.unescape(w) for _start, w in buttons] == [w["word"] for w in timed]
    assert [float(s) for s, _w in buttons] == [round(w["start"], 2) for w in timed]
    assert "/static/transcript.js" in page


def test_a_call_without_speech_gets_an_empty_transcript(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    from webapp.models import Transcript

    with app.app_context():
        call_id = factories.make_call(tenants["b"].id, seconds=2)
        process_call.Handler().run(_context(app, tenants["b"].id, call_id))
        with tenancy.tenant_session(tenants["b"].id) as session:
            transcript = session.scalars(select(Transcript)).one()
            assert transcript.call_id == call_id and transcript.language in ("fr", "en")
    assert _call(app, tenants["b"].id, call_id).status == CallStatus.READY
    assert _call(app, tenants["b"].id, call_id).failure_reason == ""  # a steady tone is no voice: no warning
    page = login_as("b", Role.QUALITY_MANAGER, locale="fr").get(f"/calls/{call_id}")
    assert page.status_code == 200 and "Transcription" in page.text


def test_audio_whisper_cannot_read_fails_for_good_with_a_reason(app: Flask, login_as,
                                                                tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id, seconds=2)
        handler = process_call.Handler()
        ctx = _context(app, tenants["a"].id, call_id)
        handler.run(ctx)
        call = _call(app, tenants["a"].id, call_id)
        store = storage.get_storage(app.config["ECOUTE"])
        with tenancy.tenant_session(tenants["a"].id) as session:
            from sqlalchemy import delete

            from webapp.models import Transcript

            session.execute(delete(Transcript))
        # The recognition input gets damaged after it was made.
        store.write(storage.rendition_keys(call.tenant_id, call.id, call.sha256).asr,
                    io.BytesIO(b"\x00garbage" * 500), content_type="audio/wav")
        with pytest.raises(PermanentError) as failure:
            handler.run(ctx)
        assert str(failure.value) == process_call.UNTRANSCRIBABLE
        handler.failed(ctx, str(failure.value))
    page = login_as("a", Role.QUALITY_MANAGER, locale="fr").get(f"/calls/{call_id}")
    assert "n&#39;a pas pu être transcrit" in page.text or "n'a pas pu être transcrit" in page.text


def test_sound_without_words_is_ready_with_a_warning_not_a_silent_ready(app: Flask, login_as,
                                                                       tenants: dict[str, TenantSet],
                                                                       tmp_path: Path) -> None:
    """Beeps at 8 kHz in MP3: loud and broken like speech, the VAD keeps nothing, Whisper hears no word."""
    from webapp.models import Source, Transcript
    from webapp.services import ingestion

    a = tenants["a"].id
    beeps = tmp_path / "beeps.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=425:duration=5",
                    "-af", "volume='gt(sin(2*PI*t),0)':eval=frame", "-ar", "8000", str(beeps)], check=True, timeout=60)
    with app.app_context():
        with beeps.open("rb") as stream, tenancy.tenant_session(a) as session:
            call_id = ingestion.ingest_call(session, app.config["ECOUTE"], a, stream=stream, filename=beeps.name,
                                            meta=ingestion.clean_meta({}),
                                            origin=ingestion.Origin(Source.BROWSER)).call.id
        handler = process_call.Handler()
        handler.run(_context(app, a, call_id))
        with tenancy.tenant_session(a) as session:
            assert session.scalars(select(Transcript.text)).one() == ""
        assert (_call(app, a, call_id).status, _call(app, a, call_id).failure_reason) == (
            CallStatus.READY, process_call.NO_WORDS)
        handler.run(_context(app, a, call_id))  # a second run keeps the warning
        assert _call(app, a, call_id).failure_reason == process_call.NO_WORDS
    page = html.unescape(login_as("a", Role.QUALITY_MANAGER, locale="en").get(f"/calls/{call_id}").text)
    assert "No words were recognised, although the recording sounds like someone speaking." in page
    assert "No speech was heard in this recording." not in page
