"""Before/after verification of an improvement action (webapp/services/action_evidence.py): a synthetic drop is
found significant, noise is not, and the new voices since done are masked."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import ActionOrigin, ActionStatus, Complaint, ImprovementAction, Role, Tag, TagKind, User
from webapp.services import action_evidence, actions
from webapp.services.significance import Direction

DONE = datetime(2026, 10, 1, 12, tzinfo=UTC)
NOW = DONE + timedelta(days=40)


def _voices(session: Session, per_day: list[int], start: datetime, *, unhappy_every: int = 2,
            topic: str = "delays", text: str = "Le colis n'arrive pas.") -> None:
    """``per_day[i]`` complaints on ``topic`` received on day ``i`` after ``start``; one in ``unhappy_every``
    unhappy."""
    n = 0
    for day, count in enumerate(per_day):
        for k in range(count):
            n += 1
            complaint = Complaint(text=text, received_at=start + timedelta(days=day, hours=k % 20))
            session.add(complaint)
            session.flush()
            session.add(Tag(complaint_id=complaint.id, kind=TagKind.TOPIC, value=topic))
            if n % unhappy_every == 0:
                session.add(Tag(complaint_id=complaint.id, kind=TagKind.SENTIMENT, value="unhappy"))
    session.flush()


def _done_action(session: Session, tenant: TenantSet) -> ImprovementAction:
    manager = session.get(User, tenant.users[Role.QUALITY_MANAGER].id)
    assert manager is not None
    action = actions.propose(session, manager, title="Prévenir des retards", origin=ActionOrigin.MANUAL,
                             topic="delays")
    action.status, action.done_at = ActionStatus.DONE, DONE
    return action


def test_a_synthetic_drop_is_found_significant(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        action = _done_action(session, a)
        _voices(session, [4] * 28, DONE - timedelta(days=28))  # 112 before, half unhappy
        _voices(session, [1] * 28, DONE + timedelta(hours=1), unhappy_every=10)  # 28 after, few unhappy
        found = action_evidence.evidence(session, action, now=NOW)
        assert found is not None and found.days == 28
        (topic,) = found.comparisons
        assert (topic.subject, topic.key) == ("topic", "delays")
        assert (topic.before.voices, topic.after.voices) == (112, 28)
        assert topic.volume.significant and topic.volume.flag is Direction.DOWN
        assert topic.unhappy.significant and topic.unhappy.flag is Direction.DOWN


def test_noise_is_not_significant(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    rng = random.Random(16)  # noqa: S311 - a reproducible noise, not a secret
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        action = _done_action(session, a)
        _voices(session, [rng.choice((2, 3, 4)) for _ in range(28)], DONE - timedelta(days=28))
        _voices(session, [rng.choice((2, 3, 4)) for _ in range(28)], DONE + timedelta(hours=1))
        found = action_evidence.evidence(session, action, now=NOW)
        assert found is not None
        (topic,) = found.comparisons
        assert not topic.volume.significant and topic.volume.flag is Direction.FLAT
        assert not topic.unhappy.significant


def test_windows_are_clipped_to_what_has_elapsed_and_new_voices_are_masked(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        action = _done_action(session, a)
        _voices(session, [1] * 20, DONE - timedelta(days=20))
        _voices(session, [1], DONE + timedelta(hours=2), text="Appelez-moi au 06 12 34 56 78, je suis furieux.")
        complaint = session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert complaint is not None
        session.add(Tag(complaint_id=complaint.id, kind=TagKind.PII, value="phone", evidence=[[15, 29]]))
        session.flush()
        found = action_evidence.evidence(session, action, now=DONE + timedelta(days=5))
        assert found is not None and found.days == 5
        assert found.before_start == DONE - timedelta(days=5)
        assert found.comparisons[0].before.voices == 5 and found.comparisons[0].after.voices == 1
        assert found.complaints == ["Appelez-moi au •••, je suis furieux."]
        assert action_evidence.evidence(session, action, now=DONE) is None
