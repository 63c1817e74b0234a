"""The one place a committed catalog change announces itself (caches, search indexing and the
`product.*` webhooks).

Every service that writes a product, its variants, prices, stock, images or reviews registers
`products_changed_on_commit(ids)` (product_create and product_delete say which event it is);
code outside products/ that changes stock with its own conditional updates (checkout) does the
same. Categories, brands and attribute definitions call `catalog_structure_changed_on_commit()`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from django.db import transaction

from api.cache import versions_bump
from products.webhooks import product_webhooks_record
from search.events import products_index_enqueue, structure_reindex_publish
from webhooks.models import EventType

logger = logging.getLogger("products.events")

# Version names (api.cache): list pages, category tree and brands; what every product page shows
# of categories, brands and attribute definitions; one product's page.
LISTS_VERSION = "catalog:lists"
STRUCTURE_VERSION = "catalog:structure"
# Inside products_changes_batched: the ids changed so far, per webhook event type.
_batch: ContextVar[dict[str, set[int]] | None] = ContextVar("products_changes_batch", default=None)
# When one batch both creates (or deletes) a product and updates it, the receiver hears the one
# that says most: deleted, else created, else updated.
_PRECEDENCE = (EventType.PRODUCT_DELETED, EventType.PRODUCT_CREATED, EventType.PRODUCT_UPDATED)


def product_version(product_id: int) -> str:
    return f"catalog:product:{product_id}"


def products_changed_on_commit(
    product_ids: Iterable[int], *, event: str = EventType.PRODUCT_UPDATED
) -> None:
    """Every change to these products (or their variants, prices, stock, images, reviews), in
    the transaction that makes it: their list pages and product pages are rebuilt on their next
    read once it commits, the search.index_product task (an outbox row written now) re-reads
    them (a deleted or hidden one leaves the index), and the `event` webhook (product.updated
    unless the caller created or deleted them) is recorded for the endpoints that want it."""
    ids = sorted({int(pk) for pk in product_ids})
    batch = _batch.get()
    if batch is not None:
        batch.setdefault(event, set()).update(ids)
        return
    if not ids:
        return
    _announce(ids)
    product_webhooks_record(event, ids)


def _announce(ids: list[int]) -> None:
    versions = [LISTS_VERSION, *(product_version(pk) for pk in ids)]
    # robust: a cache outage is logged; the committed write still answers its client.
    transaction.on_commit(lambda: versions_bump(*versions), robust=True)
    products_index_enqueue(ids)


@contextlib.contextmanager
def products_changes_batched() -> Iterator[None]:
    """Inside the block, products_changed_on_commit collects the ids, and the block registers
    one announcement for all of them as it ends: an import of 1,000 rows, each through the
    services, rebuilds caches and indexes once, not 1,000 times."""
    if _batch.get() is not None:  # an outer block announces for this one
        yield
        return
    collected: dict[str, set[int]] = {}
    token = _batch.set(collected)
    try:
        yield
    finally:
        _batch.reset(token)
    every = sorted(set().union(*collected.values()))
    if every:
        _announce(every)
    told: set[int] = set()
    for event in _PRECEDENCE:
        ids = collected.get(event, set()) - told
        product_webhooks_record(event, ids)
        told |= ids


def catalog_structure_changed() -> None:
    """Categories, brands or attribute definitions changed: every public answer is rebuilt."""
    versions_bump(LISTS_VERSION, STRUCTURE_VERSION)
    structure_reindex_publish()


def catalog_structure_changed_on_commit() -> None:
    transaction.on_commit(catalog_structure_changed, robust=True)
