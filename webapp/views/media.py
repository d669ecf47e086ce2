"""Serving stored audio with HTTP Range, from either storage backend; journalling listens."""

from __future__ import annotations

from flask import Response, request, stream_with_context

from webapp import storage, tenancy
from webapp.config import Settings
from webapp.services import audit
from webapp.views.helpers import actor


def audio_response(settings: Settings, key: str, content_type: str, size: int) -> Response:
    """The object at ``key``, whole (200) or the byte range asked for (206, or 416 past the end)."""
    store = storage.get_storage(settings)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=0, must-revalidate"}
    wanted = request.range.range_for_length(size) if request.range else None
    if request.range and wanted is None:
        return Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, stop = wanted if wanted else (0, size)
    body = stream_with_context(store.read_range(key, start, stop - 1)) if size else iter(())
    response = Response(body, status=206 if wanted else 200, mimetype=content_type, headers=headers,
                        direct_passthrough=True)
    response.content_length = stop - start
    if wanted:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return response


def listen_started(action: str, target: str) -> Response:
    """The page's script says playback of ``target`` started (``static/app.js``, on the ``play`` event).

    Serving the audio journals nothing: a browser preloads it as soon as the page opens (issue #13).
    """
    audit.record_listen(tenancy.request_session(), actor=actor(), action=action, target=target)
    return Response(status=204)
