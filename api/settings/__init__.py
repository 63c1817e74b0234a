"""Settings split by environment (base, dev, test, prod) and topic (services, celery, logging).

Only this package reads the environment, through the one `env` of base.py.
"""
