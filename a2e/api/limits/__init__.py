"""Rate limiting over HTTP: request counting hooks, the status endpoint, admin limits."""
