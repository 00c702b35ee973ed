"""Usernames compared after NFKC and case folding, and by TS #39 skeleton (API.md §9).

Adds `username_key` and `username_skeleton`, fills them for every account and only then makes
them unique. Accounts that now collide with an older one (`straße` beside `STRASSE`, `аlice`
beside `alice`) are REPORTED, not renamed: the oldest keeps the key, the later ones keep their
name and their logins (by exact name) but no key, until staff rename one of them.
"""

import logging

from django.db import migrations, models

logger = logging.getLogger("meta.migrations")


def fill_keys(apps, schema_editor):
    from meta.usernames import username_key, username_skeleton

    User = apps.get_model("meta", "User")
    keys: dict[str, tuple[int, str]] = {}
    skeletons: dict[str, tuple[int, str]] = {}
    collisions = []
    for user in User.objects.order_by("id").only("id", "username").iterator():
        key, skeleton = username_key(user.username), username_skeleton(user.username)
        update = {}
        if key in keys:
            collisions.append(
                f"user {user.pk} {user.username!r} has the same name as user {keys[key][0]} {keys[key][1]!r}"
            )
        else:
            keys[key] = (user.pk, user.username)
            update["username_key"] = key
        if skeleton in skeletons:
            if key not in keys or keys[key][0] == user.pk:
                collisions.append(
                    f"user {user.pk} {user.username!r} looks like user {skeletons[skeleton][0]} {skeletons[skeleton][1]!r}"
                )
        else:
            skeletons[skeleton] = (user.pk, user.username)
            update["username_skeleton"] = skeleton
        if update:
            User.objects.filter(pk=user.pk).update(**update)
    for line in collisions:
        message = f"username collision (not renamed; rename one in the admin): {line}"
        logger.warning(message)
        print(f"\n  {message}", end="")


class Migration(migrations.Migration):
    dependencies = [("meta", "0002_membership_acked_seq")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="username_skeleton",
            field=models.CharField(editable=False, max_length=200, null=True),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=200, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="user",
            name="username_skeleton",
            field=models.CharField(editable=False, max_length=200, null=True, unique=True),
        ),
    ]
