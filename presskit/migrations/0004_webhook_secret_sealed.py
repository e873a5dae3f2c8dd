"""Webhook secrets sealed at rest (presskit.webhooks): each clear secret is sealed, then its
column dropped. Not reversible: a sealed secret is not written back in clear."""
from django.db import migrations, models

import presskit.webhooks


def seal_secrets(apps, schema_editor):
    Integration = apps.get_model("presskit", "Integration")
    for integration in Integration.objects.exclude(secret=""):
        integration.secret_sealed = presskit.webhooks.secret_seal(integration.secret)
        integration.save(update_fields=["secret_sealed"])


class Migration(migrations.Migration):
    dependencies = [("presskit", "0003_publishing")]

    operations = [
        migrations.AddField(model_name="integration", name="secret_sealed",
                            field=models.TextField(blank=True, editable=False)),
        migrations.RunPython(seal_secrets),
        migrations.RemoveField(model_name="integration", name="secret"),
        migrations.AlterField(
            model_name="integration", name="url",
            field=models.URLField(help_text=(
                "The webhook: receives a POST with the presskit as JSON. Public http(s) addresses only, unless "
                "its network is in INTEGRATION_ALLOWED_NETWORKS."), validators=[presskit.webhooks.webhook_url_validate]),
        ),
    ]
