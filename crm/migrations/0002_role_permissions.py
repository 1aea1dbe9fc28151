"""Role permissions move from one column per app to ``Role.permissions`` (crm.permissions)."""

from django.db import migrations, models

COLUMNS = (
    "group_email_account",
    "personal_email_accounts",
    "email_access",
    "case_access",
    "account_access",
    "contact_access",
    "lead_access",
    "opportunity_access",
)


def columns_to_permissions(apps, schema_editor):
    Role = apps.get_model("crm", "Role")
    for role in Role.objects.all():
        role.permissions = {name: getattr(role, name) for name in COLUMNS}
        role.save(update_fields=["permissions"])


def permissions_to_columns(apps, schema_editor):
    Role = apps.get_model("crm", "Role")
    for role in Role.objects.all():
        for name in COLUMNS:
            if name in role.permissions:
                setattr(role, name, role.permissions[name])
        role.save()


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="role",
            name="permissions",
            field=models.JSONField(blank=True, default=dict, verbose_name="permissions"),
        ),
        migrations.RunPython(columns_to_permissions, permissions_to_columns),
        *[migrations.RemoveField(model_name="role", name=name) for name in COLUMNS],
    ]
