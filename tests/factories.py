"""Factories: plain functions that insert valid rows through the real services.

Each returns plain values (ids, e-mails), never live ORM objects, so tests cannot lean
on an identity map the app does not share. They need an app context.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from tests.audio import tone
from webapp import tenancy
from webapp.models import Role, Source, Tenant, TokenScope, User
from webapp.services import accounts, api_tokens, ingestion, taxonomy
from webapp.services import tenants as tenant_service

_seq = itertools.count(1)


@dataclass(frozen=True)
class UserRef:
    id: int
    tenant_id: int
    email: str
    role: Role


def make_tenant(*, slug: str | None = None, name: str | None = None, locale: str = "fr") -> int:
    n = next(_seq)
    with tenancy.all_tenants_session() as session:
        tenant = Tenant(slug=slug or f"company-{n}", name=name or f"Company {n}", default_locale=locale)
        session.add(tenant)
        session.flush()
        taxonomy.seed_defaults(session, tenant.id)
        return tenant.id


def make_user(tenant_id: int, *, role: Role = Role.STAFF, email: str | None = None,
              password: str = "correct horse battery", name: str = "") -> UserRef:
    email = email or f"person{next(_seq)}@example.test"
    with tenancy.tenant_session(tenant_id) as session:
        tenant = tenant_service.get_tenant(session, tenant_id)
        user = tenant_service.upsert_active_user(session, tenant, email=email, role=role, password=password,
                                                 name=name or email.split("@")[0].title())
        return UserRef(user.id, tenant_id, user.email, role)


def make_platform_admin(*, email: str, password: str) -> UserRef:
    with tenancy.all_tenants_session() as session:
        home = accounts.platform_tenant(session)
        user = tenant_service.upsert_active_user(session, home, email=email, role=Role.PLATFORM_ADMIN,
                                                 password=password)
        return UserRef(user.id, home.id, user.email, Role.PLATFORM_ADMIN)


def make_call(tenant_id: int, *, external_id: str | None = None, product: str = "", seconds: float = 0.5,
              bulk: bool = False, customer_ref: str = "") -> int:
    """A call stored through the ingestion service from a tiny generated WAV (a different tone each time)."""
    with tempfile.TemporaryDirectory() as folder:
        # A different tone each time, kept well under the 8 kHz a 16 kHz file can hold: past it the tone
        # folds back to a few hertz, whose 50 ms peaks can read as silence. Every 400 calls, 10 ms longer.
        n = next(_seq)
        wav = tone(Path(folder) / "call.wav", seconds=seconds + n // 400 * 0.01, frequency=200 + 7 * (n % 400))
        with wav.open("rb") as stream, tenancy.tenant_session(tenant_id) as session:
            meta = ingestion.clean_meta({"product": product, "external_id": external_id or "",
                                         "customer_ref": customer_ref})
            done = ingestion.ingest_call(session, current_app.config["ECOUTE"], tenant_id, stream=stream,
                                         filename=wav.name, meta=meta, origin=ingestion.Origin(Source.BROWSER),
                                         bulk=bulk)
            return done.call.id


def make_complaint(tenant_id: int, *, text: str | None = None, external_id: str | None = None,
                   customer_ref: str = "") -> int:
    with tenancy.tenant_session(tenant_id) as session:
        complaint, _duplicate = ingestion.create_complaint(
            session, text=text or f"Complaint number {next(_seq)}: the oven stopped working.",
            meta=ingestion.clean_meta({"external_id": external_id or "", "channel": "email",
                                       "customer_ref": customer_ref}),
            origin=ingestion.Origin(Source.BROWSER))
        return complaint.id


@dataclass(frozen=True)
class TokenRef:
    id: int
    tenant_id: int
    raw: str  #: the token itself, as the integrator sends it
    scope: TokenScope


def make_api_token(tenant_id: int, scope: TokenScope = TokenScope.INGEST, *, name: str | None = None) -> TokenRef:
    """An API token created by the tenant's first admin, through the service (so it is audited too)."""
    with tenancy.tenant_session(tenant_id) as session:
        admin = session.scalars(select(User).where(User.role == Role.TENANT_ADMIN).order_by(User.id)).first()
        assert admin is not None, "make_api_token needs a tenant admin: make_user(tenant_id, role=TENANT_ADMIN)"
        new = api_tokens.create_token(session, admin, name=name or f"System {next(_seq)}", scope=scope)
        return TokenRef(new.token.id, tenant_id, new.raw, scope)


def first_label(tenant_id: int) -> int:
    """The id of the company's first taxonomy entry (a default topic)."""
    from sqlalchemy import select

    from webapp.models import Label

    with tenancy.tenant_session(tenant_id) as session:
        label_id = session.scalars(select(Label.id).order_by(Label.id)).first()
        assert label_id is not None
        return label_id


# --- calls, clips, playlists and kiosks of the customer room ----------------------------------


def _admin(session: object) -> User:
    admin = session.scalars(  # type: ignore[attr-defined]
        select(User).where(User.role.in_([Role.TENANT_ADMIN, Role.QUALITY_MANAGER])).order_by(User.id)).first()
    assert admin is not None, "needs a tenant admin or quality manager: make_user(tenant_id, role=TENANT_ADMIN)"
    return admin  # type: ignore[no-any-return]


def make_processed_call(tenant_id: int, wav: Path, *, consent: str = "yes", product: str = "",
                        language: str = "") -> int:
    """A call of real speech, ingested and processed by the real ``process_call`` job (Whisper included)."""
    from worker.handlers import JobContext, process_call

    with wav.open("rb") as stream, tenancy.tenant_session(tenant_id) as session:
        meta = ingestion.clean_meta({"product": product, "consent": consent, "language_hint": language})
        done = ingestion.ingest_call(session, current_app.config["ECOUTE"], tenant_id, stream=stream,
                                     filename=wav.name, meta=meta, origin=ingestion.Origin(Source.BROWSER))
        call_id = done.call.id
    process_call.Handler().run(JobContext(job_id=0, kind=process_call.KIND, tenant_id=tenant_id,
                                          payload={"call_id": call_id}, attempt=1, max_attempts=5,
                                          settings=current_app.config["ECOUTE"]))
    return call_id


def make_ready_call(tenant_id: int, *, consent: str = "yes", seconds: float = 4.0) -> int:
    """A call of a generated tone, marked ready with a one-segment transcript (no Whisper): for
    tests that need a clip row, not its sound."""
    from webapp.models import Call, CallStatus, Consent, Transcript

    call_id = make_call(tenant_id, seconds=seconds)
    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.status, call.consent = CallStatus.READY, Consent(consent)
        words = [{"start": i * 0.5, "end": i * 0.5 + 0.4, "word": f" mot{i}", "probability": 0.9}
                 for i in range(int(seconds * 2) - 1)]
        session.add(Transcript(call_id=call_id, language="fr", language_probability=1.0,
                               text=" ".join(w["word"].strip() for w in words), engine="test",
                               segments=[{"start": 0.0, "end": seconds, "text": "", "words": words}]))
    return call_id


def make_clip(tenant_id: int, call_id: int, *, start: float = 0.0, end: float = 2.0, title: str | None = None,
              sentiment: str = "satisfied", render: bool = False, approve: bool = False) -> int:
    """A clip made through the service by the company's first curator; ``render`` runs the real
    ``render_clip`` job, ``approve`` approves it (which needs ``render`` and consent "yes")."""
    from webapp.models import Call
    from webapp.services import clips
    from worker.handlers import JobContext, render_clip

    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        clip = clips.create_clip(session, _admin(session), call, clips.ClipDraft(
            start=start, end=end, title=title or f"Clip {next(_seq)}", sentiment=sentiment))
        clip_id = clip.id
    if render:
        render_clip.Handler().run(JobContext(job_id=0, kind=render_clip.KIND, tenant_id=tenant_id,
                                             payload={"clip_id": clip_id}, attempt=1, max_attempts=5,
                                             settings=current_app.config["ECOUTE"]))
    if approve:
        with tenancy.tenant_session(tenant_id) as session:
            clips.approve(session, _admin(session), clips.get_clip(session, clip_id))
    return clip_id


def make_playlist(tenant_id: int, clip_ids: list[int] = (), *, name: str | None = None,  # type: ignore[assignment]
                  mode: str = "alternate") -> int:
    """A playlist of the given (approved) clips, in that order."""
    from webapp.services import clips, playlists

    with tenancy.tenant_session(tenant_id) as session:
        actor = _admin(session)
        playlist = playlists.create_playlist(session, actor, name=name or f"Playlist {next(_seq)}", mode=mode)
        for clip_id in clip_ids:
            playlists.add_clip(session, actor, playlist, clips.get_clip(session, clip_id))
        return playlist.id


@dataclass(frozen=True)
class KioskRef:
    id: int
    tenant_id: int
    token: str  #: the device token, as the screen holds it in its cookie


def make_kiosk(tenant_id: int, playlist_id: int | None = None, *, name: str | None = None) -> KioskRef:
    """A kiosk paired the way a screen is: a code asked for, typed by an admin, the token collected."""
    from webapp.services import kiosks

    with tenancy.tenant_session(None) as session:
        new = kiosks.start_pairing(session)
    with tenancy.tenant_session(tenant_id) as session:
        kiosks.pair(session, _admin(session), code=new.code, name=name or f"Room {next(_seq)}",
                    playlist_id=playlist_id)
    state = kiosks.pairing_state(new.secret)
    with tenancy.tenant_session(tenant_id) as session:
        kiosk, token = kiosks.collect(session, state)
        return KioskRef(kiosk.id, tenant_id, token)


def make_product(tenant_id: int, *, name: str | None = None) -> int:
    """A product, as its first imported rating (4 out of 5, today) makes it; its id."""
    from webapp.db import utcnow
    from webapp.models import Product, RatingSource
    from webapp.services import ratings

    name = name or f"Product {next(_seq)}"
    with tenancy.tenant_session(tenant_id) as session:
        tenant = tenant_service.get_tenant(session, tenant_id)
        ratings.store_ratings(session, tenant, [ratings.RatingIn(name, 4, utcnow().date())], RatingSource.API)
        product_id = session.scalar(select(Product.id).where(Product.name == name))
        assert product_id is not None
        return product_id


def make_alert_rule(tenant_id: int, *, name: str | None = None) -> int:
    """A threshold rule on every voice (over 40 % unhappy, 20 voices at least), set through the service; its id."""
    from webapp.services import alerts

    with tenancy.tenant_session(tenant_id) as session:
        admin = session.scalars(select(User).where(User.role == Role.TENANT_ADMIN).order_by(User.id)).first()
        assert admin is not None, "make_alert_rule needs a tenant admin"
        draft = alerts.RuleDraft(name=name or f"Rule {next(_seq)}", kind="threshold", dimension="all",
                                 threshold_percent="40")
        return alerts.create_rule(session, admin, draft).id


def make_alert(tenant_id: int) -> int:
    """An alert of a new rule (its window the week of 23 November 2026), with its figures; its id."""
    from datetime import date

    from webapp.models import Alert, Dimension, RuleKind

    rule_id = make_alert_rule(tenant_id)
    with tenancy.tenant_session(tenant_id) as session:
        alert = Alert(rule_id=rule_id, key=f"rule:{rule_id}:2026-11-29", kind=RuleKind.THRESHOLD,
                      dimension=Dimension.ALL, window_start=date(2026, 11, 23), window_end=date(2026, 11, 29),
                      detail={"voices": 30, "unhappy": 15, "share": 0.5, "threshold": 0.4, "baseline_days": 28})
        session.add(alert)
        session.flush()
        return alert.id
