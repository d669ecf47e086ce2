"""People: logging in, invitations, roles, deactivation, passwords and language."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp import principals, tenancy
from webapp.config import LOCALES, Settings
from webapp.db import utcnow
from webapp.errors import NotFound, TooManyAttempts, UserError
from webapp.i18n import _, ngettext
from webapp.mail import new_link_secret, queue_mail, queue_reset_lookup
from webapp.models import Role, Tenant, User, UserStatus
from webapp.models.security import TokenPurpose
from webapp.models.tenants import PLATFORM_SLUG
from webapp.models.users import TENANT_ROLES
from webapp.passwords import hash_password, verify_password
from webapp.services import audit, throttle, tokens
from webapp.services.validation import clean_email, clean_name, clean_password


def platform_tenant(session: Session) -> Tenant:
    """The internal tenant that holds platform admins, created on first use.

    Here rather than in services/tenants.py, which builds on this module: a password reset asked
    for an address in no company yet is queued in this tenant.
    """
    tenant = session.scalar(select(Tenant).where(Tenant.is_platform.is_(True)))
    if tenant is None:
        tenant = Tenant(name="Écoute", slug=PLATFORM_SLUG, default_locale="fr", is_platform=True)
        session.add(tenant)
        session.flush()
    return tenant


def _link(settings: Settings, path: str) -> str:
    return f"{settings.base_url}{path}"


# --- logging in ------------------------------------------------------------------------


def _login_allowances(email: str, ip: str, settings: Settings) -> dict[str, int]:
    """The throttle keys of a password typed for ``email`` from ``ip``, with the failures each allows:
    this account from this address first, then this address in all (far more: an office shares one).

    Failures on one account slow down only that account from that address: colleagues behind the
    same address keep logging in, and someone elsewhere cannot lock the account's owner out.
    """
    return {throttle.key("login", f"{ip} {email}"): settings.login_max_failures_account,
            throttle.key("ip", ip): settings.login_max_failures_ip}


def _wait_message(seconds: int) -> str:
    if seconds < 60:
        return str(ngettext(
            "Too many failed attempts. Wait %(num)d second and try again, or reset your password.",
            "Too many failed attempts. Wait %(num)d seconds and try again, or reset your password.", seconds))
    return str(ngettext("Too many failed attempts. Wait %(num)d minute and try again, or reset your password.",
                        "Too many failed attempts. Wait %(num)d minutes and try again, or reset your password.",
                        math.ceil(seconds / 60)))


def _refuse_while_delayed(allowances: dict[str, int], settings: Settings) -> None:
    wait = throttle.wait_seconds(allowances, settings)
    if wait:
        err = TooManyAttempts(_wait_message(wait))
        err.retry_after = wait
        raise err


def authenticate(email: str, password: str, ip: str, settings: Settings,
                 tenant_slug: str | None = None) -> list[User]:
    """Check a login; return the matching active account(s) (detached).

    More than one is returned only when the same e-mail and password open accounts in
    several companies and ``tenant_slug`` does not pick one: the view then asks which.
    Raises :class:`UserError` (wrong credentials, deactivated, suspended) or
    :class:`TooManyAttempts` (with the seconds to wait); failures are recorded for throttling.
    """
    email = (email or "").strip().lower()
    allowances = _login_allowances(email, ip, settings)
    _refuse_while_delayed(allowances, settings)
    candidates = principals.find_login_candidates(email) if email and len(email) <= 254 else []
    matched = [u for u in candidates if verify_password(u.password_hash, password)]
    if not candidates:
        verify_password(None, password)  # same time whether or not the account exists
    if not matched:
        throttle.record_failure(list(allowances))
        raise UserError(_("Wrong e-mail or password."), "bad_credentials")
    if tenant_slug:
        matched = [u for u in matched if u.tenant.slug == tenant_slug] or matched
    usable = [u for u in matched if u.is_active and not u.tenant.is_suspended]
    if not usable:
        if all(u.tenant.is_suspended for u in matched):
            raise UserError(_("Your company's access to Écoute is suspended. Contact your administrator."),
                            "tenant_suspended")
        raise UserError(_("This account has been deactivated. Ask your company's administrator."),
                        "account_deactivated")
    throttle.clear(list(allowances)[:1])
    return usable


def record_login(session: Session, user_id: int) -> None:
    """Note the time of a successful login."""
    user = session.get(User, user_id)
    if user is not None:
        user.last_login_at = utcnow()


def _end_sessions(user: User) -> None:
    """End every session of ``user`` at its next request, copies of the cookie included."""
    user.session_version += 1


def log_out_everywhere(session: Session, user_id: int) -> None:
    """End the person's sessions: the one logging out, and any copy of its cookie (and so their others)."""
    user = session.get(User, user_id)
    if user is not None:
        _end_sessions(user)


def end_company_sessions(session: Session, tenant_id: int) -> None:
    """End every session of a company's people (it is being suspended).

    Runs in the platform admin's all-tenants Session, which the tenant guard does not narrow:
    hence the one explicit ``tenant_id`` filter.
    """
    session.execute(update(User).where(User.tenant_id == tenant_id)
                    .values(session_version=User.session_version + 1)
                    .execution_options(synchronize_session="fetch"))


def check_own_password(user: User, password: str, ip: str, settings: Settings) -> None:
    """Check the current password of a signed-in person, throttled like a login.

    Call it before the request's Session is used: failures are committed in their own transaction.
    """
    allowances = _login_allowances(user.email, ip, settings)
    _refuse_while_delayed(allowances, settings)
    if not verify_password(user.password_hash, password):
        throttle.record_failure(list(allowances))
        raise UserError(_("This is not your current password."), "bad_current_password")


def change_password(session: Session, user: User, new: str) -> None:
    """Replace one's own password (checked first with :func:`check_own_password`).

    Every other session of the person ends, and an operator-set password no longer needs
    replacing. The view logs the person in again, so that the session they changed it from goes on.
    """
    password = clean_password(new, user.email)
    if verify_password(user.password_hash, password):
        raise UserError(_("Choose a password different from the current one."), "password_unchanged")
    user.password_hash = hash_password(password)
    user.must_change_password = False
    _end_sessions(user)
    audit.record(session, tenant_id=user.tenant_id, actor=user, action="user.password_changed",
                 target=f"user:{user.id}")


def set_locale(session: Session, user_id: int, locale: str) -> None:
    """Remember the interface language a person chose."""
    if locale not in LOCALES:
        raise UserError(_("This language is not available."), "locale_invalid")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    user.locale = locale


# --- people of a tenant -----------------------------------------------------------------


def list_people(session: Session) -> list[User]:
    """Everyone in the session's tenant, admins first, then by e-mail."""
    order = {r: i for i, r in enumerate(TENANT_ROLES)}
    people = list(session.scalars(select(User).order_by(User.email)))
    return sorted(people, key=lambda u: (order.get(u.role, 9), u.email))


def get_person(session: Session, user_id: int) -> User:
    """A person of the session's tenant by id; :class:`NotFound` otherwise."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def _clean_role(raw: str) -> Role:
    try:
        role = Role(raw)
    except ValueError:
        role = None
    if role not in TENANT_ROLES:
        raise UserError(_("Choose a role from the list."), "role_invalid")
    return role


def _send_invitation(session: Session, settings: Settings, user: User, tenant: Tenant,
                     inviter_name: str) -> str:
    nonce, secret = new_link_secret(settings)
    raw = tokens.issue(session, user, TokenPurpose.INVITATION, timedelta(hours=settings.invitation_ttl_hours),
                       secret=secret)
    queue_mail(session, tenant_id=user.tenant_id, user_id=user.id, template="invitation",
               link_path="/invitation/", link_nonce=nonce, link_purpose=TokenPurpose.INVITATION,
               context={"inviter": inviter_name, "hours": settings.invitation_ttl_hours})
    return _link(settings, f"/invitation/{raw}")


def create_invited_user(session: Session, settings: Settings, tenant: Tenant, *, email: str, role: Role,
                        name: str = "", inviter: User | None = None) -> tuple[User, str]:
    """Create a person in ``tenant`` and mail them an invitation link (after commit).

    Returns the person and the link (operator commands print it).
    """
    email = clean_email(email)
    name = clean_name(name, required=False)
    user = User(tenant_id=tenant.id, email=email, name=name, role=role, status=UserStatus.INVITED,
                invited_by_id=inviter.id if inviter is not None and inviter.tenant_id == tenant.id else None)
    session.add(user)
    session.flush()
    link = _send_invitation(session, settings, user, tenant, inviter.display_name if inviter else "Écoute")
    audit.record(session, tenant_id=tenant.id, actor=inviter, action="user.invited", target=f"user:{user.id}",
                 role=str(role))
    return user, link


def invite(session: Session, settings: Settings, actor: User, *, email: str, role: str, name: str = "") -> User:
    """A tenant admin invites someone into their own company."""
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None  # noqa: S101 - the actor was loaded through this tenant
    if session.scalar(select(User.id).where(User.email == clean_email(email))) is not None:
        raise UserError(_("Someone with this e-mail address is already in this company."), "email_taken")
    user, _link_sent = create_invited_user(session, settings, tenant, email=email, role=_clean_role(role),
                                           name=name, inviter=actor)
    return user


def resend_invitation(session: Session, settings: Settings, actor: User, user: User) -> None:
    """Send a fresh invitation link; the earlier one stops working."""
    if user.status != UserStatus.INVITED:
        raise UserError(_("This person has already accepted the invitation."), "not_invited")
    _send_invitation(session, settings, user, user.tenant, actor.display_name)
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="user.invitation_resent",
                 target=f"user:{user.id}")


def revoke_invitation(session: Session, actor: User, user: User) -> None:
    """Cancel an invitation that was not accepted yet; the person is removed."""
    if user.status != UserStatus.INVITED:
        raise UserError(_("This person has already accepted the invitation."), "not_invited")
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="user.invitation_revoked",
                 target=f"user:{user.id}", email=user.email)
    session.delete(user)


def _active_admins(session: Session) -> int:
    return int(session.scalar(
        select(func.count()).select_from(User)
        .where(User.role == Role.TENANT_ADMIN, User.status == UserStatus.ACTIVE)
    ) or 0)


def _keep_an_admin(session: Session, user: User) -> None:
    if user.role == Role.TENANT_ADMIN and user.status == UserStatus.ACTIVE and _active_admins(session) <= 1:
        raise UserError(_("Your company needs at least one active administrator. Name another one first."),
                        "last_admin")


def change_role(session: Session, actor: User, user: User, role: str) -> None:
    """Give a person another role (a company always keeps one active admin)."""
    new_role = _clean_role(role)
    if new_role == user.role:
        return
    if user.role == Role.TENANT_ADMIN:
        _keep_an_admin(session, user)
    old = user.role
    user.role = new_role
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="user.role_changed",
                 target=f"user:{user.id}", before=str(old), after=str(new_role))


def set_department(session: Session, actor: User, user: User, department: str) -> None:
    """Say which department a person works in: staff read the insights, scorecards and review packs
    of their department's products (the same name, exactly, as the products page gives)."""
    clean = " ".join(department.split())
    if len(clean) > 120:
        raise UserError(_("A department's name is at most 120 characters."), "department_too_long")
    if clean == user.department:
        return
    old = user.department
    user.department = clean
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="user.department_changed",
                 target=f"user:{user.id}", before=old, after=clean)


def set_manager(session: Session, actor: User, user: User, is_manager: bool) -> None:
    """Mark a person as a manager, or not: listening coverage shows managers apart (issue #16)."""
    if user.is_manager == is_manager:
        return
    user.is_manager = is_manager
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="user.manager_changed",
                 target=f"user:{user.id}", before=str(not is_manager).lower(), after=str(is_manager).lower())


def deactivate(session: Session, actor: User, user: User) -> None:
    """Stop a person from logging in; their history stays."""
    if user.id == actor.id:
        raise UserError(_("You cannot deactivate your own account."), "self_deactivate")
    if user.status == UserStatus.DEACTIVATED:
        return
    _keep_an_admin(session, user)
    user.status = UserStatus.DEACTIVATED
    _end_sessions(user)
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="user.deactivated",
                 target=f"user:{user.id}")


def reactivate(session: Session, actor: User, user: User) -> None:
    """Let a deactivated person log in again (or accept their invitation, if they never did)."""
    if user.status != UserStatus.DEACTIVATED:
        return
    user.status = UserStatus.ACTIVE if user.password_hash else UserStatus.INVITED
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="user.reactivated",
                 target=f"user:{user.id}")


# --- links: invitations and password resets ---------------------------------------------


def invitation_for(session: Session, raw: str) -> User:
    """The invited person behind a link, without using it up."""
    token = tokens.consume(session, raw, TokenPurpose.INVITATION, peek=True)
    return _usable_link_user(token.user, UserStatus.INVITED)


def _usable_link_user(user: User, expected: UserStatus) -> User:
    if user.tenant.is_suspended:
        raise UserError(_("Your company's access to Écoute is suspended. Contact your administrator."),
                        "tenant_suspended")
    if user.status != expected:
        raise UserError(_("This link cannot be used any more. Ask for a new one."), "token_used")
    return user


def accept_invitation(session: Session, raw: str, *, password: str, name: str) -> User:
    """Set the password (and name) of an invited person, who becomes active."""
    token = tokens.consume(session, raw, TokenPurpose.INVITATION)
    user = _usable_link_user(token.user, UserStatus.INVITED)
    user.name = clean_name(name, required=True)
    user.password_hash = hash_password(clean_password(password, user.email))
    user.status = UserStatus.ACTIVE
    audit.record(session, tenant_id=user.tenant_id, actor=user, action="user.joined", target=f"user:{user.id}")
    return user


def request_password_reset(settings: Settings, email: str, ip: str) -> None:
    """Have reset links mailed to every active account with this e-mail; say nothing about which exist.

    The request does the same work whether or not an account uses the address: a throttle row
    and one job, which the worker runs (:func:`send_reset_links`), so neither its answer nor
    its time tells (issue #13, item 8). At most 3 requests per address per throttle window, so
    the form cannot flood a mailbox.
    """
    email = clean_email(email)
    key = throttle.key("reset", email)
    if throttle.count_recent([key], settings)[key] >= 3:
        return
    throttle.record_failure([key])
    with tenancy.all_tenants_session() as session:  # the address may be in any company, or none
        queue_reset_lookup(session, tenant_id=platform_tenant(session).id, email=email)


def send_reset_links(settings: Settings, email: str) -> int:
    """Issue a reset link to every active account with this e-mail and queue its mail (the worker's side).

    Returns how many were queued.
    """
    queued = 0
    for candidate in principals.find_login_candidates(email):
        if not candidate.is_active or candidate.tenant.is_suspended:
            continue
        with tenancy.tenant_session(candidate.tenant_id) as session:
            user = session.get(User, candidate.id)
            assert user is not None  # noqa: S101 - just found through the same tenant
            nonce, secret = new_link_secret(settings)
            tokens.issue(session, user, TokenPurpose.RESET, timedelta(minutes=settings.reset_ttl_minutes),
                         secret=secret)
            queue_mail(session, tenant_id=user.tenant_id, user_id=user.id, template="reset",
                       link_path="/password/reset/", link_nonce=nonce, link_purpose=TokenPurpose.RESET,
                       context={"minutes": settings.reset_ttl_minutes})
        queued += 1
    return queued


def reset_password(session: Session, raw: str, password: str) -> User:
    """Set a new password through a reset link (single use)."""
    token = tokens.consume(session, raw, TokenPurpose.RESET)
    user = _usable_link_user(token.user, UserStatus.ACTIVE)
    user.password_hash = hash_password(clean_password(password, user.email))
    user.must_change_password = False
    _end_sessions(user)
    audit.record(session, tenant_id=user.tenant_id, actor=user, action="user.password_reset",
                 target=f"user:{user.id}")
    return user
