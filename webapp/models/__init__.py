"""Typed SQLAlchemy models, one file per area."""

from webapp.jobs import Job
from webapp.models.actions import ActionEvent, ActionLink, ActionOrigin, ActionStatus, ImprovementAction
from webapp.models.alerts import Alert, AlertRule, Dimension, RuleKind
from webapp.models.api_tokens import ApiToken, TokenScope
from webapp.models.audit import AuditEvent
from webapp.models.clips import Clip, ClipSentiment, ClipStatus, Playlist, PlaylistItem, PlaylistMode, RenderStatus
from webapp.models.insight_days import InsightDay, InsightMark
from webapp.models.kiosks import Kiosk, KioskPairing
from webapp.models.listening import Listen, ListenSource, PlayTally, Reaction, ReactionKind
from webapp.models.media import Call, CallStatus, Channel, Complaint, Consent, Source
from webapp.models.products import Product, Rating, RatingSource
from webapp.models.register import EntryStatus, Outcome, RegisterEntry, RegisterEvent, RegisterLink
from webapp.models.security import LoginFailure, UserToken
from webapp.models.tags import Sentiment, Tag, TagKind, TagOrigin
from webapp.models.taxonomy import Label, LabelKind, TaggerModel
from webapp.models.tenants import StereoLayout, Tenant
from webapp.models.transcripts import Transcript
from webapp.models.users import Role, User, UserStatus
from webapp.models.workshops import Workshop, WorkshopAttendance, WorkshopClip, WorkshopInvite, WorkshopStatus

__all__ = ["ActionEvent", "ActionLink", "ActionOrigin", "ActionStatus", "Alert", "AlertRule", "ApiToken", "AuditEvent",
           "Call", "CallStatus", "Channel", "Clip", "ClipSentiment", "ClipStatus", "Complaint", "Consent", "Dimension",
           "EntryStatus", "ImprovementAction", "InsightDay", "InsightMark",
           "Job", "Kiosk", "KioskPairing", "Label", "LabelKind", "Listen",
           "ListenSource", "LoginFailure", "Outcome", "PlayTally", "Playlist", "PlaylistItem", "PlaylistMode",
           "Product", "Rating", "RatingSource", "Reaction", "ReactionKind", "RegisterEntry", "RegisterEvent",
           "RegisterLink", "RenderStatus", "Role", "RuleKind", "Sentiment", "Source", "StereoLayout", "Tag", "TagKind",
           "TagOrigin", "TaggerModel", "Tenant", "TokenScope", "Transcript", "User", "UserStatus", "UserToken",
           "Workshop", "WorkshopAttendance", "WorkshopClip", "WorkshopInvite", "WorkshopStatus"]
