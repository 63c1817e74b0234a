"""The primary/replica router (api/db_router.py); it does nothing until a replica is configured."""

DATABASE_ROUTERS = ["api.db_router.PrimaryReplicaRouter"]

# Models (or whole apps) whose reads may go to the replica by default, e.g. ["products.Brand"].
# Empty: a read reaches the replica only through api.db_router.replica() / read_from_replica().
REPLICA_READ_MODELS: list[str] = []
