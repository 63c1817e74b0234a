from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The outcome of one unsafe request, kept under the client's Idempotency-Key."""

    scope = models.CharField(max_length=64)
    owner = models.CharField(max_length=128, help_text="Who sent the key: user, cart or staff.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "owner", "key"], name="idempotency_unique_scope_owner_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.owner}:{self.key}"
