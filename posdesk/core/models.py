from django.db import models


class IdempotencyRecord(models.Model):
    """The stored answer to a create request sent with an `Idempotency-Key`. A retry with the same
    key by the same principal gets this answer again instead of a second resource."""

    principal = models.CharField(max_length=64)  # "user:<id>"; core sits below accounts
    scope = models.CharField(max_length=64)  # which operation, e.g. "ticket.create"
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "scope", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
