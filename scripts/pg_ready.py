"""Exit 0 when the PostgreSQL server of the URL given answers, 1 otherwise."""

import sys

import psycopg

try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://"), connect_timeout=3).close()
except psycopg.OperationalError as exc:
    print(f"PostgreSQL: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
