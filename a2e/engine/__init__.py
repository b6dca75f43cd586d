"""The workflow engine: runs a parsed workflow through ports, with no Flask and no SQL.

``runner.Runner`` executes; ``ports`` declares what it needs (run recording, stored
values, the ApiCall limiter, the result cache, credentials, the clock); ``memory``
implements those ports in memory; ``ops`` holds one module per operation type.
"""
