"""How Postaci reaches mail servers: TLS and network errors in plain words (``network``), the
SSRF guard (``hosts``), IMAP login (``imap``), OAuth 2.0 sign-in (``oauth``, ``credentials``)
and settings discovery (``discovery``)."""
