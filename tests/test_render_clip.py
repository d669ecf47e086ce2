"""The ``render_clip`` job on a call transcribed by the real pipeline: word-boundary edges,
personal data silenced and masked, the room's loudness, content-addressed audio, idempotence."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from tests.speech import speak
from webapp import storage, tenancy
from webapp.models import Clip, ClipStatus, RenderStatus, Role, Transcript, User
from webapp.services import clips
from worker.audio import renditions
from worker.handlers import JobContext, registry, render_clip

SAID = ("Je suis vraiment très contente du service, merci beaucoup. "
        "Vous pouvez me rappeler au 06 12 34 56 78 quand vous voulez.")


@pytest.fixture
def spoken_call(app: Flask, tenants: dict[str, TenantSet], tmp_path: Path) -> int:
    with app.app_context():
        return factories.make_processed_call(tenants["a"].id, speak(tmp_path / "merci.wav", SAID, "fr"),
                                             language="fr")


def _run(app: Flask, tenant_id: int, clip_id: int) -> None:
    with app.app_context():
        render_clip.Handler().run(JobContext(job_id=0, kind=render_clip.KIND, tenant_id=tenant_id,
                                             payload={"clip_id": clip_id}, attempt=1, max_attempts=5,
                                             settings=app.config["ECOUTE"]))


def _clip(app: Flask, tenant_id: int, clip_id: int) -> Clip:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        clip = clips.get_clip(session, clip_id)
        session.expunge_all()
        return clip


def _words(app: Flask, tenant_id: int) -> list[dict[str, float | str]]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        transcript = session.scalars(select(Transcript)).one()
        return [w for s in transcript.segments for w in s["words"]]


def _volume(path: Path, start: float, end: float) -> float:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-ss", f"{start:.3f}", "-t", f"{end - start:.3f}",
                           "-i", str(path), "-af", "volumedetect", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    return float(re.findall(r"mean_volume: (-?[0-9.inf]+) dB", done.stderr)[-1])


def test_a_clip_is_cut_on_words_with_the_number_silenced(app: Flask, tenants: dict[str, TenantSet],
                                                         spoken_call: int, tmp_path: Path) -> None:
    a = tenants["a"].id
    words = _words(app, a)
    digits = [w for w in words if re.search(r"\d", str(w["word"]))]
    assert digits, words  # Whisper heard the number
    # The person's edges fall in the middle of words; the clip takes whole words.
    first, last = words[1], words[-2]
    start = float(first["start"]) + 0.4 * (float(first["end"]) - float(first["start"]))
    end = float(last["start"]) + 0.6 * (float(last["end"]) - float(last["start"]))
    with app.app_context():
        clip_id = factories.make_clip(a, spoken_call, start=start, end=end, render=True)
    clip = _clip(app, a, clip_id)
    assert clip.render_status == RenderStatus.READY
    assert float(first["start"]) - 0.13 <= clip.start_s <= float(first["start"])
    assert float(last["end"]) <= clip.end_s <= float(last["end"]) + 0.21
    text = " ".join(c["text"] for c in clip.captions)
    assert "•••" in text and not re.search(r"\d", text), text
    assert "merci" in text.lower()
    assert abs(clip.duration_s - (clip.end_s - clip.start_s)) < 0.08
    assert clip.loudness_lufs is not None and abs(clip.loudness_lufs - renditions.TARGET_LUFS) <= 1.0
    assert clip.audio_key == storage.clip_key(a, clip.audio_sha256)

    store = storage.get_storage(app.config["ECOUTE"])
    with app.app_context(), store.local_copy(clip.audio_key) as audio:
        local = tmp_path / "clip.webm"
        local.write_bytes(audio.read_bytes())
    number_from = min(float(w["start"]) for w in digits) - clip.start_s
    number_to = max(float(w["end"]) for w in digits) - clip.start_s
    assert _volume(local, number_from + 0.05, number_to - 0.05) < -60  # silenced
    speech = [w for w in words if "merci" in str(w["word"]).lower()][0]
    assert _volume(local, float(speech["start"]) - clip.start_s, float(speech["end"]) - clip.start_s) > -40


def test_rendering_twice_changes_nothing_and_moved_edges_replace_the_audio(
        app: Flask, tenants: dict[str, TenantSet], spoken_call: int) -> None:
    a = tenants["a"].id
    with app.app_context():
        clip_id = factories.make_clip(a, spoken_call, start=0.0, end=3.0, render=True)
    once = _clip(app, a, clip_id)
    _run(app, a, clip_id)
    twice = _clip(app, a, clip_id)
    assert (twice.audio_key, twice.start_s, twice.end_s, twice.captions) == (
        once.audio_key, once.start_s, once.end_s, once.captions)
    store = storage.get_storage(app.config["ECOUTE"])
    assert store.exists(once.audio_key)

    with app.app_context(), tenancy.tenant_session(a) as session:
        admin = session.scalars(select(User).where(User.role == Role.TENANT_ADMIN)).first()
        assert admin is not None
        clip = clips.get_clip(session, clip_id)
        clips.update_clip(session, admin, clip, clips.ClipDraft(start=2.0, end=5.5, title=clip.title,
                                                                 sentiment="satisfied"))
        assert clip.render_status == RenderStatus.PENDING
    _run(app, a, clip_id)
    moved = _clip(app, a, clip_id)
    assert moved.audio_key != once.audio_key and store.exists(moved.audio_key)
    assert not store.exists(once.audio_key)  # no clip uses the old audio any more


def test_the_worker_knows_the_job_and_a_deleted_clip_is_a_no_op(app: Flask, tenants: dict[str, TenantSet]) -> None:
    assert render_clip.KIND in registry()
    a = tenants["a"].id
    with app.app_context():
        clip_id = factories.make_clip(a, factories.make_ready_call(a))
        with tenancy.tenant_session(a) as session:
            session.delete(session.get(Clip, clip_id))
    _run(app, a, clip_id)  # nothing to do, nothing raised
    with app.app_context(), tenancy.tenant_session(a) as session:
        assert session.get(Clip, clip_id) is None


def test_a_render_that_fails_for_good_is_shown_and_blocks_approval(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        clip_id = factories.make_clip(a, factories.make_ready_call(a))
    with app.app_context():
        context = JobContext(job_id=0, kind=render_clip.KIND, tenant_id=a, payload={"clip_id": clip_id},
                             attempt=5, max_attempts=5, settings=app.config["ECOUTE"])
        render_clip.Handler().failed(context, "undecodable")
    clip = _clip(app, a, clip_id)
    assert clip.render_status == RenderStatus.FAILED and clip.status == ClipStatus.DRAFT
    with app.app_context():
        assert clips.approval_refusal(clip) is not None
