"""What ``manage.py fetchmail`` loads before it fetches: a cron job pays its start-up on every
run, so nothing a fetch does not use is imported on the way (speed itself is measured in
``bench/``, not here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each was imported by every fetch once, and is now imported where it is used.
NOT_LOADED_BY_A_FETCH = {
    # the OAuth client's HTTP stack (mailboxes.connection.oauth): only a token refresh needs it
    "requests": "a call to an OAuth provider",
    "authlib": "a call to an OAuth provider",
    "joserfc": "a call to an OAuth provider",
    # HTML → text (mailboxes.html_text), imported through filters and sending
    "lxml": "the first HTML converted to text",
    "inscriptis": "the first HTML converted to text",
    # the progress bar of fetchmail
    "tqdm": "a terminal to draw the bar on",
    # the URL check imported the URL conf, hence every view and form of the web site
    "config.urls": "the web site",
    "mailboxes.views": "the web site",
    "dns": "the web site's account discovery",
    # forms: the group account form's panels are built on first use, and the apps' admin
    # modules load with the URL conf (SimpleAdminConfig), not with the apps
    "django.contrib.auth.forms": "the web site (the admin)",
    "mailboxes.forms": "an account form",
    "cases.forms": "an account form",
    "crm.forms": "a form of the web site",
    # the error page: Django's mail_admins handler imported its reporter when logging was set
    # up (ops/log_handlers.py imports it with the first error it mails)
    "django.views.debug": "the first server error, mailed to ADMINS, or an error page",
    # quoted-history patterns: loaded with the first stream note that carries an email's text
    # (mailboxes.notes.email_notes loads in every process for its note kinds)
    "mailboxes.inbox.reply_text": "the first email noted with its text",
    # the pipeline steps of the apps built on mailboxes, provided by import path
    "cases.intake": "the first mail a fetch brings",
    "filters.intake": "the first mail a fetch brings",
}

_SCRIPT = """
import json, sys
import django

django.setup()
from django.core.management import load_command_class

command = load_command_class("mailboxes", "fetchmail")
command.check(tags=command.requires_system_checks)  # what execute() runs before handle()
print(json.dumps(sorted(set(sys.argv[1:]) & set(sys.modules))))
"""


def _loaded_in_a_new_process(script: str, modules: dict[str, str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported once ``script`` ran."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script, *modules],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_fetch_command_starts_without_what_a_fetch_does_not_use():
    loaded = _loaded_in_a_new_process(_SCRIPT, NOT_LOADED_BY_A_FETCH)
    assert loaded == [], {name: NOT_LOADED_BY_A_FETCH[name] for name in loaded}


def test_the_fetch_command_still_refuses_to_run_without_the_installation_keys():
    from django.core.checks import Tags
    from django.core.management import load_command_class

    command = load_command_class("mailboxes", "fetchmail")
    assert Tags.security in command.requires_system_checks  # crm/checks.py: the keys


# What the steps of an ordinary fetch (support mail: no invitation, no bounce) leave out:
# each is imported with the first message that needs it.
NOT_LOADED_BY_THE_STEPS = {
    "icalendar": "the first calendar part (meetings/intake.py)",
    "meetings.ical": "the first calendar part",
    "meetings.services": "the first calendar part (it imports the sending code)",
    "mailboxes.sending.send": "sending mail (an invitation's reply, an auto-reply)",
    "flufl.bounce": "the first bounce (mailboxes/bounces/reading.py)",
    "mailboxes.bounces.read": "the first bounce",
}

_STEPS_SCRIPT = """
import json, sys
import django

django.setup()
from mailboxes.intake.pipeline import _step_functions

_step_functions()  # every step of the pipeline, imported as the first batch does
print(json.dumps(sorted(set(sys.argv[1:]) & set(sys.modules))))
"""


def test_the_steps_of_a_fetch_load_the_calendar_and_bounce_readers_only_when_needed():
    loaded = _loaded_in_a_new_process(_STEPS_SCRIPT, NOT_LOADED_BY_THE_STEPS)
    assert loaded == [], {name: NOT_LOADED_BY_THE_STEPS[name] for name in loaded}
