"""What was in a room before a member joined is not unread: lift read positions to the join."""

from django.db import migrations
from django.db.models import F


def read_from_join(apps, schema_editor):
    Membership = apps.get_model("meta", "Membership")
    Membership.objects.filter(read_seq__lt=F("joined_seq")).update(read_seq=F("joined_seq"))


class Migration(migrations.Migration):
    dependencies = [("meta", "0005_conversation_state")]

    operations = [migrations.RunPython(read_from_join, migrations.RunPython.noop)]
