"""``purge_media``: delete from storage the files of what was erased (webapp/services/erasure.py).

Queued in the transaction that erased the rows, so it runs only once they are gone. The payload
lists the object keys (the recording, its renditions, its clips' audio). A clip's audio is
named by its content hash, so another clip with the very same sound may still use it: such a
key is kept. Deleting a key that is already gone is no error, so the job can run twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from webapp import storage, tenancy
from webapp.errors import PermanentError, RetryableError
from webapp.models import Clip
from webapp.services.erasure import PURGE_MEDIA
from worker.handlers.context import JobContext

KIND = PURGE_MEDIA
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        keys = [str(k) for k in ctx.payload.get("keys", [])]
        prefix = storage.tenant_prefix(ctx.tenant_id)
        foreign = [k for k in keys if not k.startswith(prefix)]
        if foreign:  # a job only ever names its own tenant's objects: refuse rather than delete
            raise PermanentError(f"{len(foreign)} key(s) outside the tenant's prefix")
        with tenancy.tenant_session(ctx.tenant_id) as session:
            used = set(session.scalars(select(Clip.audio_key).where(Clip.audio_key.in_(keys))))
        store = storage.get_storage(ctx.settings)
        try:
            for key in keys:
                if key not in used:
                    store.delete(key)
        except storage.StorageError as err:
            raise RetryableError(str(err)) from err
        log.info("%d file(s) deleted, %d kept (still used by another clip)", len(keys) - len(used), len(used))

    def failed(self, ctx: JobContext, reason: str) -> None:
        log.error("files of erased items could not all be deleted: %s", reason)
