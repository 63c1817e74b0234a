"""Content (cms/): cache lifetime of the public answers, and where storefront links point."""

from .env import env

# Seconds a cached content answer may live. Every content or catalog change invalidates it after
# commit, and an answer with banners is kept only until the next start or end among them, so the
# TTL only bounds memory and the damage of a missed invalidation.
CMS_CACHE_TTL = env.int("CMS_CACHE_TTL", default=300)
# Off: every content read is built from the database (the query-count tests use this).
CMS_CACHE_ENABLED = env.bool("CMS_CACHE_ENABLED", default=True)
# The storefront's path for a menu link to a category or a page ({slug} is replaced).
CMS_STOREFRONT_PATHS = env.json(
    "CMS_STOREFRONT_PATHS", default={"category": "/c/{slug}", "page": "/pages/{slug}"}
)
