"""The schema the migrations build is the schema the code uses, on both databases; the
update repository moved into fleet without drifting from what the terminal expects."""

from __future__ import annotations

import importlib.metadata

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fleet import update_targets as fleet_targets
from fleet.db import head_revision, make_engine, migrate
from fleet.schema import metadata
from kiosk.ops import update_targets as kiosk_targets


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    return request.getfixturevalue("postgres").create_database()


def test_migrations_build_exactly_the_schema_and_rerun_as_a_no_op(db_url):
    engine = make_engine(db_url)
    try:
        assert migrate(engine) == head_revision()
        assert migrate(engine) == head_revision()  # a second replica starting: nothing to do
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diffs == []
    finally:
        engine.dispose()


def test_fleet_and_the_terminal_agree_on_update_kinds_and_target_names():
    assert fleet_targets.KINDS == kiosk_targets.KINDS
    for kind in kiosk_targets.KINDS:
        assert fleet_targets.target_path(kind) == kiosk_targets.target_path(kind)


def test_kiosk_ops_and_kiosk_fleet_are_central_side_commands():
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")
               if e.name in ("kiosk-ops", "kiosk-fleet")}
    assert scripts == {"kiosk-ops": "fleet.repository_cli:main",
                       "kiosk-fleet": "fleet.cli:main"}


NEXT_REVISION = '''"""A later release's migration: a column for technicians' notes."""

import sqlalchemy as sa
from alembic import op

revision = "next"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("notes", sa.String(200)))
'''


def test_a_later_migration_runs_forward_on_a_live_database(fleet, tmp_path):
    """Terminals keep heartbeating while the next release's migration runs: none is
    refused, nothing stored before is lost, the new column is there afterwards."""
    import shutil
    import threading

    import sqlalchemy as sa

    from fleet.db import MIGRATIONS, current_revision

    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "next_notes.py").write_text(
        NEXT_REVISION.format(head=head_revision()), encoding="utf-8")
    terminals = [fleet.enrol(district="天河区") for _ in range(3)]
    command = fleet.queue(terminals[0].id)
    statuses: list[int] = []
    migrated = threading.Event()

    def beats(t) -> None:
        while True:  # beat until the migration is done, then once more on the new schema
            last = migrated.is_set()
            statuses.append(t.beat().status_code)
            if last:
                return

    threads = [threading.Thread(target=beats, args=(t,)) for t in terminals]
    for t in threads:
        t.start()
    try:
        assert migrate(fleet.engine, scripts) == "next"
    finally:
        migrated.set()
        for t in threads:
            t.join(timeout=120)
    assert statuses and set(statuses) == {200}
    assert current_revision(fleet.engine) == "next"
    with fleet.engine.begin() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("terminals")}
        assert "notes" in columns
        rows = conn.execute(sa.select(sa.text("id, district, last_heartbeat_at"))
                            .select_from(sa.text("terminals"))).all()
    assert sorted(r.id for r in rows) == sorted(t.id for t in terminals)
    assert all(r.district == "天河区" and r.last_heartbeat_at is not None for r in rows)
    assert any(c["status"] == "delivered" and c["id"] == command
               for c in fleet.terminal(terminals[0].id)["commands"])


def test_migration_0003_runs_forward_under_the_previous_release_and_keeps_its_commands(db_url):
    """The previous release (schema 0002) keeps heartbeating — its own statements — while
    0003 adds the command leases: none of its writes fails, no row is lost, and a command
    it delivered counts as delivered once with a lease, so one whose reply was lost goes out
    again instead of waiting forever."""
    import threading

    import sqlalchemy as sa
    from alembic import command as alembic_command

    from fleet.db import alembic_config, current_revision

    engine = make_engine(db_url)
    try:
        alembic_command.upgrade(alembic_config(engine), "0002")
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO terminals (id, key_hex, state, enrolled_at, interval_s, faults,"
                " fault_count, maintenance) VALUES ('T1', 'aa', 'enrolled', 1000, 60, '', 0,"
                " false)"))
            for cid, delivered in (("c" * 32, 1010.0), ("d" * 32, None)):
                conn.execute(sa.text(
                    "INSERT INTO commands (id, terminal_id, command, args, created_at,"
                    " expires_at, created_by, delivered_at) VALUES (:id, 'T1', 'sync_outbox',"
                    " '{}', 1000, 2e9, 'op', :d)"), {"id": cid, "d": delivered})
        errors: list[BaseException] = []
        beats = 0
        migrated = threading.Event()

        def old_release() -> None:  # 0002's heartbeat: update the row, claim nothing new
            nonlocal beats
            while True:
                last = migrated.is_set()
                try:
                    with engine.begin() as conn:
                        conn.execute(sa.text("UPDATE terminals SET last_heartbeat_at = :t "
                                             "WHERE id = 'T1'"), {"t": 2000.0 + beats})
                        conn.execute(sa.text("SELECT id FROM commands WHERE terminal_id = 'T1'"
                                             " AND delivered_at IS NULL AND expires_at > 0"))
                    beats += 1
                except BaseException as exc:  # noqa: BLE001 - the test's verdict
                    errors.append(exc)
                    return
                if last:
                    return

        thread = threading.Thread(target=old_release)
        thread.start()
        try:
            assert migrate(engine) == head_revision()
        finally:
            migrated.set()
            thread.join(timeout=120)
        assert errors == [] and beats >= 1
        assert current_revision(engine) == head_revision()
        with engine.begin() as conn:
            rows = {r.id: r for r in conn.execute(sa.text(
                "SELECT id, deliveries, lease_until, delivered_at FROM commands"))}
            assert conn.execute(sa.text("SELECT last_heartbeat_at FROM terminals")).scalar_one() \
                == 2000.0 + beats - 1
        assert (rows["c" * 32].deliveries, rows["c" * 32].lease_until) == (1, 1010.0 + 120)
        assert (rows["d" * 32].deliveries, rows["d" * 32].lease_until) == (0, None)
        from fleet import store

        with engine.begin() as conn:  # the delivered one waits out its lease, then goes again
            assert [c["id"] for c in store.claim_commands(conn, "T1", now=1100.0)] == ["d" * 32]
            assert [c["id"] for c in store.claim_commands(conn, "T1", now=1131.0)] == ["c" * 32]
    finally:
        engine.dispose()
