"""No tables: breaker state lives in Redis. `CircuitBreakerEntry` only gives the admin a place
for the breakers page, its permissions (view / change) and its log entries."""
from django.db import models


class CircuitBreakerEntry(models.Model):
    name = models.CharField(max_length=100, primary_key=True)

    class Meta:
        managed = False
        verbose_name = "circuit breaker"
        verbose_name_plural = "circuit breakers"

    def __str__(self) -> str:
        return self.name
