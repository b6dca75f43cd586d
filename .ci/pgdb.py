"""Create or drop a scratch PostgreSQL database: pgdb.py create|drop SERVER_URL NAME."""

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

action, server, name = sys.argv[1:4]
engine = create_engine(server, isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if action == "create":
        conn.execute(text(f'CREATE DATABASE "{name}"'))
engine.dispose()
if action == "create":
    print(make_url(server).set(database=name).render_as_string(hide_password=False))
