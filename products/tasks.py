"""Catalog tasks: thin, by id, safe to run twice (docs/architecture.md §5)."""

from __future__ import annotations

from celery import shared_task


# Its own time limits: a large file takes longer than the default 5 minutes, and a run that is
# stopped anyway resumes after its last committed batch. Below the Redis visibility timeout.
@shared_task(name="catalog.import", bind=True, max_retries=2, soft_time_limit=1800, time_limit=1860)
def catalog_import_process_task(self, import_id: int) -> str:
    """Apply a staff catalog CSV (products/imports.py); a retry resumes after the last committed
    batch, and the import is marked failed when the attempts run out."""
    from products.imports import catalog_import_fail, catalog_import_process

    try:
        return catalog_import_process(import_id=import_id).status
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            catalog_import_fail(import_id=import_id, error=f"{type(exc).__name__}: {exc}")
        raise
