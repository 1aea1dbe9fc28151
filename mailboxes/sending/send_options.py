"""The compose form's sending options beside the message itself: "Send later" and its time
(read in the user's time zone, which the middleware activated), and the draft's version that
autosave and the buttons carry (drafts.py refuses a write from a stale copy)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SCHEDULE = "schedule"
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class SendOptionsForm(forms.Form):
    action = forms.CharField(required=False, widget=forms.HiddenInput)
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        input_formats=[LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT),
    )
    draft_version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    draft_writer = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == SCHEDULE and "send_at" not in self.errors:
            send_at = cleaned.get("send_at")
            if send_at is None:
                self.add_error("send_at", _("Choose when to send the email."))
            elif send_at <= timezone.now():
                self.add_error("send_at", _("Choose a time in the future."))
        return cleaned
