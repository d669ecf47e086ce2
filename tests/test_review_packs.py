"""Review packs (issue #15, item 6): what a pack gathers, who may read it, its PDF in French and English,
personal data masked in its verbatims, and the semi-annual mail to each product's owner, once per
product and semester whatever the number of runs."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask, current_app
from pypdf import PdfReader
from sqlalchemy import delete, func, select

from tests import factories
from tests.conftest import TenantSet
from tests.support.smtpsink import SmtpSink, body_text
from webapp import jobs, storage, tenancy
from webapp.models import (
    Call,
    Complaint,
    EntryStatus,
    Label,
    LabelKind,
    Outcome,
    Product,
    RegisterEntry,
    Role,
    Tag,
    TagKind,
    User,
)
from webapp.services import excerpts, review_packs
from worker.handlers import JobContext, review_pack_mail, review_pack_pdf

H1 = review_packs.Period(2026, 1)
PHONE = "06 12 34 56 78"
SECRET_TEXT = f"Le four est tombé en panne après une semaine, rappelez-moi au {PHONE} merci."


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _complaint(tenant_id: int, text: str, product: str, day: str, *, reason: str = "", unhappy: bool = False,
               pii: list[list[int]] | None = None) -> int:
    complaint_id = factories.make_complaint(tenant_id, text=text)
    with tenancy.tenant_session(tenant_id) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        complaint.product, complaint.received_at = product, _at(day)
        session.execute(delete(Tag).where(Tag.complaint_id == complaint_id))
        if reason:
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.REASON, value=reason, evidence=["en panne"]))
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.TOPIC, value="product"))
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.TOPIC, value="billing", mention=True))
        if unhappy:
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.SENTIMENT, value="unhappy"))
        if pii:
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.PII, value="phone", evidence=pii))
    return complaint_id


def _entry(tenant_id: int, number: int, product: str, *, status: EntryStatus, answer_by: date,
           outcome: Outcome | None = None, answered_at: datetime | None = None) -> None:
    with tenancy.tenant_session(tenant_id) as session:
        session.add(RegisterEntry(year=1999, number=number, reference=f"REC-1999-{number:06d}",
                                  subject=f"Sujet {number}",
                                  received_on=date(2026, 1, 5), product=product, status=status,
                                  acknowledge_by=date(2026, 1, 19), answer_by=answer_by, outcome=outcome,
                                  answered_at=answered_at))


@pytest.fixture
def pack_data(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, Any]:
    return seed_pack(app, tenants)


def seed_pack(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, Any]:
    """Company A: the product "Four X" (family "Cuisson", owned by A's staff member), with voices in
    2026-H1 and the half before, and register entries; "Plaque" of the same family, owned by no one."""
    a = tenants["a"]
    staff = a.users[Role.STAFF]
    with app.app_context():
        with tenancy.tenant_session(a.id) as session:
            session.add(Label(kind=LabelKind.REASON, key="breakdown", label_fr="Panne", label_en="Breakdown"))
            session.add(Product(name="Four X", family="Cuisson", department="Cuisine", owner_id=staff.id))
            session.add(Product(name="Plaque", family="Cuisson", department="Autre"))
        start = SECRET_TEXT.index(PHONE)
        masked = _complaint(a.id, SECRET_TEXT, "Four X", "2026-03-10T09:00:00", reason="breakdown", unhappy=True,
                            pii=[[start, start + len(PHONE)]])
        _complaint(a.id, "Le four ne chauffe plus du tout, en panne.", "Four X", "2026-02-02T09:00:00",
                   reason="breakdown")
        _complaint(a.id, "Très content du four.", "Four X", "2026-05-20T09:00:00")
        _complaint(a.id, "Ancienne panne.", "Four X", "2025-11-20T09:00:00", reason="breakdown", unhappy=True)
        _complaint(a.id, "Autre produit en panne.", "Autre", "2026-03-01T09:00:00", reason="breakdown")
        call_id = factories.make_ready_call(a.id)
        with tenancy.tenant_session(a.id) as session:
            call = session.get(Call, call_id)
            assert call is not None
            call.product, call.received_at = "Four X", _at("2026-04-01T10:00:00")
        _entry(a.id, 1, "Four X", status=EntryStatus.RECEIVED, answer_by=date(2026, 3, 5))
        _entry(a.id, 2, "Four X", status=EntryStatus.ANSWERED, answer_by=date(2026, 3, 5), outcome=Outcome.UPHELD,
               answered_at=_at("2026-02-20T12:00:00"))
        _entry(a.id, 3, "Four X", status=EntryStatus.CLOSED, answer_by=date(2026, 3, 5), outcome=Outcome.REJECTED,
               answered_at=_at("2026-02-21T12:00:00"))
        _entry(a.id, 4, "Autre", status=EntryStatus.RECEIVED, answer_by=date(2026, 3, 5))
        with tenancy.tenant_session(a.id) as session:
            product_id = session.scalar(select(Product.id).where(Product.name == "Four X"))
    return {"tenant": a, "product_id": product_id, "masked_complaint": masked, "call_id": call_id}


def test_the_last_complete_semester_is_the_default_period() -> None:
    assert review_packs.Period.last_complete(date(2026, 7, 1)) == H1
    assert review_packs.Period.last_complete(date(2026, 6, 30)) == review_packs.Period(2025, 2)
    assert review_packs.Period.parse("", date(2027, 1, 2)).key == "2026-H2"
    assert review_packs.Period.parse("2027-H1", date(2026, 12, 3)).key == "2026-H1"  # not begun: the default
    assert H1.previous.key == "2025-H2" and [m.month for m in H1.months] == [1, 2, 3, 4, 5, 6]


def test_masking_hides_every_span_one_mask_per_run() -> None:
    text = "Jean Dupont, 06 12 34 56 78, habite 3 rue X."
    masked, where = excerpts.mask(text, [(0, 4), (5, 11), (13, 27)])
    assert masked == "•••, habite 3 rue X."  # the name and the number run together: one mask
    assert masked[where[text.index("habite")]:].startswith("habite")


def test_pack_gathers_volumes_reasons_register_and_actions(app: Flask, tenants: dict[str, TenantSet],
                                                           pack_data: dict[str, Any]) -> None:
    a, now = pack_data["tenant"], _at("2026-07-02T08:00:00")
    with app.app_context():  # another company's voice about a product of the same name, newest of all
        _complaint(tenants["b"].id, "Entreprise B : four en panne", "Four X", "2026-06-29T09:00:00", reason="breakdown")
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        owner = session.get(User, a.users[Role.STAFF].id)
        assert owner is not None
        scope = review_packs.resolve_scope(session, owner, f"product:{pack_data['product_id']}")
        assert scope is not None
        pack = review_packs.build_pack(session, scope, H1, locale="fr", now=now)
    assert (pack.complaints, pack.calls, pack.previous_complaints) == (3, 1, 1)
    assert [m.complaints for m in pack.months] == [0, 1, 1, 0, 1, 0] and pack.months[3].calls == 1
    assert (pack.unhappy, pack.unhappy_share) == (1, 0.25)
    assert [(r.key, r.label, r.count, r.previous) for r in pack.reasons] == [("breakdown", "Panne", 2, 1)]
    assert [t.key for t in pack.topics] == ["product"]  # "billing" is only mentioned in passing
    texts = [v.text for v in pack.reasons[0].verbatims]
    assert len(texts) == 2 and all(PHONE not in t and "Entreprise B" not in t for t in texts)
    assert any("rappelez-moi au •••" in t for t in texts)
    assert [(e.reference, e.overdue) for e in pack.open_entries] == [("REC-1999-000001", "answer")]
    assert (pack.open_count, pack.overdue_count) == (1, 1)
    assert [e.reference for e in pack.actions] == ["REC-1999-000002"]  # upheld; the rejected one is no action


def test_a_pack_lists_the_improvement_actions_done_about_its_products(
        app: Flask, tenants: dict[str, TenantSet], pack_data: dict[str, Any], login_as: Any) -> None:
    """Issue #16: done and verified actions about the product in the period are "actions taken"; others are not."""
    from webapp.models import ActionStatus
    from webapp.services import actions

    a = pack_data["tenant"]
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        manager = session.get(User, a.users[Role.QUALITY_MANAGER].id)
        assert manager is not None
        for title, product, status, done in (("Nouveau joint de porte", "Four X", ActionStatus.VERIFIED, "2026-03-02"),
                                             ("Notice refaite", "Four X", ActionStatus.IN_PROGRESS, None),
                                             ("Ailleurs", "Plaque", ActionStatus.DONE, "2026-03-02"),
                                             ("Trop tard", "Four X", ActionStatus.DONE, "2026-07-02")):
            action = actions.propose(session, manager, title=title, origin="manual", product=product)
            action.status, action.done_at = status, _at(f"{done}T10:00:00") if done else None
    url = f"/review-packs?scope=product:{pack_data['product_id']}&period=2026-H1"
    page = login_as("a", Role.QUALITY_MANAGER).get(url)
    assert page.status_code == 200
    assert "Nouveau joint de porte" in page.text
    assert "Notice refaite" not in page.text and "Ailleurs" not in page.text and "Trop tard" not in page.text


def test_a_family_pack_covers_its_products_and_staff_read_only_their_own(
        app: Flask, tenants: dict[str, TenantSet], pack_data: dict[str, Any], login_as: Any) -> None:
    product = f"/review-packs?scope=product:{pack_data['product_id']}&period=2026-H1"
    family = "/review-packs?scope=family:Cuisson&period=2026-H1"
    owner = login_as("a", Role.STAFF)
    assert owner.get(product).status_code == 200
    assert owner.get(family).status_code == 404  # "Plaque" is not theirs
    manager = login_as("a", Role.QUALITY_MANAGER)
    page = manager.get(family)
    assert page.status_code == 200 and "Cuisson" in page.text
    assert login_as("b", Role.TENANT_ADMIN).get(product).status_code == 404
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        other = session.get(User, tenants["a"].users[Role.STAFF].id)
        assert other is not None
        other.department = "Autre"
        found = session.scalar(select(Product).where(Product.name == "Four X"))
        assert found is not None
        found.owner_id = None
    assert owner.get(product).status_code == 404  # neither its owner nor in its department any more


@pytest.mark.parametrize(("lang", "sections"), [
    ("fr", ["Volumes et tendance", "Voix mécontentes", "Principaux motifs de réclamation", "Principaux sujets",
            "Réclamations ouvertes au registre", "Actions menées"]),
    ("en", ["Volumes and trend", "Unhappy voices", "Top complaint reasons", "Main topics",
            "Open complaints in the register", "Actions taken"]),
])
def test_the_pdf_has_every_section_in_the_language_asked(app: Flask, pack_data: dict[str, Any], login_as: Any,
                                                        lang: str, sections: list[str]) -> None:
    a = pack_data["tenant"]
    client = login_as("a", Role.QUALITY_MANAGER)
    asked = client.post("/review-packs/pdf", {"scope": f"product:{pack_data['product_id']}", "period": "2026-H1",
                                              "lang": lang})
    assert asked.status_code == 303
    status_url = asked.headers["Location"]
    assert "PDF" in client.get(status_url).text and client.get(status_url + "/file").status_code == 404
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        job = session.scalar(select(jobs.Job).where(jobs.Job.kind == review_packs.REVIEW_PACK_PDF))
        assert job is not None
        job_id, payload = job.id, dict(job.payload)
    with app.app_context():
        review_pack_pdf.Handler().run(JobContext(job_id=job_id, kind=review_pack_pdf.KIND, tenant_id=a.id,
                                                 payload=payload, attempt=1, max_attempts=3,
                                                 settings=current_app.config["ECOUTE"]))
        key = review_packs.pdf_key(a.id, job_id)
        body = b"".join(storage.get_storage(current_app.config["ECOUTE"]).read_range(key))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    text = re.sub(r"\s+", " ", text)
    for section in sections:
        assert section in text, section
    assert "Four X" in text and "REC-1999-000001" in text
    assert PHONE not in text and "•••" in text
    if lang == "fr":
        assert "janvier à juin 2026" in text.lower()
    download = client.get(status_url + "/file")
    assert download.status_code == 200 and download.data[:5] == b"%PDF-"
    assert login_as("a", Role.TENANT_ADMIN).get(status_url + "/file").status_code == 404  # not theirs


def test_the_pdf_fetches_nothing_but_our_static_files() -> None:
    from webapp import pdf

    fetcher = pdf.StaticOnly()
    for url in ("http://127.0.0.1:1/x.css", "file:///etc/passwd", "data:text/css,body{}",
                (pdf.STATIC_DIR / ".." / "config.py").resolve().as_uri()):
        with pytest.raises(pdf.Refused):
            fetcher.fetch(url)
    assert fetcher.fetch((pdf.STATIC_DIR / "css" / "review-pack.css").as_uri()).status == 200


def test_the_semiannual_mail_goes_once_per_product_and_semester(app: Flask, pack_data: dict[str, Any],
                                                                smtp: SmtpSink) -> None:
    a = pack_data["tenant"]
    key = f"review-pack:{pack_data['product_id']}:2026-H1"
    with app.app_context():
        assert review_packs.schedule_review_packs(_at("2026-06-30T23:00:00")) == 0  # the semester is not over
        assert review_packs.schedule_review_packs(_at("2026-07-01T06:00:00")) == 1  # only "Four X" has an owner
        assert review_packs.schedule_review_packs(_at("2026-07-03T06:00:00")) == 0  # the same window: nothing new
        assert review_packs.schedule_review_packs(_at("2026-08-01T06:00:00")) == 0  # too late for H1
        assert review_packs.schedule_review_packs(_at("2027-01-02T06:00:00")) == 1  # the next semester
        with tenancy.tenant_session(a.id) as session:
            queued = session.scalars(select(jobs.Job).where(jobs.Job.kind == review_packs.REVIEW_PACK_MAIL)
                                     .order_by(jobs.Job.id)).all()
            assert [j.idempotency_key for j in queued] == [key, key.replace("2026-H1", "2026-H2")]
            payload = dict(queued[0].payload)
        review_pack_mail.Handler().run(JobContext(job_id=queued[0].id, kind=review_pack_mail.KIND, tenant_id=a.id,
                                                  payload=payload, attempt=1, max_attempts=5,
                                                  settings=current_app.config["ECOUTE"]))
    owner = a.users[Role.STAFF].email
    msg = smtp.wait_for(lambda m: m["To"] == owner, timeout=5)
    assert "Four X" in msg["Subject"] and "janvier à juin 2026" in msg["Subject"]
    assert re.search(rf"https?://\S+/review-packs\?scope=product(:|%3A){pack_data['product_id']}&period=2026-H1",
                     body_text(msg))
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        assert session.scalar(select(func.count()).select_from(Product).where(Product.owner_id.isnot(None))) == 1


def test_a_call_with_an_approved_clip_comes_first_with_a_qr_code_its_owner_can_open(
        app: Flask, pack_data: dict[str, Any], login_as: Any) -> None:
    a, call_id = pack_data["tenant"], pack_data["call_id"]
    with app.app_context():
        with tenancy.tenant_session(a.id) as session:
            session.add(Tag(call_id=call_id, kind=TagKind.REASON, value="breakdown", evidence=["mot1"]))
        clip_id = factories.make_clip(a.id, call_id, start=0.0, end=2.0, title="Le four en panne",
                                      sentiment="unhappy", render=True, approve=True)
    owner = login_as("a", Role.STAFF)
    page = owner.get(f"/review-packs?scope=product:{pack_data['product_id']}&period=2026-H1")
    assert page.status_code == 200
    reasons = page.text[page.text.index('id="pack-reasons"'):page.text.index('id="pack-topics"')]
    assert reasons.index(f"/review-packs/clips/{clip_id}") < reasons.index("rappelez-moi")  # the clip first
    assert '<svg width=' in reasons and 'class="segno"' in reasons  # its QR code, inline
    assert "/calls/" not in reasons  # staff do not open calls; the clip's page is theirs
    clip_page = owner.get(f"/review-packs/clips/{clip_id}")
    assert clip_page.status_code == 200 and "Le four en panne" in clip_page.text
    assert owner.get(f"/review-packs/clips/{clip_id}/audio").status_code == 200
    manager = login_as("a", Role.QUALITY_MANAGER).get(
        f"/review-packs?scope=product:{pack_data['product_id']}&period=2026-H1")
    assert f"/calls/{call_id}" in manager.text  # curators open the voices themselves
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        found = session.scalar(select(Product).where(Product.name == "Four X"))
        assert found is not None
        found.owner_id = None
    assert owner.get(f"/review-packs/clips/{clip_id}").status_code == 404  # no longer theirs to hear


def test_a_pdf_is_kept_a_day_then_purged(app: Flask, pack_data: dict[str, Any], login_as: Any) -> None:
    from datetime import timedelta

    from webapp.db import utcnow
    from worker.handlers import review_pack_purge

    a = pack_data["tenant"]
    client = login_as("a", Role.QUALITY_MANAGER)
    status_url = client.post("/review-packs/pdf", {"scope": f"product:{pack_data['product_id']}",
                                                   "period": "2026-H1", "lang": "en"}).headers["Location"]
    settings = app.config["ECOUTE"]
    with app.app_context():
        with tenancy.tenant_session(a.id) as session:
            job = session.scalar(select(jobs.Job).where(jobs.Job.kind == review_packs.REVIEW_PACK_PDF))
            assert job is not None
            job_id, payload = job.id, dict(job.payload)
        review_pack_pdf.Handler().run(JobContext(job_id=job_id, kind=review_pack_pdf.KIND, tenant_id=a.id,
                                                 payload=payload, attempt=1, max_attempts=3, settings=settings))
        with tenancy.tenant_session(a.id) as session:
            job = session.get(jobs.Job, job_id)
            assert job is not None
            job.status, job.finished_at = jobs.JobStatus.DONE, utcnow()
    assert client.get(status_url + "/file").status_code == 200
    key = review_packs.pdf_key(a.id, job_id)
    later = utcnow() + timedelta(days=1, hours=1)
    with app.app_context():
        assert review_packs.schedule_pdf_purge(later) >= 1
        assert review_packs.schedule_pdf_purge(later) == 0  # once a day
        purge = JobContext(job_id=0, kind=review_pack_purge.KIND, tenant_id=a.id, payload={"at": later.isoformat()},
                           attempt=1, max_attempts=5, settings=settings)
        review_pack_purge.Handler().run(purge)
        review_pack_purge.Handler().run(purge)  # twice: nothing left to do, no error
        assert not storage.get_storage(settings).exists(key)
        with tenancy.tenant_session(a.id) as session:
            job = session.get(jobs.Job, job_id)
            assert job is not None
            job.finished_at = utcnow() - timedelta(days=2)
    assert client.get(status_url).status_code == 404  # past its day, the page says nothing of it
