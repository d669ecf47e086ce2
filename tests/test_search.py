"""Searching words ignores accents and case, in calls, complaints and clips, on SQLite and PostgreSQL.

A French customer types "decu" as often as "déçu", and a transcript may hold either: both find both.
Each searchable text has a folded copy (lower case, accents taken off) kept in step on every write and
filled in by migration 0010 for rows that were there before; the words typed are folded the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from tests import factories
from tests.conftest import DatabaseUnderTest, TenantSet
from tests.support.migrations import fresh_database
from webapp import migrate, tenancy
from webapp.config import Settings
from webapp.models import Call, CallStatus, Role, Transcript
from webapp.search import fold

SAID = "Bonjour, je suis vraiment DÉÇU : le cœur du four a lâché, c'est inadmissible"
WRITTEN = "Très déçu par la livraison, le canapé est arrivé abîmé"


@pytest.mark.parametrize(("raw", "folded"), [
    ("déçu", "decu"), ("DÉÇU", "decu"), ("Cœur", "coeur"), ("ÆSOP", "aesop"), ("Straße", "strasse"),
    ("ﬁn", "fin"), ("  Élan  ", "  elan  "), ("naïve", "naive"), ("", ""),
])
def test_fold_takes_off_accents_and_case(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def _said_in_call(tenant_id: int, said: str) -> int:
    call_id = factories.make_call(tenant_id, seconds=3.0)
    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.status = CallStatus.READY
        session.add(Transcript(call_id=call_id, language="fr", language_probability=1.0, text=said, engine="test",
                               segments=[]))
    return call_id


def _ids(html: str, area: str) -> set[int]:
    return {int(n) for n in re.findall(rf'href="/{area}/(\d+)"', html)}


@pytest.mark.parametrize("typed", ["decu", "DÉÇU", "déçu", "Decu", "DECU", "coeur", "cœur", "inadmissible"])
def test_calls_complaints_and_clips_are_found_whatever_the_accents_and_case(
        app: Flask, login_as, tenants: dict[str, TenantSet], typed: str) -> None:
    with app.app_context():
        call_id = _said_in_call(tenants["a"].id, SAID)
        other_call = _said_in_call(tenants["a"].id, "Tout va bien, merci beaucoup")
        complaint_id = factories.make_complaint(tenants["a"].id, text=f"{SAID} (par écrit)")
        factories.make_complaint(tenants["a"].id, text="Rien à signaler")
        clip_call = factories.make_ready_call(tenants["a"].id)
        clip_id = factories.make_clip(tenants["a"].id, clip_call, title="Cliente déçue, cœur brisé, inadmissible")
        other_clip = factories.make_clip(tenants["a"].id, other_call, title="Content")
    qm = login_as("a", Role.QUALITY_MANAGER)
    q = quote(typed)
    found_calls = _ids(qm.get(f"/calls?q={q}").text, "calls")
    assert call_id in found_calls and other_call not in found_calls
    assert _ids(qm.get(f"/complaints?q={q}").text, "complaints") == {complaint_id}
    found_clips = _ids(qm.get(f"/clips?q={q}").text, "clips")
    assert clip_id in found_clips and other_clip not in found_clips


def test_folded_search_keeps_wildcards_literal_and_follows_edits(app: Flask, login_as,
                                                                 tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        complaint_id = factories.make_complaint(tenants["a"].id, text="Remboursé à 50 % seulement")
        call_id = _said_in_call(tenants["a"].id, "rien de spécial")
    qm = login_as("a", Role.QUALITY_MANAGER)
    assert _ids(qm.get("/complaints?q=50+%25").text, "complaints") == {complaint_id}
    assert _ids(qm.get("/complaints?q=%25").text, "complaints") == {complaint_id}
    assert _ids(qm.get("/complaints?q=_").text, "complaints") == set()
    assert _ids(qm.get("/calls?q=deception").text, "calls") == set()
    # The worker writes a transcript again (a new model, a retry): the search follows the new words.
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        transcript = session.query(Transcript).filter_by(call_id=call_id).one()
        transcript.text = "Quelle déception"
    assert _ids(qm.get("/calls?q=DECEPTION").text, "calls") == {call_id}
    # Another company's words are never found.
    assert _ids(login_as("b", Role.QUALITY_MANAGER).get("/calls?q=deception").text, "calls") == set()


def test_migration_0010_folds_the_words_already_stored(database: DatabaseUnderTest, tmp_path: Path) -> None:
    owner_url, admin_url = fresh_database(database.engine_name, database.owner_url, tmp_path, "ecoute_backfill")
    settings = Settings(data_dir=tmp_path, database_url=owner_url, database_owner_url=owner_url, secret_key="x")
    migrate.upgrade(settings, "0009")
    engine = create_engine(admin_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, slug, name, default_locale, retention_days, is_platform, "
                          "created_at) VALUES (1, 'acme', 'Acme', 'fr', 180, false, CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO calls (id, tenant_id, received_at, channel, agent, product, customer_ref, consent, "
            "language_hint, source, created_at, original_filename, storage_key, content_type, size_bytes, sha256, "
            "duration_seconds, audio_format, channels, sample_rate, status, failure_reason) VALUES (1, 1, "
            "CURRENT_TIMESTAMP, 'phone', '', '', '', 'yes', '', 'browser', CURRENT_TIMESTAMP, 'c.wav', "
            "'tenants/1/calls/x', 'audio/wav', 1, 'ab', 3.0, '', 1, 8000, 'ready', '')"))
        conn.execute(text("INSERT INTO transcripts (tenant_id, call_id, language, language_probability, text, "
                          "segments, engine, created_at) VALUES (1, 1, 'fr', 1.0, :said, '[]', 't', "
                          "CURRENT_TIMESTAMP)"), {"said": SAID})
        conn.execute(text("INSERT INTO complaints (tenant_id, received_at, channel, agent, product, customer_ref, "
                          "consent, language_hint, source, created_at, text) VALUES (1, CURRENT_TIMESTAMP, 'email', "
                          "'', '', '', 'unknown', '', 'csv', CURRENT_TIMESTAMP, :written)"), {"written": WRITTEN})
        conn.execute(text("INSERT INTO clips (tenant_id, call_id, start_s, end_s, title, sentiment, topic, note, "
                          "status, render_status, audio_key, audio_sha256, audio_size, duration_s, captions, "
                          "created_at) VALUES (1, 1, 0, 2, 'Cliente DÉÇUE', 'unhappy', '', '', 'draft', 'pending', "
                          "'', '', 0, 0, '[]', CURRENT_TIMESTAMP)"))
    migrate.upgrade(settings)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT text_folded FROM transcripts")).scalar_one() == fold(SAID)
        assert conn.execute(text("SELECT text_folded FROM complaints")).scalar_one() == fold(WRITTEN)
        assert conn.execute(text("SELECT title_folded FROM clips")).scalar_one() == "cliente decue"
        if database.engine_name == "postgresql":  # the backfill left row-level security as it was
            forced = conn.execute(text("SELECT relname FROM pg_class WHERE relforcerowsecurity AND relname IN "
                                       "('transcripts', 'complaints', 'clips') ORDER BY relname")).scalars().all()
            assert forced == ["clips", "complaints", "transcripts"]
    engine.dispose()
