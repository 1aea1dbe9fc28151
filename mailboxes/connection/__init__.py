"""How Postaci reaches mail servers: settings discovery, OAuth 2.0 sign-in, login credentials."""
