"""How Postaci reaches mail servers."""
