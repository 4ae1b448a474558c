"""The fleet service: central operations' side of the terminals (issue 15).

Where things live (fleet/README.md has the longer tour):

- ``schema.py``     the tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL
- ``migrations/``   Alembic, forward-only; ``db.migrate`` runs them (``kiosk-fleet migrate``)
- ``db.py``         engines, the database URL, what "the database is down" looks like
- ``store.py``      every read and write, as plain functions over a connection: the API, the
                    CLI and the console all call these and nothing else touches the tables
- ``signing.py``    terminal authentication (the kiosk's HMAC contract, re-implemented)
- ``api.py``        the terminal-facing HTTP API, documented in ``fleet-api.json``
- ``app.py``        ``create_app(settings)``: the Starlette app (API + ``/healthz``)
- ``cli.py``        ``kiosk-fleet``: serve, migrate, user, enrol-code, terminals, revoke
- ``repository.py`` the signed (TUF) update repository, ``kiosk-ops``

Why SQLAlchemy Core + Alembic rather than psycopg with plain SQL: one schema and one set of
migrations must run on both SQLite (embedded default, demo, a single-hall pilot) and
PostgreSQL (a fleet); Core writes the dialect differences (upserts, ``RETURNING``,
``FOR UPDATE SKIP LOCKED``, partial indexes) for us while staying plain SQL in shape, and
Alembic's batch mode migrates SQLite, which cannot ``ALTER`` much. psycopg 3 is the
PostgreSQL driver underneath. Why Starlette + uvicorn: a small ASGI toolkit with nothing
hidden (no ORM, no dependency injection) — the service is stateless, every request reads
and writes the database, so any number of replicas run behind a load balancer.

fleet imports no terminal code (setup.cfg [importlinter]); what it shares with the terminal
is wire-level and re-implemented here (signing, update target names).
"""

__version__ = "0.1.0"
