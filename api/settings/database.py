"""The primary/replica router (api/db_router.py), which does nothing until a replica is
configured, and the statements prepared per connection (api/prepared.py)."""

from .env import env

DATABASE_ROUTERS = ["api.db_router.PrimaryReplicaRouter"]

# Models (or whole apps) whose reads may go to the replica by default, e.g. ["products.Brand"].
# Empty: a read reaches the replica only through api.db_router.replica() / read_from_replica().
REPLICA_READ_MODELS: list[str] = []

# The few hot reads planned once per connection (api/prepared.py); off behind a pooler that
# resets sessions between transactions (PgBouncer in transaction mode).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
