"""Typed SQLAlchemy models, one file per area."""

from webapp.jobs import Job
from webapp.models.alerts import Alert, AlertRule, Dimension, RuleKind
from webapp.models.api_tokens import ApiToken, TokenScope
from webapp.models.audit import AuditEvent
from webapp.models.clips import Clip, ClipSentiment, ClipStatus, Playlist, PlaylistItem, PlaylistMode, RenderStatus
from webapp.models.kiosks import Kiosk, KioskPairing
from webapp.models.media import Call, CallStatus, Channel, Complaint, Consent, Source
from webapp.models.products import Product, Rating, RatingSource
from webapp.models.register import EntryStatus, Outcome, RegisterEntry, RegisterEvent, RegisterLink
from webapp.models.security import LoginFailure, UserToken
from webapp.models.tags import Sentiment, Tag, TagKind, TagOrigin
from webapp.models.taxonomy import Label, LabelKind, TaggerModel
from webapp.models.tenants import StereoLayout, Tenant
from webapp.models.transcripts import Transcript
from webapp.models.users import Role, User, UserStatus

__all__ = ["Alert", "AlertRule", "ApiToken", "AuditEvent", "Call", "CallStatus", "Channel", "Clip", "ClipSentiment",
           "ClipStatus", "Complaint", "Consent", "Dimension", "EntryStatus", "Job", "Kiosk", "KioskPairing", "Label",
           "LabelKind", "LoginFailure", "Outcome", "Playlist", "PlaylistItem", "PlaylistMode", "Product", "Rating",
           "RatingSource", "RegisterEntry", "RegisterEvent", "RegisterLink", "RenderStatus", "Role", "RuleKind",
           "Sentiment", "Source", "StereoLayout", "Tag", "TagKind", "TagOrigin", "TaggerModel", "Tenant", "TokenScope",
           "Transcript", "User", "UserStatus", "UserToken"]
