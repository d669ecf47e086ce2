"""Typed SQLAlchemy models, one file per area."""

from webapp.jobs import Job
from webapp.models.api_tokens import ApiToken, TokenScope
from webapp.models.audit import AuditEvent
from webapp.models.media import Call, CallStatus, Channel, Complaint, Consent, Source
from webapp.models.security import LoginFailure, UserToken
from webapp.models.tags import Sentiment, Tag, TagKind, TagOrigin
from webapp.models.taxonomy import Label, LabelKind, TaggerModel
from webapp.models.tenants import StereoLayout, Tenant
from webapp.models.transcripts import Transcript
from webapp.models.users import Role, User, UserStatus

__all__ = ["ApiToken", "AuditEvent", "Call", "CallStatus", "Channel", "Complaint", "Consent", "Job", "Label",
           "LabelKind", "LoginFailure", "Role", "Sentiment", "Source", "StereoLayout", "Tag", "TagKind", "TagOrigin",
           "TaggerModel", "Tenant", "TokenScope", "Transcript", "User", "UserStatus", "UserToken"]
