"""The complaint register (issue #15): references, the life cycle, the mediator rule, clocks, oral
complaints proposed from calls, entries made for every written complaint, erasure, and the pages.

Real parts: the database of the run (SQLite, or PostgreSQL with ``--db=postgresql``), the services, the
pages through the test client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.errors import Conflict, UserError
from webapp.models import (
    AuditEvent,
    Call,
    Channel,
    Complaint,
    EntryStatus,
    Label,
    LabelKind,
    Outcome,
    RegisterEntry,
    RegisterEvent,
    RegisterLink,
    Role,
    Tag,
    TagKind,
    Tenant,
    Transcript,
    User,
)
from webapp.services import erasure, register, tags, taxonomy
from worker.handlers import JobContext, process_call

MEDIATOR = "Médiateur de l'Assurance"


@contextmanager
def bound(app: Flask, tenant_id: int) -> Iterator[Session]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        yield session


def _user(session: Session, tenant: TenantSet, role: Role = Role.QUALITY_MANAGER) -> User:
    user = session.get(User, tenant.users[role].id)
    assert user is not None
    return user


def _entry(session: Session, **kwargs: object) -> RegisterEntry:
    args: dict[str, object] = {"actor": register.Actor.machine(), "received_on": date(2026, 3, 4),
                               "channel": Channel.LETTER}
    args.update(kwargs)
    return register.create_entry(session, **args)  # type: ignore[arg-type]


def _set_mediator(app: Flask, tenant_id: int, name: str = MEDIATOR) -> None:
    with bound(app, tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.mediator_name = name


def _reason(app: Flask, tenant_id: int, key: str = "refund_refused") -> str:
    with bound(app, tenant_id) as session:
        session.add(Label(kind=LabelKind.REASON, key=key, label_fr="Remboursement refusé", label_en="Refund refused",
                          examples="remboursement refusé"))
    return key


# --- references --------------------------------------------------------------------------------------


def test_references_follow_each_company_and_year(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        first = _entry(session).reference
        second = _entry(session).reference
        next_year = _entry(session, received_on=date(2027, 1, 2)).reference
        back = _entry(session, received_on=date(2026, 12, 31)).reference
    with bound(app, tenants["b"].id) as session:
        other = _entry(session).reference
    assert (first, second, next_year, back) == ("REC-2026-000001", "REC-2026-000002", "REC-2027-000001",
                                                "REC-2026-000003")
    assert other == "REC-2026-000001"  # company B has its own sequence


def test_a_number_taken_meanwhile_is_retried(app: Flask, tenants: dict[str, TenantSet],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process took the number between reading the highest and inserting: the savepoint is rolled
    back and the next number is taken (the unique constraint decides, on both databases)."""
    with bound(app, tenants["a"].id) as session:
        _entry(session)
        real = register._next_number
        stale = iter([1])
        monkeypatch.setattr(register, "_next_number", lambda s, year: next(stale, None) or real(s, year))
        entry = _entry(session, subject="second")
        assert entry.reference == "REC-2026-000002"
        assert session.scalar(select(RegisterEntry.subject).where(RegisterEntry.number == 2)) == "second"


def test_concurrent_requests_never_share_a_reference(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """Several processes adding entries at once, each in its own transaction: every one gets its own number,
    with no gap (on PostgreSQL the unique constraint makes the losers retry; SQLite serialises writers)."""
    start = threading.Barrier(4)

    def add(n: int) -> list[str]:
        made = []
        with app.app_context():
            start.wait(timeout=30)
            for i in range(5):
                with tenancy.tenant_session(tenants["a"].id) as session:
                    made.append(_entry(session, subject=f"{n}-{i}").reference)
        return made

    with ThreadPoolExecutor(max_workers=4) as pool:
        references = [ref for made in pool.map(add, range(4)) for ref in made]
    assert sorted(references) == [f"REC-2026-{n:06d}" for n in range(1, 21)]


def test_an_external_id_sent_again_returns_its_entry(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        first = _entry(session, external_id="crm-1")
        again = _entry(session, external_id="crm-1")
        assert again.id == first.id
        assert len(list(session.scalars(select(RegisterEntry)))) == 1


# --- clocks ------------------------------------------------------------------------------------------


def test_the_issue_example_and_the_clocks_shown(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        entry = _entry(session, received_on=date(2025, 12, 24))
        assert (entry.acknowledge_by, entry.answer_by) == (date(2026, 1, 7), date(2026, 2, 24))
        clocks = register.clocks(entry, date(2026, 1, 5))
        assert (clocks.acknowledge_left, clocks.answer_left, clocks.overdue) == (2, 50, False)
        late = register.clocks(entry, date(2026, 1, 8))
        assert late.acknowledge_overdue and not late.answer_overdue and late.acknowledge_left == -1
        # Answering counts as acknowledging: neither clock runs any more.
        register.answer(session, entry, "Nous vous remboursons.", Outcome.UPHELD, register.Actor.machine())
        done = register.clocks(entry, date(2026, 3, 1))
        assert (done.acknowledge_left, done.answer_left, done.overdue) == (None, None, False)
        assert entry.acknowledged_at is not None


def test_the_sent_date_starts_the_clocks_and_an_edit_computes_them_again(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        entry = _entry(session, received_on=date(2025, 12, 30), sent_on=date(2025, 12, 24))
        assert entry.acknowledge_by == date(2026, 1, 7)
        fields = register.EntryFields(received_on=date(2025, 12, 30), sent_on=None, channel=Channel.LETTER)
        assert register.edit(session, entry, fields, register.Actor(_user(session, tenants["a"]))) == ["sent_on"]
        assert entry.acknowledge_by == date(2026, 1, 12)  # 10 jours ouvrables from 30 December
        event = session.scalars(select(RegisterEvent).where(RegisterEvent.action == "edited")).one()
        assert event.detail["acknowledge_by"] == "2026-01-12"


def test_the_company_rule_set_applies(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None
        admin = _user(session, tenants["a"], Role.TENANT_ADMIN)
        assert register.rule_set_of(tenant) == "acpr"
        register.update_register_settings(session, tenant, admin, {"rule_set": "ouvres", "calendar": "metropolitan"})
        assert register.rule_set_of(tenant) == "ouvres"
        entry = _entry(session, received_on=date(2025, 12, 24))
        assert entry.acknowledge_by == date(2026, 1, 9)  # Monday to Friday: two Saturdays more
        register.update_register_settings(session, tenant, admin, {
            "rule_set": "custom", "days": "calendar", "acknowledge_days": "5", "answer_days": "30",
            "calendar": "alsace_moselle"})
        assert register.rule_set_of(tenant) == "custom"
        custom = _entry(session, received_on=date(2026, 3, 2))
        assert (custom.acknowledge_by, custom.answer_by) == (date(2026, 3, 7), date(2026, 4, 1))
        with pytest.raises(UserError, match="entre 1 et 365"):
            register.update_register_settings(session, tenant, admin, {"rule_set": "custom", "days": "ouvres",
                                                                       "acknowledge_days": "0"})


def test_a_new_rule_set_recomputes_the_running_deadlines_of_open_entries(app: Flask, login_as: object,
                                                                         tenants: dict[str, TenantSet]) -> None:
    """Saving another rule set moves the deadlines still running of open entries, and says how many entries
    moved; a deadline already met, and an answered entry, keep theirs; each entry moved says so in its timeline,
    and the journal holds one line for them all."""
    _set_mediator(app, tenants["a"].id)
    machine = register.Actor.machine()
    with bound(app, tenants["a"].id) as session:
        received = _entry(session, received_on=date(2026, 3, 2))
        acknowledged = _entry(session, received_on=date(2026, 3, 3))
        register.transition(session, acknowledged, EntryStatus.ACKNOWLEDGED, machine)
        answered = _entry(session, received_on=date(2026, 3, 4))
        register.answer(session, answered, "Nous vous remboursons.", Outcome.UPHELD, machine)
        ids = [received.id, acknowledged.id, answered.id]
        before = {e.id: (e.acknowledge_by, e.answer_by) for e in (received, acknowledged, answered)}
    assert before[ids[0]] == (date(2026, 3, 13), date(2026, 5, 2))  # ACPR
    admin: Client = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    custom = {"rule_set": "custom", "days": "calendar", "acknowledge_days": "5", "answer_days": "30",
              "calendar": "metropolitan", "mediator_name": MEDIATOR}
    assert admin.post("/settings/company/register", custom).status_code == 303
    page = admin.get("/settings/company")
    assert "The new rules apply to open entries too: 2 entries have new due dates." in page.text
    with bound(app, tenants["a"].id) as session:
        after = {i: (e.acknowledge_by, e.answer_by) for i in ids if (e := session.get(RegisterEntry, i)) is not None}
        assert after == {ids[0]: (date(2026, 3, 7), date(2026, 4, 1)),  # both clocks run: both move
                         ids[1]: (before[ids[1]][0], date(2026, 4, 2)),  # acknowledged: its answer clock only
                         ids[2]: before[ids[2]]}  # answered: nothing runs
        moved = session.get(RegisterEntry, ids[0])
        assert moved is not None
        assert register.timeline(session, moved)[-1].event.action == "clocks"
        (journal,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.settings_changed"))
        assert journal.details["entries_recomputed"] == 2
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "register.clocks")) is None
    assert "computed its due dates again" in admin.get(f"/register/{ids[0]}").text
    # The mediator alone: no clock moves, nothing said about entries.
    assert admin.post("/settings/company/register", {**custom, "mediator_name": "Autre médiateur"}).status_code == 303
    assert "Settings saved." in (saved := admin.get("/settings/company").text) and "open entries too" not in saved


# --- life cycle --------------------------------------------------------------------------------------


def test_the_life_cycle(app: Flask, tenants: dict[str, TenantSet]) -> None:
    _set_mediator(app, tenants["a"].id)
    with bound(app, tenants["a"].id) as session:
        actor = register.Actor(_user(session, tenants["a"]))
        entry = _entry(session)
        with pytest.raises(register.TransitionRefused, match="ne peut pas passer à «\u00a0Close"):
            register.transition(session, entry, EntryStatus.CLOSED, actor)
        with pytest.raises(register.TransitionRefused, match="Rédigez la réponse"):
            register.transition(session, entry, EntryStatus.ANSWERED, actor)
        register.transition(session, entry, EntryStatus.ACKNOWLEDGED, actor)
        register.transition(session, entry, EntryStatus.INVESTIGATING, actor)
        register.answer(session, entry, "Nous remplaçons le four.", Outcome.UPHELD, actor)
        with pytest.raises(register.TransitionRefused, match="rouvrez-la"):
            register.answer(session, entry, "Encore.", Outcome.UPHELD, actor)
        register.transition(session, entry, EntryStatus.CLOSED, actor)
        assert entry.closed_at is not None
        register.transition(session, entry, EntryStatus.REOPENED, actor)
        assert entry.answered_at is None and register.clocks(entry).answer_left is not None
        register.answer(session, entry, "Le four est remplacé.", "upheld", actor)
        assert entry.status == EntryStatus.ANSWERED
        steps = [(line.event.action, line.event.from_status, line.event.to_status)
                 for line in register.timeline(session, entry)]
        assert steps == [("created", None, "received"), ("status", "received", "acknowledged"),
                         ("status", "acknowledged", "investigating"), ("answer", "investigating", "answered"),
                         ("status", "answered", "closed"), ("status", "closed", "reopened"),
                         ("answer", "reopened", "answered")]
        assert entry.version == 7
        journal = list(session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"register:{entry.id}")))
        assert journal.count("register.status") == 4 and journal.count("register.answer") == 2


def test_answering_straight_from_received_acknowledges(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        entry = _entry(session)
        register.answer(session, entry, "Réponse.", Outcome.UPHELD, register.Actor(label="API: CRM"))
        assert entry.acknowledged_at == entry.answered_at
        assert register.timeline(session, entry)[-1].who == "API: CRM"


# --- the mediator rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [Outcome.REJECTED, Outcome.PARTLY_UPHELD])
def test_the_mediator_rule(app: Flask, tenants: dict[str, TenantSet], outcome: Outcome) -> None:
    with bound(app, tenants["a"].id) as session:
        entry = _entry(session)
        actor = register.Actor.machine()
        with pytest.raises(register.MediatorRule, match="paramètres de l'entreprise"):
            register.answer(session, entry, "Nous refusons.", outcome, actor)
    _set_mediator(app, tenants["a"].id)
    with bound(app, tenants["a"].id) as session:
        entry = session.scalars(select(RegisterEntry)).one()
        with pytest.raises(register.MediatorRule, match="Médiateur de l'Assurance"):
            register.answer(session, entry, "Nous refusons votre demande.", outcome, actor)
        assert entry.status == EntryStatus.RECEIVED
        register.answer(session, entry, "Nous refusons. Vous pouvez saisir le MEDIATEUR  DE L’ASSURANCE.",
                        outcome, actor)
        assert (entry.status, entry.outcome) == (EntryStatus.ANSWERED, outcome)


def test_the_mediator_is_compared_without_accents_or_case() -> None:
    assert register.mentions_mediator("écrivez au médiateur de l'assurance", "Médiateur de l'Assurance")
    assert not register.mentions_mediator("écrivez au médiateur", "Médiateur de l'Assurance")
    assert not register.mentions_mediator("anything", "")


# --- owner, links, erasure ---------------------------------------------------------------------------


def test_owners_are_active_quality_managers_or_admins(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        entry = _entry(session)
        actor = register.Actor(_user(session, tenants["a"], Role.TENANT_ADMIN))
        with pytest.raises(UserError, match="responsables qualité et administrateurs actifs"):
            register.assign(session, entry, tenants["a"].users[Role.STAFF].id, actor)
        with pytest.raises(UserError, match="responsables qualité et administrateurs actifs"):
            register.assign(session, entry, tenants["b"].users[Role.QUALITY_MANAGER].id, actor)
        assert register.assign(session, entry, tenants["a"].users[Role.QUALITY_MANAGER].id, actor)
        assert not register.assign(session, entry, tenants["a"].users[Role.QUALITY_MANAGER].id, actor)
        assert {u.id for u in register.owners(session)} == {tenants["a"].users[Role.QUALITY_MANAGER].id,
                                                            tenants["a"].users[Role.TENANT_ADMIN].id}


def test_a_written_complaint_becomes_an_entry(app: Flask, tenants: dict[str, TenantSet]) -> None:
    key = _reason(app, tenants["a"].id)
    with app.app_context():
        complaint_id = factories.make_complaint(tenants["a"].id, customer_ref="C-42")
    with bound(app, tenants["a"].id) as session:
        entry = register.entry_of(session, complaint_id=complaint_id)
        assert entry is not None
        assert (entry.reference, entry.channel, entry.customer_ref, entry.subject) == (
            "REC-2026-000001" if entry.year == 2026 else entry.reference, Channel.EMAIL, "C-42", "")
        assert entry.reasons == []
        # The tagger finds a reason later: the entry takes it.
        session.add(Tag(complaint_id=complaint_id, kind=TagKind.REASON, value=key))
        session.flush()
        assert register.reasons_tagged(session, complaint_id=complaint_id)
        assert entry.reasons == [key]
        # Once a person set the reasons, the machine leaves them.
        person = register.Actor(_user(session, tenants["a"]))
        fields = register.EntryFields(received_on=entry.received_on, sent_on=None, channel=entry.channel,
                                      customer_ref=entry.customer_ref)
        register.edit(session, entry, fields, person)
        assert entry.reasons == []
        assert not register.reasons_tagged(session, complaint_id=complaint_id)


def test_the_tagging_job_gives_a_written_complaint_s_entry_its_reasons(app: Flask,
                                                                         tenants: dict[str, TenantSet]) -> None:
    """Through the real ``tag_complaint`` job: the company's reason, found by the tagger, reaches the entry."""
    from worker.handlers import JobContext, tag_complaint

    a = tenants["a"].id
    with bound(app, a) as session:
        taxonomy.add_label(session, _user(session, tenants["a"], Role.TENANT_ADMIN), kind="reason",
                           label_fr="Colis jamais reçu", label_en="Parcel never received",
                           examples="toujours pas arrivée\nnever arrived")
    with app.app_context():
        complaint_id = factories.make_complaint(a, text="Ma commande n'est toujours pas arrivée, c'est inadmissible.")
        tag_complaint.Handler().run(JobContext(job_id=1, kind=tag_complaint.KIND, tenant_id=a,
                                               payload={"complaint_id": complaint_id}, attempt=1, max_attempts=5,
                                               settings=app.config["ECOUTE"]))
    with bound(app, a) as session:
        entry = register.entry_of(session, complaint_id=complaint_id)
        assert entry is not None and entry.reasons == ["parcel_never_received"]
        assert register.timeline(session, entry)[-1].who == register.MACHINE


def test_received_on_is_the_french_date(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        complaint = Complaint(text="Inadmissible.", received_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
                              channel=Channel.LETTER)
        session.add(complaint)
        session.flush()
        entry = register.record_written(session, complaint, register.Actor.machine())
        assert (entry.received_on, entry.reference) == (date(2026, 1, 1), "REC-2026-000001")


def test_links_and_erasure(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        complaint_id = factories.make_complaint(tenants["a"].id, customer_ref="C-7")
        other_id = factories.make_complaint(tenants["a"].id)
    with bound(app, tenants["a"].id) as session:
        actor = register.Actor(_user(session, tenants["a"]))
        entry = register.entry_of(session, complaint_id=complaint_id)
        assert entry is not None
        entry.subject, entry.remedy = "Four en panne", "Remplacement"
        with pytest.raises(Conflict, match="déjà dans le registre, sous la référence REC-"):
            register.link(session, entry, actor, complaint_id=other_id)
        other_entry = register.entry_of(session, complaint_id=other_id)
        assert other_entry is not None
        link = session.scalars(select(RegisterLink).where(RegisterLink.complaint_id == other_id)).one()
        register.unlink(session, other_entry, link.id, actor)
        register.link(session, entry, actor, complaint_id=other_id)
        assert [linked.complaint_id for linked in register.links_of(session, entry)] == [complaint_id, other_id]
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        erasure.erase_complaint(session, actor.user, complaint, "customer_request")
    with bound(app, tenants["a"].id) as session:
        entry = session.get(RegisterEntry, entry.id)
        assert entry is not None
        assert [linked.complaint_id for linked in register.links_of(session, entry)] == [other_id]
        # What people typed stays; the customer reference copied from the erased complaint goes.
        assert (entry.subject, entry.remedy, entry.customer_ref) == ("Four en panne", "Remplacement", "")
        last = register.timeline(session, entry)[-1].event
        assert (last.action, last.detail) == ("unlinked", {"complaint": complaint_id, "erased": True})


# --- oral complaints ---------------------------------------------------------------------------------


def _said(app: Flask, tenant_id: int, said: str) -> int:
    """A ready call whose transcript (Whisper's words, half a second each) says ``said``, tagged by the worker's
    own step (``process_call``'s tagging: the company's tagger on the transcript, then its tags written)."""
    with app.app_context():
        call_id = factories.make_ready_call(tenant_id)
    words = [{"start": i * 0.5, "end": i * 0.5 + 0.4, "word": f" {w}", "probability": 0.9}
             for i, w in enumerate(said.split())]
    with bound(app, tenant_id) as session:
        transcript = session.scalars(select(Transcript).where(Transcript.call_id == call_id)).one()
        transcript.text = said
        transcript.segments = [{"start": 0.0, "end": len(words) * 0.5, "text": said, "words": words}]
    with app.app_context():
        process_call.Handler._tag(JobContext(job_id=1, kind=process_call.KIND, tenant_id=tenant_id,
                                             payload={"call_id": call_id}, attempt=1, max_attempts=5,
                                             settings=app.config["ECOUTE"]), call_id)
    return call_id


def _unhappy_call(app: Flask, tenant_id: int, words: str, *, reason: str | None = "refund_refused") -> int:
    """:func:`_said` of an unhappy customer's ``words``, and of the complaint reason (the example phrase of
    :func:`_reason`'s label) unless ``reason`` is None."""
    call_id = _said(app, tenant_id, f"{words} Remboursement refusé." if reason else words)
    with bound(app, tenant_id) as session:
        tagged = {(t.kind, t.value) for t in session.scalars(select(Tag).where(Tag.call_id == call_id))}
        assert (TagKind.SENTIMENT, "unhappy") in tagged
        assert ((TagKind.REASON, reason) in tagged) == bool(reason)
    return call_id


def test_the_worker_keeps_the_complaint_expressions_it_finds(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """The tagger's complaint expressions are kept with the call's tags: one ``expression`` tag per expression
    (folded), where it was said (the words as said, and when) as evidence; the tag panel does not show them."""
    calls = [_said(app, tenants["a"].id, text) for text in (
        "Bon, je veux faire une RÉCLAMATION. C’est inadmissible !", "Je vais saisir le médiateur, oui, le Médiateur.",
        "Cœur brisé : c'est scandaleux", "Merci beaucoup, tout va bien.")]
    with bound(app, tenants["a"].id) as session:
        def expressions(call_id: int) -> dict[str, list[str]]:
            found = session.scalars(select(Tag).where(Tag.call_id == call_id, Tag.kind == TagKind.EXPRESSION)
                                    .order_by(Tag.id))
            return {t.value: [where["said"] for where in t.evidence] for t in found}

        assert expressions(calls[0]) == {"faire une reclamation": ["faire une RÉCLAMATION"],
                                         "c est inadmissible": ["C’est inadmissible"]}
        assert expressions(calls[1]) == {"mediateur": ["médiateur", "Médiateur"]}
        assert expressions(calls[2]) == {"c est scandaleux": ["c'est scandaleux"]}
        assert expressions(calls[3]) == {}
        first = session.scalars(select(Tag).where(Tag.call_id == calls[0], Tag.kind == TagKind.EXPRESSION)
                                .order_by(Tag.id)).first()
        assert first is not None and (first.evidence[0]["start_s"], first.evidence[0]["end_s"]) == (1.5, 2.9)
        call = session.get(Call, calls[0])
        assert call is not None
        assert register.expressions_said(session, call) == ["faire une RÉCLAMATION", "C’est inadmissible"]
        view = tags.tags_of(session, tags.Target(call_id=calls[0]))
        assert all(t.kind != TagKind.EXPRESSION for t in (*view.topics, *view.mentions, *view.reasons))


def test_an_oral_complaint_is_proposed_then_confirmed_or_dismissed(app: Flask, tenants: dict[str, TenantSet]) -> None:
    key = _reason(app, tenants["a"].id)
    proposed = _unhappy_call(app, tenants["a"].id, "C'est inadmissible, je vais saisir le médiateur.")
    no_reason = _unhappy_call(app, tenants["a"].id, "C'est inadmissible.", reason=None)
    calm = _unhappy_call(app, tenants["a"].id, "Le colis est en retard.")
    dismissed = _unhappy_call(app, tenants["a"].id, "C'est inadmissible.")
    with bound(app, tenants["a"].id) as session:
        calls = {i: session.get(Call, i) for i in (proposed, no_reason, calm, dismissed)}
        assert register.proposal(session, calls[proposed]) == ["C'est inadmissible", "médiateur"]  # type: ignore[arg-type]
        assert register.proposal(session, calls[no_reason]) is None  # type: ignore[arg-type]
        assert register.proposal(session, calls[calm]) is None  # type: ignore[arg-type]
        qm = _user(session, tenants["a"])
        register.dismiss_proposal(session, calls[dismissed], qm)  # type: ignore[arg-type]
        assert register.proposal(session, calls[dismissed]) is None  # type: ignore[arg-type]
        entry = register.confirm_oral(session, calls[proposed], register.Actor(qm))  # type: ignore[arg-type]
        assert (entry.channel, entry.reasons, entry.created_by_id) == (Channel.PHONE, [key], qm.id)
        assert register.proposal(session, calls[proposed]) is None  # type: ignore[arg-type]
        with pytest.raises(Conflict):
            register.confirm_oral(session, calls[proposed], register.Actor(qm))  # type: ignore[arg-type]


# --- the list's filters ------------------------------------------------------------------------------


def test_filters_due_soon_and_overdue(app: Flask, tenants: dict[str, TenantSet]) -> None:
    today = register.today()
    with bound(app, tenants["a"].id) as session:
        overdue = _entry(session, received_on=today - timedelta(days=30), subject="late")
        soon = _entry(session, received_on=today - timedelta(days=5), subject="soon")  # 10 ouvrables: some left
        fresh = _entry(session, received_on=today, subject="fresh")
        _entry(session, received_on=today - timedelta(days=90), subject="answered")
        done = session.scalars(select(RegisterEntry).where(RegisterEntry.subject == "answered")).one()
        register.answer(session, done, "Réponse.", Outcome.UPHELD, register.Actor.machine())

        def subjects(**args: str) -> set[str]:
            page = register.list_entries(session, register.RegisterFilters.from_args(args))
            return {row.entry.subject for row in page.items}

        assert subjects(due="overdue") == {"late"}
        left = register.clocks(soon).acknowledge_left
        assert left is not None and 0 <= left <= 10
        assert "soon" in subjects(due="10") and "late" not in subjects(due="10")
        assert "fresh" not in subjects(due="2")
        assert subjects(q="fresh") == {"fresh"} and subjects(q=fresh.reference) == {"fresh"}
        # the start of a reference, whatever its case, found by year and number
        assert "fresh" in subjects(q=fresh.reference[:-1].lower()) and subjects(q=fresh.reference + "0") == set()
        assert subjects(status="answered") == {"answered"}
        assert overdue.reference in {row.entry.reference for row in
                                     register.list_entries(session, register.RegisterFilters()).items}


# --- the pages ---------------------------------------------------------------------------------------


def _first_entry(app: Flask, tenant_id: int) -> RegisterEntry:
    with bound(app, tenant_id) as session:
        return session.scalars(select(RegisterEntry).order_by(RegisterEntry.id)).first()  # type: ignore[return-value]


def test_staff_do_not_reach_the_register(login_as: object, tenants: dict[str, TenantSet]) -> None:
    staff: Client = login_as("a", Role.STAFF)  # type: ignore[operator]
    assert staff.get("/register").status_code == 403
    assert staff.get("/register/new").status_code == 403


def test_a_letter_is_added_then_handled_on_its_page(app: Flask, login_as: object,
                                                    tenants: dict[str, TenantSet]) -> None:
    qm: Client = login_as("a", Role.QUALITY_MANAGER)  # type: ignore[operator]
    assert qm.get("/register/new").status_code == 200
    refused = qm.post("/register/new", {"received_on": "2026-01-05", "sent_on": "2026-01-09", "channel": "letter"})
    assert refused.status_code == 422 and "ne peut pas être postérieure à la date de réception" in refused.text
    created = qm.post("/register/new", {"received_on": "2025-12-24", "channel": "letter", "subject": "Four en panne",
                                        "remedy": "Remboursement"})
    assert created.status_code == 303
    entry = _first_entry(app, tenants["a"].id)
    page = qm.get(created.headers["Location"])
    assert page.status_code == 200
    assert entry.reference in page.text and "7 janv. 2026" in page.text and "24 févr. 2026" in page.text
    assert "En retard" in page.text  # received in 2025: late, in words
    url = f"/register/{entry.id}"
    assert qm.post(f"{url}/status", {"status": "closed"}).status_code == 422
    assert qm.post(f"{url}/status", {"status": "acknowledged"}).status_code == 303
    assert qm.post(f"{url}/owner", {"owner_id": str(tenants["a"].users[Role.STAFF].id)}).status_code == 422
    assert qm.post(f"{url}/owner", {"owner_id": str(tenants["a"].users[Role.QUALITY_MANAGER].id)}).status_code == 303
    no_mediator = qm.post(f"{url}/answer", {"outcome": "rejected", "answer": "Nous refusons."})
    assert no_mediator.status_code == 422 and 'id="answer-form"' in no_mediator.text
    assert "Nous refusons." in no_mediator.text  # what was typed is kept
    answered = qm.post(f"{url}/answer", {"outcome": "upheld", "answer": "Nous remboursons."})
    assert answered.status_code == 303
    after = _first_entry(app, tenants["a"].id)
    assert (after.status, after.owner_id, after.outcome) == (
        EntryStatus.ANSWERED, tenants["a"].users[Role.QUALITY_MANAGER].id, Outcome.UPHELD)
    final = qm.get(url)
    assert final.status_code == 200 and "l’a confiée à Quality_Manager" in final.text


def test_the_list_shows_clocks_and_filters(app: Flask, login_as: object, tenants: dict[str, TenantSet]) -> None:
    today = register.today()
    with bound(app, tenants["a"].id) as session:
        _entry(session, received_on=today - timedelta(days=40), subject="Lettre en retard")
        _entry(session, received_on=today, subject="Courriel du jour")
    admin: Client = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    page = admin.get("/register")
    assert page.status_code == 200 and "Lettre en retard" in page.text and "Courriel du jour" in page.text
    overdue = admin.get("/register?due=overdue", headers={"HX-Request": "true"})
    assert "Lettre en retard" in overdue.text and "Courriel du jour" not in overdue.text
    assert "En retard" in overdue.text  # the overdue state in words
    owned = admin.get(f"/register?owner={tenants['a'].users[Role.QUALITY_MANAGER].id}")
    assert "Lettre en retard" not in owned.text and 'id="f-owner"' in owned.text


def test_the_product_filter_offers_the_company_s_products(app: Flask, login_as: object,
                                                          tenants: dict[str, TenantSet]) -> None:
    """The form offers the company's products and every product its entries name, none of another company's;
    a name the address carries that is no longer offered stays selected (a bookmark's)."""
    with app.app_context():
        factories.make_product(tenants["a"].id, name="Grille-pain")
        factories.make_product(tenants["b"].id, name="Autre société")
    with bound(app, tenants["b"].id) as session:
        _entry(session, subject="other company's", product="Cafetière B")
    with bound(app, tenants["a"].id) as session:
        _entry(session, subject="oven", product="Four X2")
        _entry(session, subject="kettle", product="bouilloire")
    qm: Client = login_as("a", Role.QUALITY_MANAGER)  # type: ignore[operator]
    page = qm.get("/register")
    assert page.status_code == 200
    offered = page.text.split('<select id="f-product" name="product">', 1)[1].split("</select>", 1)[0]
    assert [line.split(">", 1)[1].split("<", 1)[0] for line in offered.split("<option")[1:]] == [
        "Tous", "bouilloire", "Four X2", "Grille-pain"]
    picked = qm.get("/register?product=Four+X2")
    assert "oven" in picked.text and "kettle" not in picked.text
    assert '<option value="Four X2" selected>' in picked.text
    gone = qm.get("/register?product=Ancien+four")
    assert '<option value="Ancien four" selected>Ancien four</option>' in gone.text and "oven" not in gone.text


def test_the_call_page_proposes_and_records_an_oral_complaint(app: Flask, login_as: object,
                                                              tenants: dict[str, TenantSet]) -> None:
    _reason(app, tenants["a"].id)
    call_id = _unhappy_call(app, tenants["a"].id, "Je veux faire une réclamation, c'est inadmissible.")
    qm: Client = login_as("a", Role.QUALITY_MANAGER)  # type: ignore[operator]
    page = qm.get(f"/calls/{call_id}")
    assert 'id="oral-proposal"' in page.text
    done = qm.post(f"/register/oral/{call_id}")
    assert done.status_code == 303
    entry = _first_entry(app, tenants["a"].id)
    assert entry.channel == Channel.PHONE
    again = qm.get(f"/calls/{call_id}")
    assert 'id="oral-proposal"' not in again.text and entry.reference in again.text


def test_a_dismissed_proposal_is_not_shown_again(app: Flask, login_as: object, tenants: dict[str, TenantSet]) -> None:
    _reason(app, tenants["a"].id)
    call_id = _unhappy_call(app, tenants["a"].id, "C'est inadmissible.")
    qm: Client = login_as("a", Role.QUALITY_MANAGER)  # type: ignore[operator]
    assert qm.post(f"/register/oral/{call_id}/dismiss").status_code == 303
    assert 'id="oral-proposal"' not in qm.get(f"/calls/{call_id}").text


def test_the_complaint_page_shows_its_entry(app: Flask, login_as: object, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        complaint_id = factories.make_complaint(tenants["a"].id)
    entry = _first_entry(app, tenants["a"].id)
    qm: Client = login_as("a", Role.QUALITY_MANAGER)  # type: ignore[operator]
    page = qm.get(f"/complaints/{complaint_id}")
    assert entry.reference in page.text and f'href="/register/{entry.id}"' in page.text
    detail = qm.get(f"/register/{entry.id}")
    assert f'href="/complaints/{complaint_id}"' in detail.text


def test_company_settings_set_the_rules_and_the_mediator(app: Flask, login_as: object,
                                                         tenants: dict[str, TenantSet]) -> None:
    admin: Client = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    assert 'id="register-settings"' in admin.get("/settings/company").text
    refused = admin.post("/settings/company/register", {"rule_set": "custom", "days": "ouvres",
                                                        "acknowledge_days": "0", "calendar": "metropolitan"})
    assert refused.status_code == 422 and refused.text.count('id="form-error"') == 1
    saved = admin.post("/settings/company/register", {"rule_set": "ouvres", "calendar": "alsace_moselle",
                                                      "mediator_name": MEDIATOR, "mediator_details": "www.example"})
    assert saved.status_code == 303
    with bound(app, tenants["a"].id) as session:
        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None
        assert (tenant.clock_days, tenant.clock_calendar, tenant.mediator_name) == ("ouvres", "alsace_moselle",
                                                                                    MEDIATOR)
    qm: Client = login_as("a", Role.QUALITY_MANAGER)  # type: ignore[operator]
    assert qm.post("/settings/company/register", {"rule_set": "acpr"}).status_code == 403


def test_an_erased_call_leaves_its_entry(app: Flask, tenants: dict[str, TenantSet]) -> None:
    _reason(app, tenants["a"].id)
    call_id = _unhappy_call(app, tenants["a"].id, "C'est inadmissible.")
    with bound(app, tenants["a"].id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.customer_ref = "C-9"
        entry = register.confirm_oral(session, call, register.Actor.machine())
        entry_id = entry.id
        assert entry.customer_ref == "C-9"
        erasure.erase_call(session, _user(session, tenants["a"]), call, "customer_request")
    with bound(app, tenants["a"].id) as session:
        kept = session.get(RegisterEntry, entry_id)
        assert kept is not None and kept.customer_ref == "" and register.links_of(session, kept) == []
        assert register.timeline(session, kept)[-1].event.detail == {"call": call_id, "erased": True}


def test_the_journal_names_the_entry(app: Flask, login_as: object, tenants: dict[str, TenantSet]) -> None:
    with bound(app, tenants["a"].id) as session:
        entry = _entry(session)
        register.transition(session, entry, EntryStatus.ACKNOWLEDGED, register.Actor(_user(session, tenants["a"])))
        entry_id, reference = entry.id, entry.reference
    admin: Client = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    journal = admin.get("/people/journal")
    assert f'href="/register/{entry_id}"' in journal.text and reference in journal.text


def test_filters_by_owner_product_reason_and_dates(app: Flask, tenants: dict[str, TenantSet]) -> None:
    key = _reason(app, tenants["a"].id, "late_refund")
    _reason(app, tenants["a"].id, "late")
    qm = tenants["a"].users[Role.QUALITY_MANAGER].id
    with bound(app, tenants["a"].id) as session:
        _entry(session, subject="oven", product="Four X2", reasons=[key], owner_id=qm,
               received_on=date(2026, 2, 3))
        _entry(session, subject="kettle", product="Bouilloire", reasons=["late"], received_on=date(2026, 3, 9))

        def subjects(**args: str) -> set[str]:
            page = register.list_entries(session, register.RegisterFilters.from_args(args))
            return {row.entry.subject for row in page.items}

        assert subjects(owner=str(qm)) == {"oven"} and subjects(owner="none") == {"kettle"}
        # An exact pick among the company's products (an index serves it), not a "contains" search.
        assert subjects(product="Four X2") == {"oven"} and subjects(product="four") == set()
        assert subjects(reason=key) == {"oven"} and subjects(reason="late") == {"kettle"}  # no prefix match
        assert subjects(date_from="2026-03-01") == {"kettle"} and subjects(date_to="2026-02-03") == {"oven"}
        page = register.list_entries(session, register.RegisterFilters.from_args({"owner": str(qm)}))
        assert [row.owner for row in page.items] == ["Quality_Manager"]
