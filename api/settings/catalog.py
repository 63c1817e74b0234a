"""Catalog: cache lifetimes of the public reads, review moderation, the CSV import."""

from .env import env

# Seconds a cached public answer may live; every change invalidates it right after commit
# anyway, so the TTL only bounds memory and the damage of a missed invalidation.
CATALOG_CACHE_TTL_TREE = env.int("CATALOG_CACHE_TTL_TREE", default=300)
CATALOG_CACHE_TTL_LIST = env.int("CATALOG_CACHE_TTL_LIST", default=60)
CATALOG_CACHE_TTL_DETAIL = env.int("CATALOG_CACHE_TTL_DETAIL", default=300)
# Off: every public read is built from the database (the benchmark's cold runs use this).
CATALOG_CACHE_ENABLED = env.bool("CATALOG_CACHE_ENABLED", default=True)
# Warm catalog reads answered before URL resolution (api/cached_reads.py).
CATALOG_CACHED_READS = ["products.controllers.public.CACHED_READS"]

# True: a customer's review is published at once; False: it waits for moderation.
REVIEWS_PUBLISH_IMMEDIATELY = env.bool("REVIEWS_PUBLISH_IMMEDIATELY", default=False)

# CSV catalog import (products/csv_io.py, products/imports.py): products per transaction, so no
# import holds many rows locked for long; the admin runs a dry run of at most
# CATALOG_IMPORT_INLINE_MAX_ROWS rows in the request, and anything else as a catalog.import task.
CATALOG_IMPORT_BATCH_PRODUCTS = env.int("CATALOG_IMPORT_BATCH_PRODUCTS", default=100)
CATALOG_IMPORT_INLINE_MAX_ROWS = env.int("CATALOG_IMPORT_INLINE_MAX_ROWS", default=2000)
CATALOG_IMPORT_MAX_BYTES = env.int("CATALOG_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
