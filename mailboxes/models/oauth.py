"""OAuth 2.0 sign-in: the providers (apps registered at Google, Microsoft, …) and what an
account stores about its grant. Tokens and client secrets are encrypted at rest like mailbox
passwords; the logic is in mailboxes/connection/oauth.py and credentials.py."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.crypto import EncryptedTextField


class OAuthProvider(models.Model):
    """An OAuth 2.0 client registered at a provider; accounts sign in through it."""

    class Kind(models.TextChoices):
        GOOGLE = "google", _("Google")
        MICROSOFT = "microsoft", _("Microsoft 365")
        GENERIC = "generic", _("Other OAuth 2.0 provider")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=150, unique=True)
    tenant = models.CharField(
        _("tenant"),
        max_length=100,
        blank=True,
        help_text=_("Microsoft only: common, organizations or your directory (tenant) id."),
    )
    client_id = models.CharField(_("client id"), max_length=255)
    client_secret = EncryptedTextField(_("client secret"), blank=True)
    authorize_url = models.URLField(_("authorization endpoint"), max_length=500, blank=True)
    token_url = models.URLField(_("token endpoint"), max_length=500, blank=True)
    revoke_url = models.URLField(_("revocation endpoint"), max_length=500, blank=True)
    userinfo_url = models.URLField(_("userinfo endpoint"), max_length=500, blank=True)
    scopes = models.CharField(
        _("scopes"),
        max_length=1000,
        blank=True,
        help_text=_("Separated by spaces; empty uses the provider's preset."),
    )
    from_environment = models.BooleanField(
        _("from the environment"),
        default=False,
        editable=False,
        help_text=_("Created from POSTACI_OAUTH_PROVIDERS; changed there, not here."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("email provider")
        verbose_name_plural = _("email providers")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        from mailboxes.connection.oauth import provider_fill_preset

        provider_fill_preset(self)
        super().save(*args, **kwargs)


class AuthMethod(models.TextChoices):
    PASSWORD = "password", _("Password")
    OAUTH = "oauth", _("Sign in with a provider (OAuth 2.0)")


class OAuthFlow(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", _("A person signs in and consents")
    CLIENT_CREDENTIALS = "client_credentials", _("The app itself (Microsoft shared mailbox)")


class OAuthState(models.TextChoices):
    """Where the account's grant stands; ``oauth_state_params`` holds the provider's words."""

    NOT_CONNECTED = "", _("Not connected")
    CONNECTED = "connected", _("Connected")
    RECONNECT_NEEDED = "reconnect_needed", _("Reconnect needed")


# The grant: written only by mailboxes/connection/credentials.py (and health.py), always with
# explicit update_fields, never by a whole-row save.
OAUTH_GRANT_FIELDS = frozenset(
    {
        "oauth_refresh_token",
        "oauth_access_token",
        "oauth_expires_at",
        "oauth_refresh_at",
        "oauth_address",
        "oauth_state",
        "oauth_state_params",
        "oauth_connected_at",
    }
)


class OAuthAccountFields(models.Model):
    """The OAuth part of ``MailAccount`` (abstract: the columns live on its table).

    Saving a whole account (the edit form, the Django admin) leaves the grant columns alone:
    a worker may have rotated the refresh token since the form was loaded, and writing the
    old one back would break the grant at the next refresh.
    """

    auth_method = models.CharField(
        _("authentication"),
        max_length=20,
        choices=AuthMethod.choices,
        default=AuthMethod.PASSWORD,
    )
    oauth_provider = models.ForeignKey(
        OAuthProvider,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name=_("email provider"),
    )
    oauth_flow = models.CharField(
        _("sign-in flow"),
        max_length=30,
        choices=OAuthFlow.choices,
        default=OAuthFlow.AUTHORIZATION_CODE,
    )
    oauth_refresh_token = EncryptedTextField(blank=True, editable=False)
    oauth_access_token = EncryptedTextField(blank=True, editable=False)
    oauth_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When to refresh: shortly before expiry (a minute, or a quarter of a short lifetime).
    oauth_refresh_at = models.DateTimeField(null=True, blank=True, editable=False)
    oauth_address = models.EmailField(_("connected as"), max_length=320, blank=True, editable=False)
    oauth_state = models.CharField(
        _("sign-in state"),
        max_length=30,
        choices=OAuthState.choices,
        default=OAuthState.NOT_CONNECTED,
        blank=True,
        editable=False,
    )
    oauth_state_params = models.JSONField(default=dict, blank=True, editable=False)
    oauth_connected_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        whole_row = kwargs.get("update_fields") is None and not kwargs.get("force_insert")
        if self.pk and not self._state.adding and whole_row:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in OAUTH_GRANT_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == AuthMethod.OAUTH

    @property
    def oauth_reconnect_needed(self) -> bool:
        return self.uses_oauth and self.oauth_state == OAuthState.RECONNECT_NEEDED

    @property
    def oauth_login_name(self) -> str:
        """The user name XOAUTH2 logs in as: the confirmed address, else the account's."""
        return self.oauth_address or self.imap_username or self.email_address
