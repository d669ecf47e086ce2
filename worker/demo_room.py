"""The demo company's customer room: a few calls, their clips and a playlist, so that a new user
can pair a screen (open ``/kiosk/`` in another tab) and hear it play at once.

The calls are spoken by the voice the tests use (tests/speech.py: Kokoro, from the packages
bin/setup installs; the caller hands it over) and go through the real pipeline — ingestion,
``process_call`` (Whisper), ``render_clip`` — run here, inline, once: the demo company keeps
them afterwards. Nothing is downloaded.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from webapp import tenancy
from webapp.models import Call, Role, Source, User
from webapp.services import clips, ingestion, playlists
from worker.handlers import process_call, render_clip
from worker.handlers.context import JobContext

log = logging.getLogger(__name__)

PLAYLIST = "Voix de la semaine"
#: (title, sentiment, product, what the customer says)
CALLS = (
    ("Le technicien était parfait", "satisfied", "Box Fibre",
     "Bonjour, je voulais vous remercier. Le technicien est venu ce matin, il a été très aimable "
     "et tout fonctionne parfaitement. Merci beaucoup."),
    ("Trois semaines d'attente", "unhappy", "Canapé Oslo",
     "Cela fait trois semaines que j'attends ma commande. J'ai appelé quatre fois et personne ne "
     "me rappelle. Je suis vraiment déçue."),
    ("Une conseillère formidable", "satisfied", "Carte fidélité",
     "Votre conseillère a été formidable, elle a pris le temps de tout m'expliquer. Je "
     "recommanderai votre magasin à mes amis."),
    ("Facture fausse deux fois", "unhappy", "Abonnement mobile",
     "La facture est fausse pour la deuxième fois. Je paie pour un service que je n'ai pas reçu, "
     "c'est inadmissible."),
)


def _context(kind: str, tenant_id: int, payload: dict[str, int]) -> JobContext:
    return JobContext(job_id=0, kind=kind, tenant_id=tenant_id, payload=payload, attempt=1, max_attempts=1,
                      settings=current_app.config["ECOUTE"])


def seed_room(tenant_id: int, speak: Callable[[Path, str], Path],
              calls: tuple[tuple[str, str, str, str], ...] = CALLS) -> bool:
    """Give the demo company its calls, clips and playlist, once; ``speak(path, text)`` writes a
    French recording of ``text``. Returns False (doing nothing) when the company has calls."""
    with tenancy.tenant_session(tenant_id) as session:
        if session.scalar(select(func.count()).select_from(Call)):
            return False
    made: list[tuple[int, str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        for n, (title, sentiment, product, text) in enumerate(calls, start=1):
            wav = Path(folder) / f"appel-demo-{n}.wav"
            speak(wav, text)
            with wav.open("rb") as stream, tenancy.tenant_session(tenant_id) as session:
                meta = ingestion.clean_meta({"product": product, "consent": "yes", "language_hint": "fr",
                                             "agent": "Démo"})
                done = ingestion.ingest_call(session, current_app.config["ECOUTE"], tenant_id, stream=stream,
                                             filename=wav.name, meta=meta, origin=ingestion.Origin(Source.BROWSER))
                made.append((done.call.id, title, sentiment))
    for call_id, _title, _sentiment in made:
        process_call.Handler().run(_context(process_call.KIND, tenant_id, {"call_id": call_id}))
    clip_ids = []
    for call_id, title, sentiment in made:
        with tenancy.tenant_session(tenant_id) as session:
            curator = session.scalars(select(User).where(User.role == Role.QUALITY_MANAGER).order_by(User.id)).first()
            call = session.get(Call, call_id)
            assert curator is not None and call is not None
            clip = clips.create_clip(session, curator, call, clips.ClipDraft(
                start=0.0, end=min(call.duration_seconds, clips.MAX_SECONDS), title=title, sentiment=sentiment))
            clip_ids.append(clip.id)
        render_clip.Handler().run(_context(render_clip.KIND, tenant_id, {"clip_id": clip.id}))
    with tenancy.tenant_session(tenant_id) as session:
        curator = session.scalars(select(User).where(User.role == Role.QUALITY_MANAGER).order_by(User.id)).first()
        assert curator is not None
        playlist = playlists.create_playlist(session, curator, name=PLAYLIST)
        for clip_id in clip_ids:
            clip = clips.get_clip(session, clip_id)
            clips.approve(session, curator, clip)
            playlists.add_clip(session, curator, playlist, clip)
    log.info("demo room ready: %d calls, %d clips", len(made), len(clip_ids))
    return True
