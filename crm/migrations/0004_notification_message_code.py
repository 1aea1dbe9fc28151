"""Notification.message holds a message (code and parameters, crm.messages) instead of an
English sentence. Existing sentences are kept as the message's ``text``, which still renders
(translated when it is a known catalogue entry); the apps that wrote them turn the forms they
know back into codes in their own migrations."""

from django.db import migrations

import crm.messages


def text_to_message(apps, schema_editor):
    Notification = apps.get_model("crm", "Notification")
    rows = Notification.objects.exclude(message_text="").values_list("pk", "message_text")
    for pk, text in rows.iterator():
        Notification.objects.filter(pk=pk).update(message={"text": text})


def message_to_text(apps, schema_editor):
    Notification = apps.get_model("crm", "Notification")
    for pk, message in Notification.objects.exclude(message={}).values_list("pk", "message"):
        text = str(crm.messages.Message.coerce(message))  # in the default language
        Notification.objects.filter(pk=pk).update(message_text=text)


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_notification_preferences")]

    operations = [
        migrations.RenameField("notification", "message", "message_text"),
        migrations.AddField(
            model_name="notification",
            name="message",
            field=crm.messages.MessageField(verbose_name="message"),
        ),
        migrations.RunPython(text_to_message, message_to_text),
        migrations.RemoveField("notification", "message_text"),
    ]
