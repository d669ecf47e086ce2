"""Tags people trust: the company's taxonomy, one-click corrections the machine never undoes, complaints
tagged too, filters and search, and what one company teaches never reaching another.

Real parts: the database of the run, ffmpeg for the renditions, the tagger, the worker's handlers.
Calls here get a transcript written by the test (Whisper itself is tested in test_transcription.py
and end to end in test_pipeline.py), so that the words are known exactly.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from webapp import jobs, tenancy
from webapp.models import AuditEvent, Complaint, Label, Role, Tag, TagKind, TagOrigin, Transcript
from webapp.services.ingestion import TAG_COMPLAINT
from webapp.services.tags import RETRAIN_KIND
from worker.handlers import JobContext, process_call, retrain_tagger, tag_complaint

SAID = "bonjour ma commande n'est toujours pas arrivée c'est inadmissible rappelez moi au 06 12 34 56 78"


def _transcribed_call(tenant_id: int, said: str = SAID, seconds: float = 1.0) -> int:
    """A call whose transcript is ``said``, one word every 0.2 s; then processed (renditions, tags)."""
    call_id = factories.make_call(tenant_id, seconds=seconds)
    words = [{"start": i * 0.2, "end": i * 0.2 + 0.15, "word": w, "probability": 0.9}
             for i, w in enumerate(said.split())]
    with tenancy.tenant_session(tenant_id) as session:
        session.add(Transcript(call_id=call_id, language="fr", language_probability=1.0, text=said, engine="test",
                               segments=[{"start": 0.0, "end": words[-1]["end"], "text": said, "words": words}]))
    return call_id


def _run(handler: object, kind: str, tenant_id: int, **payload: object) -> None:
    ctx = JobContext(job_id=1, kind=kind, tenant_id=tenant_id, payload=dict(payload), attempt=1, max_attempts=5,
                     settings=__import__("flask").current_app.config["ECOUTE"])
    handler.run(ctx)  # type: ignore[attr-defined]


def _process(tenant_id: int, call_id: int) -> None:
    _run(process_call.Handler(), process_call.KIND, tenant_id, call_id=call_id)


def _tags(tenant_id: int, call_id: int) -> set[tuple[str, str, str, bool]]:
    with tenancy.tenant_session(tenant_id) as session:
        return {(t.kind.value, t.value, t.origin.value, t.rejected)
                for t in session.scalars(select(Tag).where(Tag.call_id == call_id))}


def test_machine_tags_with_personal_data_timed_in_the_call(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = _transcribed_call(a)
        _process(a, call_id)
        tags = _tags(a, call_id)
        assert ("sentiment", "unhappy", "machine", False) in tags
        assert ("topic", "delivery", "machine", False) in tags
        with tenancy.tenant_session(a) as session:
            pii = session.scalars(select(Tag).where(Tag.kind == TagKind.PII)).one()
            assert pii.value == "phone"
            [[start, end, start_s, end_s]] = pii.evidence
        text = " ".join(SAID.split())
        assert text[start:end] == "06 12 34 56 78"
        first = SAID.split().index("06")
        assert (start_s, end_s) == (first * 0.2, (first + 4) * 0.2 + 0.15)


def test_a_correction_is_one_click_kept_journalled_and_retrains(app: Flask, tenants: dict[str, TenantSet],
                                                                login_as) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = _transcribed_call(a)
        _process(a, call_id)
    qm = login_as("a", Role.QUALITY_MANAGER, locale="fr")
    page = qm.get(f"/calls/{call_id}").text
    assert 'data-tag="sentiment:unhappy"' in page and 'aria-pressed="true" data-tag="sentiment:unhappy"' in page
    answer = qm.post(f"/calls/{call_id}/tags", {"sentiment": "neutral"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and 'id="tags"' in answer.text and "<html" not in answer.text
    assert 'aria-pressed="true" data-tag="sentiment:neutral"' in answer.text
    assert qm.post(f"/calls/{call_id}/tags", {"kind": "topic", "key": "delivery", "present": "0"}).status_code == 303
    assert qm.post(f"/calls/{call_id}/tags", {"kind": "topic", "key": "billing", "present": "1"}).status_code == 303
    refused = qm.post(f"/calls/{call_id}/tags", {"kind": "topic", "key": "no_such_topic", "present": "1"})
    assert refused.status_code == 422
    with app.app_context():
        _process(a, call_id)  # the machine runs again: the person's choices stand
        _process(a, call_id)
        tags = _tags(a, call_id)
        with tenancy.tenant_session(a) as session:
            events = session.scalars(select(AuditEvent).where(AuditEvent.action == "tag.corrected")).all()
            queued = session.scalars(select(jobs.Job).where(jobs.Job.kind == RETRAIN_KIND)).all()
    assert ("sentiment", "neutral", "human", False) in tags
    assert not [t for t in tags if t[0] == "sentiment" and t[2] == "machine"]
    assert ("topic", "delivery", "human", True) in tags and ("topic", "delivery", "machine", False) not in tags
    assert ("topic", "billing", "human", False) in tags
    assert len(events) == 3 and {e.target for e in events} == {f"call:{call_id}"}
    assert len(queued) in (1, 2)  # one per minute at most
    page = qm.get(f"/calls/{call_id}").text
    assert 'aria-pressed="false" data-tag="topic:delivery"' in page
    assert 'aria-pressed="true" data-tag="topic:billing"' in page


def test_only_curators_correct_and_only_their_company(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    with app.app_context():
        call_id = _transcribed_call(tenants["a"].id)
    assert login_as("a", Role.STAFF).post(f"/calls/{call_id}/tags", {"sentiment": "neutral"}).status_code == 403
    assert login_as("b", Role.QUALITY_MANAGER).post(f"/calls/{call_id}/tags",
                                                    {"sentiment": "neutral"}).status_code == 404


def test_the_company_taxonomy_decides_topics_and_reasons(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    assert admin.post("/settings/taxonomy", {"kind": "reason", "label_fr": "Colis jamais reçu",
                                             "label_en": "Parcel never received",
                                             "examples": "toujours pas arrivée\nnever arrived"}).status_code == 303
    refused = admin.post("/settings/taxonomy", {"kind": "reason", "label_fr": "Sans exemple", "label_en": "x",
                                                "examples": ""})
    assert refused.status_code == 422
    page = admin.get("/settings/taxonomy").text
    assert "Parcel never received" in page and 'data-key="parcel_never_received"' in page
    with app.app_context():
        with tenancy.tenant_session(tenants["a"].id) as session:
            delivery = session.scalars(select(Label).where(Label.key == "delivery")).one()
            delivery_id = delivery.id
        assert admin.post(f"/settings/taxonomy/{delivery_id}/retire", {"retired": "1"}).status_code == 303
        call_id = _transcribed_call(tenants["a"].id)
        _process(tenants["a"].id, call_id)
        tags = _tags(tenants["a"].id, call_id)
        assert ("reason", "parcel_never_received", "machine", False) in tags
        assert not [t for t in tags if t[1] == "delivery"]  # retired: no longer given
        # Company B changed nothing: the same words, the default topics, no reason.
        other = _transcribed_call(tenants["b"].id)
        _process(tenants["b"].id, other)
        assert ("topic", "delivery", "machine", False) in _tags(tenants["b"].id, other)
        assert not [t for t in _tags(tenants["b"].id, other) if t[0] == "reason"]
    listed = login_as("a", Role.QUALITY_MANAGER, locale="en").get("/calls?reason=parcel_never_received").text
    assert f'href="/calls/{call_id}"' in listed


def test_written_complaints_are_tagged_by_their_job(app: Flask, tenants: dict[str, TenantSet]) -> None:
    b = tenants["b"].id
    with app.app_context():
        complaint_id = factories.make_complaint(
            b, text="I was charged twice for my subscription and nobody answers my emails. This is unacceptable.")
        with tenancy.tenant_session(b) as session:
            job = session.scalars(select(jobs.Job).where(jobs.Job.kind == TAG_COMPLAINT)).one()
            assert job.payload == {"complaint_id": complaint_id}
        _run(tag_complaint.Handler(), TAG_COMPLAINT, b, complaint_id=complaint_id)
        with tenancy.tenant_session(b) as session:
            rows = session.scalars(select(Tag).where(Tag.complaint_id == complaint_id))
            tags = {(t.kind.value, t.value) for t in rows}
            assert session.get(Complaint, complaint_id) is not None
    assert ("sentiment", "unhappy") in tags and ("topic", "billing") in tags


def test_a_complaints_tags_are_corrected_like_a_calls(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    b = tenants["b"].id
    with app.app_context():
        complaint_id = factories.make_complaint(b, text="My parcel arrived broken and nobody answers. Unacceptable.")
    qm = login_as("b", Role.QUALITY_MANAGER, locale="en")
    assert "Tags will appear here in a moment" in qm.get(f"/complaints/{complaint_id}").text
    with app.app_context():
        _run(tag_complaint.Handler(), TAG_COMPLAINT, b, complaint_id=complaint_id)
    page = qm.get(f"/complaints/{complaint_id}").text
    assert 'aria-pressed="true" data-tag="sentiment:unhappy"' in page
    answer = qm.post(f"/complaints/{complaint_id}/tags", {"kind": "topic", "key": "after_sales", "present": "1"},
                     headers={"HX-Request": "true"})
    assert answer.status_code == 200 and 'aria-pressed="true" data-tag="topic:after_sales"' in answer.text
    with app.app_context():
        _run(tag_complaint.Handler(), TAG_COMPLAINT, b, complaint_id=complaint_id)  # the machine again
        with tenancy.tenant_session(b) as session:
            kept = session.scalars(select(Tag).where(Tag.complaint_id == complaint_id,
                                                     Tag.value == "after_sales")).one()
            assert (kept.origin, kept.rejected) == (TagOrigin.HUMAN, False)
    assert login_as("a", Role.QUALITY_MANAGER).post(f"/complaints/{complaint_id}/tags",
                                                    {"sentiment": "neutral"}).status_code == 404


def test_topics_named_in_passing_are_mention_tags_shown_apart(app: Flask, tenants: dict[str, TenantSet],
                                                              login_as) -> None:
    """Issue #15: the machine writes a topic named only in passing as a topic tag with ``mention`` set; the
    complaint and call pages list it apart ("Mentioned in passing"), and a click makes it a main topic."""
    b = tenants["b"].id
    with app.app_context():
        complaint_id = factories.make_complaint(
            b, text="Le grille-pain est tombé en panne au bout d'une semaine, pour ce prix c'est honteux.")
        _run(tag_complaint.Handler(), TAG_COMPLAINT, b, complaint_id=complaint_id)
        call_id = _transcribed_call(b, "livraison rapide et le livreur était très poli merci beaucoup")
        _process(b, call_id)
        with tenancy.tenant_session(b) as session:
            topics = {(t.complaint_id is not None, t.value, t.mention)
                      for t in session.scalars(select(Tag).where(Tag.kind == TagKind.TOPIC))}
    assert topics == {(True, "product", False), (True, "billing", True), (False, "delivery", False),
                      (False, "staff", True)}
    qm = login_as("b", Role.QUALITY_MANAGER, locale="fr")
    page = qm.get(f"/complaints/{complaint_id}").text
    assert "Mentionné en passant" in page and 'data-mention="billing"' in page
    assert 'aria-pressed="true" data-tag="topic:product"' in page
    assert 'aria-pressed="false" data-tag="topic:billing"' in page  # a mention is not a main topic
    call_page = qm.get(f"/calls/{call_id}").text
    assert 'data-mention="staff"' in call_page and 'aria-pressed="true" data-tag="topic:delivery"' in call_page
    assert "Mentioned in passing" in login_as("b", Role.QUALITY_MANAGER, locale="en").get(f"/calls/{call_id}").text
    answer = qm.post(f"/complaints/{complaint_id}/tags", {"kind": "topic", "key": "billing", "present": "1"},
                     headers={"HX-Request": "true"})
    assert 'aria-pressed="true" data-tag="topic:billing"' in answer.text and 'data-mention=' not in answer.text
    with app.app_context():
        _run(tag_complaint.Handler(), TAG_COMPLAINT, b, complaint_id=complaint_id)  # the machine again
        with tenancy.tenant_session(b) as session:
            billing = session.scalars(select(Tag).where(Tag.complaint_id == complaint_id,
                                                        Tag.value == "billing")).one()
            assert (billing.origin, billing.mention, billing.rejected) == (TagOrigin.HUMAN, False, False)


def test_filters_and_search_by_words(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    a = tenants["a"].id
    with app.app_context():
        late = _transcribed_call(a)
        happy = _transcribed_call(a, "merci beaucoup le technicien était vraiment très aimable et efficace")
        for call_id in (late, happy):
            _process(a, call_id)
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")

    def listed(query: str) -> set[int]:
        text = qm.get(f"/calls?{query}").text
        return {c for c in (late, happy) if f'href="/calls/{c}"' in text}

    assert listed("sentiment=unhappy") == {late}
    assert listed("sentiment=satisfied") == {happy}
    assert listed("topic=staff") == {happy}
    assert listed("q=TECHNICIEN") == {happy}
    assert listed("q=inadmissible&sentiment=unhappy") == {late}
    assert listed("q=%25") == set()  # a wildcard typed by a person is a character, not "everything"
    assert listed("topic=../etc") == {late, happy}  # nonsense is ignored


def test_one_companys_corrections_train_only_its_own_model(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """Company A says that "le zorglub" (the name its customers give its set-top box) means an unhappy
    customer with a product problem (its people tag six such calls product, and six others billing);
    A's own model learns it, where the default tagger sees no topic; B's tagging of the same words
    does not change. (The jargon was "ça clignote" until the default tagger learnt that a blinking
    light is a product problem.)"""
    from worker.tagging import company as company_tags

    a, b = tenants["a"].id, tenants["b"].id
    jargon = ["le zorglub encore depuis ce matin", "le zorglub orange chez moi", "le zorglub toute la nuit",
              "depuis hier le zorglub", "encore le zorglub", "le zorglub en rouge maintenant"]
    plain = ["je voudrais connaître le montant de mon forfait", "pouvez-vous m'envoyer mon échéancier",
             "je souhaite changer de forfait", "quel est le tarif de l'option",
             "je voudrais un duplicata de facture", "comment modifier mon moyen de paiement"]
    probe = "le zorglub depuis lundi"
    with app.app_context():
        with tenancy.tenant_session(b) as session:
            before_b = company_tags.for_company(session).tag(probe, "fr")
        assert "product" not in before_b.topics  # the default tagger does not know the jargon
        for text, sentiment, topic in ([(t, "unhappy", "product") for t in jargon]
                                       + [(t, "neutral", "billing") for t in plain]):
            call_id = _transcribed_call(a, text, seconds=0.3)
            with tenancy.tenant_session(a) as session:
                session.add(Tag(call_id=call_id, kind=TagKind.SENTIMENT, value=sentiment, origin=TagOrigin.HUMAN))
                session.add(Tag(call_id=call_id, kind=TagKind.TOPIC, value=topic, origin=TagOrigin.HUMAN))
        _run(retrain_tagger.Handler(), RETRAIN_KIND, a)
        with tenancy.tenant_session(a) as session:
            after_a = company_tags.for_company(session).tag(probe, "fr")
        with tenancy.tenant_session(b) as session:
            after_b = company_tags.for_company(session).tag(probe, "fr")
            assert session.scalars(select(Tag)).all() == []
    assert (after_a.sentiment, "product" in after_a.topics) == ("unhappy", True)
    assert after_b == before_b


def test_ecoute_tag_reads_json_lines_and_writes_one_line_each(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys
    from pathlib import Path

    ecoute = str(Path(sys.executable).with_name("ecoute"))
    lines = [{"text": "Je ne suis pas satisfait : mon colis n'est jamais arrivé. Rappelez-moi au 06 12 34 56 78.",
              "lang": "fr"},
             {"text": "Thank you, the technician was very helpful and fixed my boiler.", "lang": None},
             "not an object", {"text": 12, "lang": "fr"}]
    done = subprocess.run([ecoute, "tag"], input="\n".join(json.dumps(x) for x in lines) + "\n", text=True,
                          capture_output=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "ECOUTE_DATA_DIR": str(tmp_path), "ECOUTE_SECRET_KEY": "k"})
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == 4
    assert out[0]["sentiment"] == "unhappy" and "delivery" in out[0]["topics"]
    [phone] = out[0]["pii"]
    assert phone["type"] == "phone" and lines[0]["text"][phone["start"]:phone["end"]] == "06 12 34 56 78"
    # the helpful technician who fixed the boiler: staff, main or named (after-sales may be the main topic)
    assert out[1]["sentiment"] == "satisfied" and "staff" in out[1]["topics"] + out[1]["mentions"]
    assert out[1]["pii"] == []
    assert "error" in out[2] and "error" in out[3]
    assert "06 12 34 56 78" not in done.stderr


def test_complaints_filter_by_tags_and_words(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    b = tenants["b"].id
    with app.app_context():
        angry = factories.make_complaint(b, text="I was charged twice this month. Unacceptable, refund me now.")
        happy = factories.make_complaint(b, text="Thank you, the technician was very helpful and polite.")
        for complaint_id in (angry, happy):
            _run(tag_complaint.Handler(), TAG_COMPLAINT, b, complaint_id=complaint_id)
    qm = login_as("b", Role.QUALITY_MANAGER, locale="en")

    def listed(query: str) -> set[int]:
        text = qm.get(f"/complaints?{query}").text
        return {c for c in (angry, happy) if f'href="/complaints/{c}"' in text}

    assert listed("sentiment=unhappy") == {angry}
    assert listed("topic=staff") == {happy}
    assert listed("q=CHARGED+twice") == {angry}
    assert listed("q=_") == set()
    assert listed("") == {angry, happy}
