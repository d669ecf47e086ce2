"""Typed SQLAlchemy models, one file per area."""

from webapp.jobs import Job
from webapp.models.api_tokens import ApiToken, TokenScope
from webapp.models.audit import AuditEvent
from webapp.models.clips import Clip, ClipSentiment, ClipStatus, Playlist, PlaylistItem, PlaylistMode, RenderStatus
from webapp.models.kiosks import Kiosk, KioskPairing
from webapp.models.media import Call, CallStatus, Channel, Complaint, Consent, Source
from webapp.models.security import LoginFailure, UserToken
from webapp.models.tags import Sentiment, Tag, TagKind, TagOrigin
from webapp.models.taxonomy import Label, LabelKind, TaggerModel
from webapp.models.tenants import StereoLayout, Tenant
from webapp.models.transcripts import Transcript
from webapp.models.users import Role, User, UserStatus

__all__ = ["ApiToken", "AuditEvent", "Call", "CallStatus", "Channel", "Clip", "ClipSentiment", "ClipStatus",
           "Complaint", "Consent", "Job", "Kiosk", "KioskPairing", "Label", "LabelKind", "LoginFailure", "Playlist",
           "PlaylistItem", "PlaylistMode", "RenderStatus", "Role", "Sentiment", "Source", "StereoLayout", "Tag",
           "TagKind", "TagOrigin", "TaggerModel", "Tenant", "TokenScope", "Transcript", "User", "UserStatus",
           "UserToken"]
