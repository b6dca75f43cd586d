"""The result cache over HTTP: statistics and invalidation, for an agent and for admins."""
