"""The sentences the mail side stores (crm.messages): connection and server errors, fetch
failures, send failures, quarantined imports, why a message is automatic.

Rows keep the code and its parameters; the reader sees the sentence in their own language.
What a server said in its own words (an SMTP reply, an IMAP error, a certificate problem)
stays verbatim in a parameter: it is evidence, not our sentence.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm.messages import Message, message_define

# --- reaching a server (IMAP and SMTP alike) ---------------------------------------------------
HOST_MISSING = message_define("mail.no_host", _("No host is set."))
HOST_NOT_FOUND = message_define("mail.dns", _("The host name “{host}” was not found."))
HOST_PRIVATE = message_define(
    "mail.host_private",
    _(
        "“{host}” points to a private or loopback address; ask an administrator to add it to "
        "POSTACI_MAIL_HOST_ALLOWLIST if it is meant."
    ),
)
TIMEOUT = message_define("mail.timeout", _("The server did not answer in time."))
CERTIFICATE_UNTRUSTED = message_define(
    "mail.certificate", _("The server's certificate is not trusted: {reason}")
)
TLS_FAILED = message_define(
    "mail.tls", _("The secure connection failed (check the port and security setting).")
)
CONNECTION_REFUSED = message_define(
    "mail.refused", _("The server refused the connection (check host and port).")
)
UNREACHABLE = message_define("mail.unreachable", _("The server could not be reached: {reason}"))
OUT_OF_FILES = message_define(
    "mail.out_of_files",
    _(
        "This Postaci process has reached its limit of {limit} open files, so the mail server "
        "was not contacted. Raise the open-file limit of the watcher and the workers "
        "(LimitNOFILE= in their systemd units, ulimit -n in a shell) or run watchmail in more "
        "shards (--shard)."
    ),
)
MAIL_SERVER_UNUSABLE = message_define("mail.unusable", _("The mail server could not be used."))

# --- IMAP ---------------------------------------------------------------------------------------
IMAP_AUTH = message_define("mail.imap_auth", _("The server refused the user name or password."))
IMAP_PROTOCOL = message_define(
    "mail.imap_protocol", _("The IMAP server answered unexpectedly: {reason}")
)
FETCH_RUNNING = message_define(
    "mail.fetch_running", _("A fetch of this account is still running; try again shortly.")
)
FETCH_ACCOUNT_GONE = message_define("mail.fetch_account_gone", _("The account no longer exists."))
FETCH_FOLDER_FAILED = message_define("mail.fetch_folder", _("Folder “{folder}”: {error}"))
FETCH_CRASHED = message_define(
    "mail.fetch_crashed", _("The fetch stopped on an unexpected error: {error}")
)
FETCH_FAILING = message_define(
    "mail.fetch_failing",
    ngettext_lazy(
        "The mailbox “{name}” could not be fetched: {error}",
        "The mailbox “{name}” could not be fetched {count} times in a row: {error}",
        "count",
    ),
)
# --- signing in with OAuth 2.0 -------------------------------------------------------------------
OAUTH_RENEW = message_define(
    "mail.oauth_renew", _("The sign-in to the provider must be renewed: reconnect the account.")
)
OAUTH_NOT_CONNECTED = message_define(
    "mail.oauth_not_connected",
    _("The account is not connected to its provider yet: click Connect."),
)
OAUTH_NO_PROVIDER = message_define(
    "mail.oauth_no_provider", _("The account has no email provider.")
)
OAUTH_NO_REFRESH_TOKEN = message_define("mail.oauth_no_refresh", _("No refresh token is stored."))
OAUTH_REFUSED_REQUEST = message_define(
    "mail.oauth_refused_request", _("The sign-in provider refused the request.")
)
OAUTH_HTTPS_REQUIRED = message_define(
    "mail.oauth_https", _("The provider's endpoint “{url}” must be an https address.")
)
OAUTH_REFUSED = message_define("mail.oauth_refused", _("The sign-in provider refused: {reason}"))
OAUTH_UNREACHABLE = message_define(
    "mail.oauth_unreachable", _("The sign-in provider could not be reached: {reason}")
)
OAUTH_UNEXPECTED = message_define(
    "mail.oauth_unexpected", _("The sign-in provider answered unexpectedly.")
)
OAUTH_NOT_REVOKED = message_define(
    "mail.oauth_not_revoked", _("The sign-in provider did not revoke the grant (HTTP {status}).")
)
IMAP_TOKEN_REFUSED = message_define(
    "mail.imap_token", _("The server refused the sign-in token; reconnect the account.")
)
OAUTH_RECONNECT_NEEDED = message_define(
    "mail.oauth_reconnect",
    _(
        "The mailbox “{name}” must be connected to its provider again: the provider refused "
        "the sign-in ({reason})."
    ),
)
ERRORS = message_define("mail.errors", "{errors}")
IMPORT_FAILED = message_define(
    "mail.import_failed", _("The message could not be imported: {error}")
)

# --- importing archives (mailboxes/intake/importing.py) ------------------------------------------
ARCHIVE_GONE = message_define(
    "mail.archive_gone",
    _("The uploaded file is no longer on the server; upload it again."),
)
ARCHIVE_EMPTY = message_define(
    "mail.archive_empty", _("The file holds no email: it is empty or not an mbox or .eml file.")
)
ARCHIVE_CRASHED = message_define(
    "mail.archive_crashed",
    _(
        "The import stopped on an unexpected error: {error}. The messages imported so far "
        "stay; importing the file again adds only the rest."
    ),
)

# --- SMTP and sending -----------------------------------------------------------------------------
SMTP_AUTH = message_define(
    "mail.smtp_auth", _("The SMTP server refused the user name or password ({reply}).")
)
SMTP_RECIPIENTS = message_define(
    "mail.smtp_recipients", _("The server refused the recipients: {list}")
)
SMTP_TEMPORARY = message_define(
    "mail.smtp_temporary", _("The server asked to try again later: {reply}")
)
SMTP_REJECTED = message_define("mail.smtp_rejected", _("The server refused the email: {reply}"))
SMTP_UNSUPPORTED = message_define(
    "mail.smtp_unsupported",
    _("The server does not support what the account settings ask for: {reason}"),
)
SMTP_INTERRUPTED = message_define(
    "mail.smtp_interrupted",
    _(
        "The connection to the server broke while the email was being handed over "
        "({reason}). It may or may not have been delivered."
    ),
)
SMTP_ERROR = message_define("mail.smtp_error", _("The mail server reported an error: {reason}"))
SEND_RETRYING = message_define(
    "mail.send_retrying", _("Attempt {attempt} failed, trying again: {error}")
)
SENT_PARTLY_REFUSED = message_define(
    "mail.sent_partly_refused", _("Sent, but the server refused: {list}")
)
SEND_ACCOUNT_GONE = message_define(
    "mail.send_account_gone", _("The account to send this email through is gone.")
)
SEND_FROM_GONE = message_define(
    "mail.send_from_gone",
    _("When the scheduled time came, the sender could no longer send from this address."),
)
SEND_SCHEDULED_FAILED = message_define(
    "mail.send_scheduled_failed",
    _("When the scheduled time came, the email could not be sent: {error}"),
)
SEND_INTERRUPTED = message_define(
    "mail.send_interrupted",
    _(
        "Sending was interrupted while the email was being handed to the server, so it may or "
        "may not have been delivered. Check with the recipient before retrying."
    ),
)


# --- automatic mail (intake step 4): why step 4 calls a message automatic ----------------------
AUTO_SUBMITTED_SEEN = message_define("mail.auto.auto_submitted", _("Auto-Submitted: {value}"))
AUTO_REPLY_HEADER_SEEN = message_define("mail.auto.auto_reply_header", _("{header} header"))
PRECEDENCE_SEEN = message_define("mail.auto.precedence", _("{header}: {value}"))
LIST_ID_SEEN = message_define("mail.auto.list_id", _("Mailing list (List-Id)"))
LIST_UNSUBSCRIBE_SEEN = message_define(
    "mail.auto.list_unsubscribe", _("Bulk mail (List-Unsubscribe)")
)
FAILED_RECIPIENTS_SEEN = message_define(
    "mail.auto.failed_recipients", _("X-Failed-Recipients header")
)
NULL_SENDER_SEEN = message_define("mail.auto.null_sender", _("Empty Return-Path (<>)"))
SENT_BY_POSTACI = message_define("mail.auto.own", _("Sent by Postaci"))
X_LOOP_SEEN = message_define("mail.auto.x_loop", _("X-Loop header"))
FEEDBACK_REPORT_SEEN = message_define("mail.auto.arf", _("Feedback report (ARF)"))
DSN_SEEN = message_define("mail.auto.dsn", _("Delivery status report (DSN)"))
MULTIPART_REPORT_SEEN = message_define(
    "mail.auto.multipart_report", _("Delivery status report (multipart/report)")
)
READ_RECEIPT_SEEN = message_define(
    "mail.auto.read_receipt", _("Read receipt (disposition notification)")
)
CARRIES_MESSAGE_SEEN = message_define("mail.auto.carries_message", _("Carries another message"))
MAIL_SYSTEM_SENDER = message_define(
    "mail.auto.mail_system_sender", _("Sent by the mail system ({sender})")
)
NO_SENDER_ADDRESS = message_define("mail.auto.no_sender", _("No sender address"))
SYSTEM_ADDRESS_SENDER = message_define(
    "mail.auto.system_address", _("Sent from a system address ({sender})")
)
BOUNCE_SUBJECT_SEEN = message_define(
    "mail.auto.bounce_subject", _("Delivery report subject ({subject})")
)
AUTO_REPLY_SUBJECT_SEEN = message_define(
    "mail.auto.auto_reply_subject", _("Auto-reply subject ({subject})")
)
ABUSE_SUBJECT_SEEN = message_define(
    "mail.auto.abuse_subject", _("Abuse report subject ({subject})")
)
SES_NOTIFICATION_SEEN = message_define("mail.auto.ses", _("Amazon SES notification ({type})"))
BOUNCE_WORDING_SEEN = message_define(
    "mail.auto.bounce_wording", _("Delivery report wording (“{words}”)")
)


# --- automatic mail (intake step 4): why a message must never get an auto-reply -----------------
# The loop guard of the cases app showed these first, so their codes say "cases.guard": stored
# ``AutoReplyLog`` reasons keep rendering. The decision is step 4's (mailboxes.intake.classify).
AUTO_SUBMITTED = message_define(
    "cases.guard.auto_submitted", _("The message is automatic (Auto-Submitted: {value}).")
)
AUTO_REPLY_HEADER = message_define(
    "cases.guard.auto_reply_header", _("The message is an auto-reply ({header} header).")
)
BULK = message_define(
    "cases.guard.bulk", _("The message is bulk or list mail ({header}: {value}).")
)
MAILING_LIST = message_define(
    "cases.guard.mailing_list",
    _("The message comes from a mailing list (List-Id / List-Unsubscribe)."),
)
EMPTY_RETURN_PATH = message_define(
    "cases.guard.empty_return_path",
    _("The message has an empty Return-Path (<>): bounces and auto-replies do."),
)
REPORT = message_define(
    "cases.guard.report",
    _("The message is a delivery or feedback report (multipart/report)."),
)
NO_REPLY_SENDER = message_define(
    "cases.guard.no_reply_sender", _("The sender {sender} does not take replies.")
)


# --- bounces (mailboxes.bounces) ----------------------------------------------------------------
def _status_reason(value: str) -> str:
    from crm.deliverability import status_reason

    return status_reason(value)


BOUNCED = message_define(
    "mail.bounced",
    _("Bounced: {address}: {status}"),
    display={"status": _status_reason},  # the RFC 3463 code, read in the reader's language
)
UNDELIVERABLE = message_define(
    "mail.undeliverable",
    _("Not sent: {addresses} cannot receive mail (it bounced); automatic mail never goes there."),
)
BOUNCED_NOTIFY = message_define(
    "mail.bounced_notify",
    _("Your email “{subject}” did not reach {address}: {status}"),
    display={"status": _status_reason},
)


def errors_message(errors: list[Message]) -> Message:
    """One message for several errors (a fetch that failed on two folders, say)."""
    if len(errors) == 1:
        return errors[0]
    return ERRORS(errors=errors)


def refused_list(refused: dict) -> str:
    """What a server said about each refused recipient, verbatim: ``a@x: 550 No such user``."""
    return "; ".join(f"{address}: {code} {reply}" for address, (code, reply) in refused.items())
