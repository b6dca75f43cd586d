"""Per-agent rate limits and quotas, counted in SQL.

``windows`` (fixed UTC windows, decisions; pure), ``limiter`` (the algorithm over a
storage's atomic primitives), ``storage`` (the primitives; an in-memory backend),
``sql`` (the SQL backend and the effective limits), ``slots`` (concurrent runs),
``headers`` (response headers), ``service`` (what the app registers).
"""
