"""Alerts (issue #15, item 4): each rule kind fires on a real signal and stays silent on noise and small
counts; one alert per rule and window however often and wherever the evaluation runs; digests with the
clock moved (daily and weekly choices, no mail when nothing happened, personal data masked); the pages."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import Client, DatabaseUnderTest, TenantSet
from tests.support.smtpsink import SmtpSink, body_text
from webapp import tenancy
from webapp.models import (
    Alert,
    AlertRule,
    AuditEvent,
    Call,
    Clip,
    ClipSentiment,
    ClipStatus,
    Complaint,
    Dimension,
    Job,
    RenderStatus,
    Role,
    RuleKind,
    Tag,
    TagKind,
    User,
)
from webapp.services import alerts, excerpts

#: A Wednesday: the last complete 7-day window is Monday 23 to Sunday 29 November 2026, its baseline
#: the 28 days before (26 October to 22 November).
TODAY = date(2026, 12, 2)
WINDOW_DAY = date(2026, 11, 25)
BASELINE_DAY = date(2026, 11, 5)

_seq = iter(range(1, 10**9))


def _voices(tenant_id: int, n: int, day: date, *, sentiment: str = "neutral", topic: str = "", reason: str = "",
            product: str = "", mention: bool = False, call: bool = False, text: str = "") -> None:
    """``n`` tagged voices received on ``day``: written complaints, or calls (``call=True``)."""
    with tenancy.tenant_session(tenant_id) as session:
        received = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        for _ in range(n):
            k = next(_seq)
            if call:
                voice: Call | Complaint = Call(storage_key=f"k/{k}", content_type="audio/wav", size_bytes=1,
                                               sha256=f"{k:064d}", duration_seconds=1.0, product=product,
                                               received_at=received)
            else:
                voice = Complaint(text=text or f"Complaint {k}", product=product, received_at=received)
            session.add(voice)
            session.flush()
            owner = {"call_id": voice.id} if call else {"complaint_id": voice.id}
            session.add(Tag(kind=TagKind.SENTIMENT, value=sentiment, **owner))
            if topic:
                session.add(Tag(kind=TagKind.TOPIC, value=topic, mention=mention, **owner))
            if reason:
                session.add(Tag(kind=TagKind.REASON, value=reason, **owner))


def _rule(tenant_id: int, kind: RuleKind, dimension: Dimension = Dimension.ALL, value: str = "", *,
          threshold: float | None = None, min_count: int = 20, window_days: int = 7, baseline_days: int = 28) -> int:
    with tenancy.tenant_session(tenant_id) as session:
        rule = AlertRule(name=f"Rule {kind}", kind=kind, dimension=dimension, value=value, threshold=threshold,
                         min_count=min_count, window_days=window_days, baseline_days=baseline_days)
        session.add(rule)
        session.flush()
        return rule.id


def _evaluate(tenant_id: int, today: date = TODAY, now: datetime | None = None) -> list[dict[str, Any]]:
    with tenancy.tenant_session(tenant_id) as session:
        raised = alerts.evaluate(session, today, now)
        return [{"value": a.value, "kind": a.kind, "detail": dict(a.detail), "key": a.key} for a in raised]


def _alert_count(tenant_id: int) -> int:
    with tenancy.tenant_session(tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(Alert)) or 0)


@pytest.fixture
def company(app: Flask, tenants: dict[str, TenantSet]) -> Any:
    with app.app_context():
        yield tenants["a"].id


def test_windows_are_fixed_periods_judged_once_over() -> None:
    window = alerts.last_window(TODAY, 7, 28)
    assert (window.start, window.end, window.baseline_start) == (date(2026, 11, 23), date(2026, 11, 29),
                                                                date(2026, 10, 26))
    assert alerts.last_window(date(2026, 11, 30), 7, 28) == window  # Monday: the week just over
    assert alerts.last_window(date(2026, 12, 6), 7, 28) == window  # Sunday: this week is not over yet
    day = alerts.last_window(TODAY, 1, 28)
    assert (day.start, day.end) == (date(2026, 12, 1), date(2026, 12, 1))


# --- each kind: a signal fires, noise and small counts stay silent ------------------------------------


def test_threshold_fires_over_the_share_with_enough_voices(company: int) -> None:
    rule_id = _rule(company, RuleKind.THRESHOLD, Dimension.PRODUCT, "Four X200", threshold=0.40)
    _voices(company, 12, WINDOW_DAY, sentiment="unhappy", product="Four X200")
    _voices(company, 6, WINDOW_DAY, sentiment="unhappy", product="four x200", call=True)  # calls count too
    _voices(company, 12, WINDOW_DAY, sentiment="satisfied", product="Four X200")
    _voices(company, 40, WINDOW_DAY, sentiment="unhappy", product="Other")  # another product
    _voices(company, 40, BASELINE_DAY, sentiment="unhappy", product="Four X200")  # before the window
    [alert] = _evaluate(company)
    assert alert["key"] == f"rule:{rule_id}:2026-11-29"
    assert alert["detail"]["voices"] == 30 and alert["detail"]["unhappy"] == 18
    assert alert["detail"]["share"] == 0.6


def test_threshold_is_silent_under_the_share_or_on_too_few_voices(company: int) -> None:
    _rule(company, RuleKind.THRESHOLD, Dimension.PRODUCT, "Four X200", threshold=0.40)
    _rule(company, RuleKind.THRESHOLD, Dimension.PRODUCT, "Mixeur", threshold=0.40)
    _voices(company, 12, WINDOW_DAY, sentiment="unhappy", product="Four X200")
    _voices(company, 18, WINDOW_DAY, sentiment="satisfied", product="Four X200")  # 40 %: not over
    _voices(company, 15, WINDOW_DAY, sentiment="unhappy", product="Mixeur")  # 100 % of 15 < 20 voices
    assert _evaluate(company) == []


def _change_signal(company: int, window_hits: int) -> None:
    _voices(company, 20, BASELINE_DAY, topic="delivery")
    _voices(company, 380, BASELINE_DAY, topic="billing")
    _voices(company, window_hits, WINDOW_DAY, topic="delivery")
    _voices(company, 100 - window_hits, WINDOW_DAY, topic="billing")


def test_change_fires_on_a_significant_rise(company: int) -> None:
    _rule(company, RuleKind.CHANGE, Dimension.TOPIC, "delivery", min_count=10)
    _change_signal(company, window_hits=25)  # 25 % against 5 %
    [alert] = _evaluate(company)
    assert alert["value"] == "delivery"
    assert alert["detail"]["count"] == 25 and alert["detail"]["baseline_count"] == 20
    assert alert["detail"]["method"] == "two_proportion" and alert["detail"]["p_value"] < 0.001


def test_change_is_silent_on_noise(company: int) -> None:
    _rule(company, RuleKind.CHANGE, Dimension.TOPIC, "delivery", min_count=5)
    _change_signal(company, window_hits=7)  # 7 % against 5 %: noise
    assert _evaluate(company) == []


def test_change_is_silent_on_small_counts(company: int) -> None:
    _rule(company, RuleKind.CHANGE, Dimension.TOPIC, "staff", min_count=5)
    _change_signal(company, window_hits=10)
    _voices(company, 4, WINDOW_DAY, topic="staff")  # from none to 4: a jump, but 4 voices < 5
    assert _evaluate(company) == []


def test_change_counts_main_topics_only(company: int) -> None:
    _rule(company, RuleKind.CHANGE, Dimension.TOPIC, "", min_count=10)  # any topic
    _voices(company, 20, BASELINE_DAY, topic="delivery")
    _voices(company, 380, BASELINE_DAY, topic="billing")
    _voices(company, 25, WINDOW_DAY, topic="waiting", mention=True)  # mentioned in passing only
    _voices(company, 5, WINDOW_DAY, topic="delivery")
    _voices(company, 70, WINDOW_DAY, topic="billing")
    assert _evaluate(company) == []


def test_change_on_every_topic_raises_one_alert_naming_the_strongest(company: int) -> None:
    _rule(company, RuleKind.CHANGE, Dimension.TOPIC, "", min_count=10)
    _voices(company, 20, BASELINE_DAY, topic="delivery")
    _voices(company, 20, BASELINE_DAY, topic="staff")
    _voices(company, 360, BASELINE_DAY, topic="billing")
    _voices(company, 30, WINDOW_DAY, topic="delivery")
    _voices(company, 15, WINDOW_DAY, topic="staff")
    _voices(company, 55, WINDOW_DAY, topic="billing")
    [alert] = _evaluate(company)
    assert alert["value"] == "delivery" and alert["detail"]["others"] == ["staff"]
    assert alert["detail"]["q_value"] is not None


def test_emerging_fires_on_a_new_reason_and_on_a_rise_from_a_small_base(company: int) -> None:
    _rule(company, RuleKind.EMERGING, Dimension.REASON, "", min_count=5)
    _voices(company, 100, BASELINE_DAY, reason="late_delivery")
    _voices(company, 1, BASELINE_DAY, reason="damaged")
    _voices(company, 6, WINDOW_DAY, reason="broken_seal")  # never seen before
    _voices(company, 12, WINDOW_DAY, reason="damaged")  # 1 in four weeks, now 12 in one
    _voices(company, 25, WINDOW_DAY, reason="late_delivery")  # as usual
    [alert] = _evaluate(company)
    assert alert["value"] == "broken_seal" and alert["detail"]["is_new"] is True
    assert alert["detail"]["others"] == ["damaged"]


def test_emerging_is_silent_on_small_counts_and_usual_reasons(company: int) -> None:
    _rule(company, RuleKind.EMERGING, Dimension.REASON, "", min_count=5)
    _voices(company, 100, BASELINE_DAY, reason="late_delivery")
    _voices(company, 8, BASELINE_DAY, reason="damaged")
    _voices(company, 4, WINDOW_DAY, reason="broken_seal")  # new, but 4 < 5
    _voices(company, 5, WINDOW_DAY, reason="damaged")  # 2 a week before, 5 now: not significant
    _voices(company, 25, WINDOW_DAY, reason="late_delivery")
    assert _evaluate(company) == []


def test_emerging_on_every_reason_corrects_for_all_it_tested(company: int) -> None:
    """One reason of six coming out high by chance (p = 0.02 alone) is not news: every reason the rule
    watched enters the correction, not only those that came out over the minimum count."""
    _rule(company, RuleKind.EMERGING, Dimension.REASON, "", min_count=10)
    for reason in ("late", "broken", "refund", "double_charge", "rude", "missing"):
        _voices(company, 20, BASELINE_DAY, reason=reason)  # 5 a week each
        _voices(company, 12 if reason == "late" else 5, WINDOW_DAY, reason=reason)
    assert _evaluate(company) == []


def test_emerging_needs_a_baseline(company: int) -> None:
    """A company just starting has no baseline: everything would look new."""
    _rule(company, RuleKind.EMERGING, Dimension.REASON, "", min_count=5)
    _voices(company, 30, WINDOW_DAY, reason="late_delivery")
    assert _evaluate(company) == []


# --- no alert storms --------------------------------------------------------------------------------


def _firing(company: int) -> int:
    rule_id = _rule(company, RuleKind.THRESHOLD, threshold=0.40)
    _voices(company, 25, WINDOW_DAY, sentiment="unhappy")
    return rule_id


def test_evaluating_again_raises_nothing_more(company: int) -> None:
    _firing(company)
    assert len(_evaluate(company)) == 1
    assert _evaluate(company) == []
    assert _evaluate(company, TODAY + timedelta(days=1)) == []  # the same window, judged the next day
    assert _alert_count(company) == 1
    # The next window is another one: the rule may fire again there.
    _voices(company, 25, WINDOW_DAY + timedelta(days=7), sentiment="unhappy")
    assert len(_evaluate(company, TODAY + timedelta(days=7))) == 1


def test_two_workers_at_once_raise_one_alert(app: Flask, company: int) -> None:
    _firing(company)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                _evaluate(company)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert _alert_count(company) == 1


def test_the_schedule_queues_one_job_per_company_and_day_and_the_job_is_idempotent(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    from worker.handlers import evaluate_alerts
    from worker.loop import Worker

    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    with app.app_context():
        company = tenants["a"].id
        _firing(company)
        assert alerts.schedule_evaluations(now) == 1  # company B has no rule: nothing queued
        assert alerts.schedule_evaluations(now + timedelta(hours=5)) == 0  # another worker, the same day
        Worker(app, {evaluate_alerts.KIND: evaluate_alerts.Handler()}, once=True).run()
        with tenancy.tenant_session(company) as session:
            job = session.scalars(select(Job).where(Job.kind == alerts.EVALUATE_ALERTS)).one()
            assert (job.status, job.payload) == ("done", {"day": "2026-12-02"})
        evaluate_alerts.Handler().run(_ctx(app, company, evaluate_alerts.KIND, {"day": "2026-12-02"}))
        assert _alert_count(company) == 1


def _ctx(app: Flask, tenant_id: int, kind: str, payload: dict[str, Any]) -> Any:
    from worker.handlers import JobContext

    return JobContext(job_id=0, kind=kind, tenant_id=tenant_id, payload=payload, attempt=1, max_attempts=1,
                      settings=app.config["ECOUTE"])


# --- digests ------------------------------------------------------------------------------------------

#: Tuesday 1 December 2026, noon: the alert is raised then.
RAISED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PII_TEXT = "Mon four X200 a brûlé, appelez-moi au 06 12 34 56 78 ou écrivez à jean.dupont@example.com merci."


def _digest_set_up(tenants: dict[str, TenantSet]) -> dict[str, int]:
    company = tenants["a"].id
    users = tenants["a"].users
    with tenancy.tenant_session(company) as session:
        for role, choice in ((Role.TENANT_ADMIN, "daily"), (Role.QUALITY_MANAGER, "weekly")):
            user = session.get(User, users[role].id)
            assert user is not None
            user.digest = choice
        session.flush()
    rule_id = _rule(company, RuleKind.THRESHOLD, Dimension.PRODUCT, "Four X200", threshold=0.40)
    _voices(company, 25, WINDOW_DAY, sentiment="unhappy", product="Four X200", text=PII_TEXT)
    with tenancy.tenant_session(company) as session:  # the tagger found the phone number and the address
        first = session.scalars(select(Complaint.id).order_by(Complaint.id)).all()
        for complaint_id in first:
            phone, email = PII_TEXT.index("06 12"), PII_TEXT.index("jean.")
            session.add(Tag(kind=TagKind.PII, value="phone", complaint_id=complaint_id, evidence=[[phone, phone + 14]]))
            session.add(Tag(kind=TagKind.PII, value="email", complaint_id=complaint_id,
                            evidence=[[email, email + len("jean.dupont@example.com")]]))
    assert len(_evaluate(company, TODAY, now=RAISED)) == 1
    return {"company": company, "rule": rule_id}


def _digest_jobs(company: int) -> list[tuple[int, str]]:
    with tenancy.tenant_session(company) as session:
        found = session.scalars(select(Job).where(Job.kind == alerts.ALERT_DIGEST).order_by(Job.id)).all()
        return [(int(j.payload["user_id"]), str(j.payload["choice"])) for j in found]


def _run_digests(app: Flask) -> None:
    from worker.handlers import alert_digest
    from worker.loop import Worker

    Worker(app, {alert_digest.KIND: alert_digest.Handler()}, once=True).run()


def test_digests_follow_each_persons_choice_with_the_clock_moved(app: Flask, tenants: dict[str, TenantSet],
                                                                 smtp: SmtpSink) -> None:
    users = tenants["a"].users
    admin, manager = users[Role.TENANT_ADMIN], users[Role.QUALITY_MANAGER]
    with app.app_context():
        company = _digest_set_up(tenants)["company"]
        # Tuesday 05:00: yesterday's daily period (Mon 06:00 to Tue 06:00) is not over yet.
        assert alerts.schedule_digests(datetime(2026, 12, 1, 5, 0, tzinfo=UTC)) == 0
        # Wednesday 07:00: the daily period Tue 06:00 - Wed 06:00 holds the alert; the week is not over.
        wednesday = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
        assert alerts.schedule_digests(wednesday) == 1
        assert alerts.schedule_digests(wednesday + timedelta(hours=3)) == 0  # again, or another worker
        assert _digest_jobs(company) == [(admin.id, "daily")]
        # Thursday: nothing happened on Wednesday, no mail.
        assert alerts.schedule_digests(datetime(2026, 12, 3, 7, 0, tzinfo=UTC)) == 0
        # The next Monday 07:00: the week is over and holds the alert, for the weekly reader only.
        assert alerts.schedule_digests(datetime(2026, 12, 7, 7, 0, tzinfo=UTC)) == 1
        assert _digest_jobs(company) == [(admin.id, "daily"), (manager.id, "weekly")]
        _run_digests(app)
    daily = smtp.wait_for(lambda m: m["To"] == admin.email, timeout=5)
    weekly = smtp.wait_for(lambda m: m["To"] == manager.email, timeout=5)
    assert len(smtp.messages) == 2  # the staff member and company B got nothing
    body = body_text(daily)
    assert "1 alerte aujourd" in daily["Subject"] and "cette semaine" in weekly["Subject"]  # company A: French
    assert "Four X200" in body and "25 voix" in body  # what and the figures
    assert "/calls?" not in body and "http://127.0.0.1:5000/alerts" in body
    assert body.count("•••") >= 3  # three representative voices, each masked
    assert "06 12 34 56 78" not in body and "jean.dupont" not in body
    assert "Mon four X200 a brûlé, appelez-moi au ••• ou écrivez à ••• merci." in body


def test_no_digest_for_never_nor_when_no_alert(app: Flask, tenants: dict[str, TenantSet], smtp: SmtpSink) -> None:
    with app.app_context():
        company = tenants["a"].id
        with tenancy.tenant_session(company) as session:
            for user in session.scalars(select(User)):
                user.digest = "daily"
        assert alerts.schedule_digests(datetime(2026, 12, 2, 7, 0, tzinfo=UTC)) == 0  # nothing happened
        _digest_set_up(tenants)
        with tenancy.tenant_session(company) as session:
            for user in session.scalars(select(User)):
                user.digest = "never"
        assert alerts.schedule_digests(datetime(2026, 12, 2, 7, 0, tzinfo=UTC)) == 0
        assert _digest_jobs(company) == []


def test_a_digest_changed_to_never_after_queuing_is_not_sent(app: Flask, tenants: dict[str, TenantSet],
                                                             smtp: SmtpSink) -> None:
    admin = tenants["a"].users[Role.TENANT_ADMIN]
    with app.app_context():
        company = _digest_set_up(tenants)["company"]
        assert alerts.schedule_digests(datetime(2026, 12, 2, 7, 0, tzinfo=UTC)) == 1
        with tenancy.tenant_session(company) as session:
            user = session.get(User, admin.id)
            assert user is not None
            user.digest = "never"
        _run_digests(app)
    assert smtp.messages == []


def test_digest_voices_prefer_approved_clips(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        company = tenants["a"].id
        _rule(company, RuleKind.THRESHOLD, threshold=0.40)
        _voices(company, 25, WINDOW_DAY, sentiment="unhappy", call=True)
        with tenancy.tenant_session(company) as session:
            call_ids = session.scalars(select(Call.id).order_by(Call.id)).all()
            for index, (status, render) in enumerate(((ClipStatus.APPROVED, RenderStatus.READY),
                                                      (ClipStatus.DRAFT, RenderStatus.READY),
                                                      (ClipStatus.APPROVED, RenderStatus.PENDING))):
                session.add(Clip(call_id=call_ids[index], start_s=0, end_s=1, title=f"Clip {index}",
                                 sentiment=ClipSentiment.UNHAPPY, status=status, render_status=render,
                                 captions=[{"start": 0, "end": 1, "text": "Appelez le •••"}]))
        _evaluate(company, now=RAISED)
        with tenancy.tenant_session(company) as session:
            alert = session.scalars(select(Alert)).one()
            voices = alerts.representative_voices(session, alert)
    # The draft clip, the clip not yet cut (its bleeps not made) and bare calls are not voices.
    assert [v.excerpt for v in voices] == ["Appelez le •••"]
    assert voices[0].clip_id is not None


def test_masked_excerpt() -> None:
    text = "Je suis Jean Dupont, mon numéro est le 06 12 34 56 78."
    spans: list[list[float]] = [[8, 19], [39, 53, 1.0, 2.0]]
    assert excerpts.masked_excerpt(text, spans) == "Je suis •••, mon numéro est le •••."
    assert excerpts.masked_excerpt("mot " * 100, [], size=20) == "mot mot mot mot mot…"


# --- the pages ----------------------------------------------------------------------------------------


def test_a_quality_manager_sets_a_rule_and_reads_the_alert(app: Flask, login_as: Any,
                                                           tenants: dict[str, TenantSet]) -> None:
    client: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    form = {"name": "Unhappy X200", "kind": "threshold", "dimension": "product", "product": "Four X200",
            "threshold": "40", "window_days": "7", "baseline_days": "28", "min_count": "20"}
    assert client.post("/alerts/rules", form).status_code == 303
    page = client.get("/alerts/rules")
    assert "Unhappy X200" in page.text and "Four X200" in page.text
    with app.app_context():
        company = tenants["a"].id
        _voices(company, 25, WINDOW_DAY, sentiment="unhappy", product="Four X200")
        assert len(_evaluate(company)) == 1
    listed = client.get("/alerts")
    assert listed.status_code == 200
    assert "Unhappy X200" in listed.text and "100%" in listed.text and "25" in listed.text
    assert "/calls?date_from=2026-11-23&amp;date_to=2026-11-29&amp;product=Four+X200&amp;sentiment=unhappy" \
        in listed.text
    # The drill-down opens the list filtered to those voices.
    assert client.get("/complaints?date_from=2026-11-23&date_to=2026-11-29&product=Four+X200"
                      "&sentiment=unhappy").status_code == 200


@pytest.mark.parametrize(("change", "message"), [
    ({"name": ""}, "Give the rule a name"),
    ({"threshold": "140"}, "percentage from 1 to 99"),
    ({"dimension": "product", "product": ""}, "Choose the product, topic or reason"),
    ({"kind": "change", "dimension": "product"}, "choose a topic or a reason"),
    ({"kind": "change", "dimension": "topic", "topic": "no_such_topic"}, "not in your company's list"),
    ({"window_days": "30", "baseline_days": "7"}, "at least as long as the window"),
    ({"min_count": "zero"}, "number of voices from 1"),
])
def test_a_rule_form_says_what_to_fix(login_as: Any, app: Flask, tenants: dict[str, TenantSet],
                                      change: dict[str, str], message: str) -> None:
    client: Client = login_as("a", Role.TENANT_ADMIN, locale="en")
    form = {"name": "Rule", "kind": "threshold", "dimension": "all", "threshold": "40", "window_days": "7",
            "baseline_days": "28", "min_count": "20", **change}
    response = client.post("/alerts/rules", form)
    assert response.status_code == 422
    assert message in response.text.replace("&#39;", "'")
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert session.scalar(select(func.count()).select_from(AlertRule)) == 0


def test_a_rule_is_edited_and_switched_off(app: Flask, login_as: Any, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        rule_id = _rule(tenants["a"].id, RuleKind.CHANGE, Dimension.TOPIC, "delivery", min_count=10)
    client: Client = login_as("a", Role.TENANT_ADMIN, locale="en")
    edit = client.get(f"/alerts/rules/{rule_id}")
    assert edit.status_code == 200 and 'value="delivery" selected' in edit.text
    form = {"name": "Delivery rising", "kind": "change", "dimension": "topic", "topic": "", "window_days": "7",
            "baseline_days": "56", "min_count": "15"}
    assert client.post(f"/alerts/rules/{rule_id}", form).status_code == 303
    assert client.post(f"/alerts/rules/{rule_id}/active", {"active": "0"}).status_code == 303
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        rule = session.get(AlertRule, rule_id)
        assert rule is not None
        assert (rule.name, rule.value, rule.baseline_days, rule.min_count, rule.active) == (
            "Delivery rising", "", 56, 15, False)
        assert alerts.evaluate(session, TODAY) == []  # an inactive rule is not judged


def test_rules_created_changed_switched_and_deleted_are_journalled(app: Flask, login_as: Any,
                                                                  tenants: dict[str, TenantSet]) -> None:
    client: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    form = {"name": "Unhappy X200", "kind": "threshold", "dimension": "product", "product": "Four X200",
            "threshold": "40", "window_days": "7", "baseline_days": "28", "min_count": "20"}
    assert client.post("/alerts/rules", form).status_code == 303
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        rule_id = session.scalars(select(AlertRule.id)).one()
        session.add(Alert(rule_id=rule_id, key=f"rule:{rule_id}:2026-11-29", kind=RuleKind.THRESHOLD,
                          dimension=Dimension.PRODUCT, value="Four X200", window_start=date(2026, 11, 23),
                          window_end=date(2026, 11, 29), detail={"voices": 30, "unhappy": 15, "share": 0.5}))
    assert client.post(f"/alerts/rules/{rule_id}", {**form, "threshold": "50"}).status_code == 303
    assert client.post(f"/alerts/rules/{rule_id}", {**form, "threshold": "50"}).status_code == 303  # no change
    assert client.post(f"/alerts/rules/{rule_id}/active", {"active": "0"}).status_code == 303
    assert client.post(f"/alerts/rules/{rule_id}/active", {"active": "0"}).status_code == 303  # already off
    admin: Client = login_as("a", Role.TENANT_ADMIN, locale="en")
    journal = admin.get("/people/journal")
    assert "Alert rule switched off" in journal.text and f'href="/alerts/rules/{rule_id}"' in journal.text
    assert login_as("b", Role.QUALITY_MANAGER).post(f"/alerts/rules/{rule_id}/delete").status_code == 404
    assert client.post(f"/alerts/rules/{rule_id}/delete").status_code == 303
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        events = [(e.action, e.actor_id, e.target, e.details) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("alert_rule.")).order_by(AuditEvent.id))]
        assert session.get(AlertRule, rule_id) is None
        assert session.scalars(select(Alert.rule_id)).all() == [None]  # its alert stays listed
    qm, target = tenants["a"].users[Role.QUALITY_MANAGER].id, f"alert_rule:{rule_id}"
    assert events == [
        ("alert_rule.created", qm, target, {"name": "Unhappy X200", "kind": "threshold", "dimension": "product",
                                            "value": "Four X200", "threshold": 0.4, "window_days": 7,
                                            "baseline_days": 28, "min_count": 20}),
        ("alert_rule.changed", qm, target, {"threshold": [0.4, 0.5]}),
        ("alert_rule.switched_off", qm, target, {}),
        ("alert_rule.deleted", qm, target, {"name": "Unhappy X200", "kind": "threshold", "dimension": "product",
                                            "value": "Four X200"}),
    ]
    assert "Alert rule deleted" in admin.get("/people/journal").text
    assert "Rule “Unhappy X200” deleted." in client.get("/alerts/rules").text
    assert "Unhappy X200" not in client.get("/alerts/rules").text and client.get("/alerts").status_code == 200


def test_staff_cannot_reach_alerts(login_as: Any) -> None:
    client: Client = login_as("a", Role.STAFF)
    assert client.get("/alerts").status_code == 403
    assert client.get("/alerts/rules").status_code == 403
    assert client.post("/alerts/digest", {"digest": "daily"}).status_code == 403


def test_a_person_chooses_their_digest_on_their_account_page(app: Flask, login_as: Any,
                                                             tenants: dict[str, TenantSet]) -> None:
    client: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    page = client.get("/account")
    assert 'name="digest" value="weekly" checked' in page.text
    assert client.post("/alerts/digest", {"digest": "daily"}).status_code == 303
    assert 'name="digest" value="daily" checked' in client.get("/account").text
    assert client.post("/alerts/digest", {"digest": "hourly"}).status_code == 303
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        user = session.get(User, tenants["a"].users[Role.QUALITY_MANAGER].id)
        assert user is not None and user.digest == "daily"
    assert "digest-form" not in login_as("a", Role.STAFF).get("/account").text


def test_the_menu_counts_the_alerts_raised_since_each_person_last_opened_them(
        app: Flask, login_as: Any, tenants: dict[str, TenantSet]) -> None:
    """Per person and per company: opening the alerts page clears one's own count, not a colleague's; another
    company's alerts are never counted; staff, who do not read alerts, see no count."""
    import re

    from tests import factories

    def count(client: Client) -> str | None:
        found = re.search(r'href="/alerts"[^>]*>[^<]*<span class="menu-count">([^<]+)<', client.get("/calls").text)
        return found.group(1) if found else None

    qm: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    admin: Client = login_as("a", Role.TENANT_ADMIN, locale="en")
    assert count(qm) is None and count(admin) is None
    with app.app_context():
        factories.make_alert(tenants["a"].id)
        factories.make_alert(tenants["a"].id)
        factories.make_alert(tenants["b"].id)
    assert count(qm) == "2" and count(admin) == "2"
    assert "2<span class=\"sr-only\"> new since your last visit</span>" in qm.get("/calls").text
    assert count(login_as("b", Role.QUALITY_MANAGER, locale="en")) == "1"
    assert 'class="menu-count"' not in qm.get("/alerts").text  # on the alerts page, nothing is unseen
    assert count(qm) is None and count(admin) == "2"
    with app.app_context():
        factories.make_alert(tenants["a"].id)
    assert count(qm) == "1" and count(admin) == "3"
    assert 'class="menu-count"' not in login_as("a", Role.STAFF).get("/room").text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        person = session.get(User, tenants["a"].users[Role.QUALITY_MANAGER].id)
        assert person is not None and person.alerts_seen_at is not None
        assert alerts.unseen_count(session, person) == 1
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:  # a hundred: "99+"
        session.add_all([Alert(key=f"manual:{n}", kind=RuleKind.THRESHOLD, dimension=Dimension.ALL,
                               window_start=date(2026, 11, 23), window_end=date(2026, 11, 29)) for n in range(99)])
    assert count(login_as("b", Role.QUALITY_MANAGER, locale="en")) == "99+"


def test_the_users_table_matches_its_migrations(database: DatabaseUnderTest) -> None:
    """Migration 0021 gives people the column the model reads (when they last opened the alerts)."""
    from tests.support.migrations import differences

    assert differences(database.owner_url, "users") == []
