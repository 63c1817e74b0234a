"""Settings split by environment and by topic.

- env.py: the leaf: BASE_DIR, DATA_DIR and the one `env`; only this package reads the
  environment, and only through it.
- Topic modules (admin, auth, catalog, celery, database, observability, orders, payments,
  ratelimit, search, storage) import only env.py and declare their own names.
- base.py: Django's core settings, every topic, and the settings composed from the topics'
  pieces (RATE_LIMITS, DEFAULT_BEAT_SCHEDULES, PAYMENT_PROVIDERS).
- dev.py, test.py, prod.py: finish base.py for one environment; the database, cache and broker
  come from api.runtime through services.py.
"""
