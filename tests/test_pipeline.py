"""The whole ``process_call`` pipeline on neural speech: speakers of stereo calls, tags, corrections kept.

Real parts only: Kokoro speech through a telephone channel, ffmpeg, the Whisper base model,
the tagger, the database of the run (SQLite or PostgreSQL).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, select

from tests.conftest import TenantSet
from tests.speech import dialogue
from webapp import storage, tenancy
from webapp.models import Call, Role, Source, Tag, TagKind, TagOrigin, Tenant, Transcript
from webapp.services import ingestion
from worker.audio import renditions
from worker.handlers import JobContext, process_call

AGENT_SAYS = "Bonjour, service client, je vous écoute."
CUSTOMER_SAYS = ("Ma commande n'est toujours pas arrivée, ça fait trois semaines que j'attends le colis, "
                 "c'est inadmissible.")


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dialogue(tmp_path_factory.mktemp("dialogue") / "call.wav",
                    [("agent", AGENT_SAYS), ("customer", CUSTOMER_SAYS)], "fr")


def _ingest(app: Flask, tenant_id: int, path: Path) -> int:
    with path.open("rb") as stream, tenancy.tenant_session(tenant_id) as session:
        done = ingestion.ingest_call(session, app.config["ECOUTE"], tenant_id, stream=stream, filename=path.name,
                                     meta=ingestion.clean_meta({}), origin=ingestion.Origin(Source.BROWSER))
        return done.call.id


def _run(app: Flask, tenant_id: int, call_id: int) -> None:
    process_call.Handler().run(JobContext(job_id=1, kind=process_call.KIND, tenant_id=tenant_id,
                                          payload={"call_id": call_id}, attempt=1, max_attempts=5,
                                          settings=app.config["ECOUTE"]))


def _transcript(tenant_id: int) -> Transcript:
    with tenancy.tenant_session(tenant_id) as session:
        row = session.scalars(select(Transcript)).one()
        session.expunge(row)
        return row


def _tags(tenant_id: int) -> list[tuple[str, str, str]]:
    with tenancy.tenant_session(tenant_id) as session:
        return sorted((t.kind.value, t.value, t.origin.value) for t in session.scalars(select(Tag)))


def _said_by(transcript: Transcript, speaker: str | None) -> str:
    return " ".join(s["text"] for s in transcript.segments if s.get("speaker") == speaker).lower()


def test_stereo_channels_become_speakers_as_the_company_records_them(app: Flask, tenants: dict[str, TenantSet],
                                                                     stereo_call: Path, login_as) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = _ingest(app, a, stereo_call)
        _run(app, a, call_id)
        transcript = _transcript(a)
        assert transcript.language == "fr"
        customer, agent = _said_by(transcript, "customer"), _said_by(transcript, "agent")
        assert "commande" in customer and "bonjour" not in customer, customer
        assert "bonjour" in agent and "commande" not in agent, agent
        starts = [s["start"] for s in transcript.segments]
        assert starts == sorted(starts)
        # The customer's words decide: unhappy, about a delivery.
        tags = _tags(a)
        assert ("sentiment", "unhappy", "machine") in tags, tags
        assert ("topic", "delivery", "machine") in tags, tags

        # The company records the other way round: the same call, processed again, swaps the speakers.
        with tenancy.tenant_session(a) as session:
            tenant = session.get(Tenant, a)
            assert tenant is not None
            tenant.stereo_layout = "agent_right"
            session.execute(delete(Transcript))
        _run(app, a, call_id)
        swapped = _transcript(a)
        assert "commande" in _said_by(swapped, "agent") and "bonjour" in _said_by(swapped, "customer")

        # "Both voices on both channels": one mix, no speakers.
        with tenancy.tenant_session(a) as session:
            tenant = session.get(Tenant, a)
            assert tenant is not None
            tenant.stereo_layout = "mixed"
            session.execute(delete(Transcript))
        _run(app, a, call_id)
        mixed = _transcript(a)
        assert not any(s.get("speaker") for s in mixed.segments)
        assert "commande" in mixed.text.lower() and "bonjour" in mixed.text.lower()

    page = login_as("a", Role.QUALITY_MANAGER, locale="fr").get(f"/calls/{call_id}").text
    assert 'data-tag="sentiment:unhappy"' in page and "Mécontent" in page
    assert 'data-tag="topic:delivery"' in page and "Livraison" in page


def test_a_persons_tags_survive_the_machine(app: Flask, tenants: dict[str, TenantSet], stereo_call: Path) -> None:
    b = tenants["b"].id
    with app.app_context():
        call_id = _ingest(app, b, stereo_call)
        _run(app, b, call_id)
        machine = _tags(b)
        assert ("sentiment", "unhappy", "machine") in machine
        with tenancy.tenant_session(b) as session:
            # A quality manager says: in fact satisfied, and about billing.
            session.execute(delete(Tag).where(Tag.kind == TagKind.SENTIMENT))
            session.add(Tag(call_id=call_id, kind=TagKind.SENTIMENT, value="satisfied", origin=TagOrigin.HUMAN))
            session.add(Tag(call_id=call_id, kind=TagKind.TOPIC, value="billing", origin=TagOrigin.HUMAN))
        _run(app, b, call_id)
        _run(app, b, call_id)  # twice: no duplicates either
        after = _tags(b)
        assert ("sentiment", "satisfied", "human") in after
        assert not [t for t in after if t[0] == "sentiment" and t[2] == "machine"]
        assert ("topic", "billing", "human") in after
        assert ("topic", "delivery", "machine") in after
        assert len(after) == len(set(after))
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert session.scalars(select(Tag)).all() == []  # the other company has none of them


def test_a_stereo_call_with_one_voice_on_both_sides_is_one_mix(tmp_path: Path) -> None:
    split = tmp_path / "split.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=440:d=2", "-f", "lavfi", "-i",
                    "sine=700:d=2", "-filter_complex", "[0][1]amerge=inputs=2", str(split)], check=True)
    dual = tmp_path / "dual.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=440:d=2", "-ac", "2", str(dual)], check=True)
    one_side = tmp_path / "one-side.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=440:d=2", "-f", "lavfi", "-i",
                    "anullsrc=d=2:r=44100:cl=mono", "-filter_complex", "[0][1]amerge=inputs=2", str(one_side)],
                   check=True)
    assert renditions.has_split_voices(split, 30)
    assert not renditions.has_split_voices(dual, 30)
    assert not renditions.has_split_voices(one_side, 30)


def test_split_channels_are_stored_under_the_calls_keys(app: Flask, tenants: dict[str, TenantSet],
                                                        stereo_call: Path) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = _ingest(app, a, stereo_call)
        _run(app, a, call_id)
        with tenancy.tenant_session(a) as session:
            call = session.get(Call, call_id)
            assert call is not None and call.channels == 2
            keys = storage.rendition_keys(a, call_id, call.sha256)
        store = storage.get_storage(app.config["ECOUTE"])
        assert all(store.exists(k) for k in keys.asr_channels)
        assert all(k.startswith(f"tenants/{a}/") for k in keys.asr_channels)
