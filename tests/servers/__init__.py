"""Real servers for tests: Dovecot (IMAP/IMAPS), aiosmtpd (SMTP), an OAuth 2.0 provider and a
Celery worker on Redis.

Tests never mock the mail servers; they use these. The fixtures (tests/servers/fixtures.py,
loaded by tests/conftest.py) are:

    dovecot              session   DovecotServer, one per pytest-xdist worker; password logins,
                                   and XOAUTH2/OAUTHBEARER logins checked with the OAuth server
    imap_user            function  ImapUser(username, password, email) on ``dovecot``
    imap_oauth_user      function  ImapUser whose username is its address (o-…@example.test),
                                   also an account at ``oauth_server``: logs in by token
    oauth_server         function  OAuthServer (tests/servers/oauth.py), started once per worker
                                   with Dovecot; everything on it is forgotten after the test
    oauth_client         function  OAuthClient: a new confidential client on ``oauth_server``
    smtp_server          function  SmtpServer: plain, no AUTH, captures every message
    smtp_server_factory  function  make(auth=("user", "pw"), tls="none"|"starttls"|"implicit",
                                   oauth=True for AUTH XOAUTH2/OAUTHBEARER by ``oauth_server``)
    system_smtp_server   function  smtp_server, with Django's EMAIL_* settings pointed at it
    mail_relay           function  MailRelay: smtp_server that also delivers to Dovecot mailboxes
                                   (``add_mailbox(imap_user, *aliases)``; SMTP → IMAP for real)
    use_as_system_smtp   function  point(server): Django's EMAIL_* settings -> any SmtpServer
    test_certificate     session   the self-signed cert (localhost, 127.0.0.1) of IMAPS/SMTP TLS
    celery_worker        function  a real worker thread; implies ``transactional_db``
    celery_test_app      session   crm's Celery app on the test Redis (autouse)
    dns_server           function  DnsServer on loopback answering from ``serve(zone_text)``;
                                   the product's POSTACI_DNS_NAMESERVERS points at it
    web_server_factory   function  make(tls=None, hang=False): WebServer on port 80 (443) of
                                   a 127.x.y.z of its own, counting its requests

For the whole session, ``settings.POSTACI_MAIL_HOST_ALLOWLIST`` includes 127.0.0.1 and
localhost, and ``settings.POSTACI_MAIL_CA_FILE`` names the test certificate as soon as a
server fixture is used: product code that builds its TLS context from that setting trusts
the test servers, and nothing else needs patching. ``POSTACI_DNS_NAMESERVERS`` names a DNS
server on loopback that knows no name (``dns_server`` gives a test one with a zone).

A typical intake test::

    def test_new_mail_is_imported(dovecot, imap_user, db):
        dovecot.deliver(imap_user, raw_message)
        account = make_account(host=dovecot.host, port=dovecot.imap_port,
                               username=imap_user.username, password=imap_user.password)
        ...
        assert dovecot.flags(imap_user, "INBOX") == {1: {"\\\\Seen"}}

An OAuth test (the product's side signs in through ``oauth_server.endpoints``)::

    def test_mail_is_fetched_by_token(dovecot, imap_oauth_user, oauth_server, oauth_client):
        oauth_server.update_client(oauth_client.client_id, redirect_uris=[callback_url])
        tokens = oauth_server.issue_tokens(oauth_client.client_id, imap_oauth_user.email)
        ...  # or let the product send the browser to the consent page; oauth_server.approve(url)
        assert oauth_server.refreshes(client_id=oauth_client.client_id) == 1

The server classes know nothing of pytest and can be used from scripts (bench/) as context
managers: ``with DovecotServer(make_test_certificate(dir)) as dovecot: ...``.
"""
