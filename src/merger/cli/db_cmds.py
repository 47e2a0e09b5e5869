"""The register's schema: ``merger db current`` and ``merger db upgrade`` (Alembic migrations)."""

from __future__ import annotations

import typer

from merger.cli.common import JsonOpt, app, console, emit_json, errors, read_only_refusal, state

db_app = typer.Typer(
    name="db",
    help="The register database's schema: which revision it is at, and upgrading it after a merger upgrade.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

ADVICE = {
    "current": "up to date",
    "older": "older than this program: run 'merger db upgrade' (after 'merger export' as a backup)",
    "newer": "newer than this program: upgrade merger",
    "empty": "no register here: run 'merger init'",
}


def _engine(ctx: typer.Context):  # type: ignore[no-untyped-def]
    """The database itself, opened without the schema check (that is what these commands are for)."""
    from merger import store

    with errors():
        return store.make_engine(store.resolve_url(state(ctx).db))


@db_app.command("current")
def current(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the register's schema revision and this program's; exit 1 unless they match.

    \b
    Examples:
      merger db current
      merger --db postgresql+psycopg://merger@db.example/merger db current --json
    """
    from merger import migrations

    engine = _engine(ctx)
    try:
        with errors():
            found = migrations.status(engine)
    finally:
        engine.dispose()
    if as_json:
        emit_json(found)
    else:
        revision = found["revision"] or "none"
        note = "" if found["stamped"] or found["revision"] is None else " (from meta.schema_version)"
        console().print(f"Register {found['url']}\nrevision {revision}{note}, schema version "
                        f"{found['schema_version'] or '-'}; this program: {found['head']}. "
                        f"{ADVICE[str(found['state'])].capitalize()}.", highlight=False, markup=False)
    if found["state"] != "current":
        raise typer.Exit(1)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Migrate the register to this program's schema, in one transaction (no data is lost).

    Registers made before migrations existed are recognised by their schema version. Back up
    first (merger export, or pg_dump); while it runs, writers wait.

    \b
    Examples:
      merger db upgrade
      merger --db postgresql+psycopg://merger@db.example/merger db upgrade
    """
    from merger import migrations, store

    st = state(ctx)
    if st.read_only:
        read_only_refusal("merger db upgrade")
    engine = _engine(ctx)
    try:
        with errors(), store.db_errors(store.resolve_url(st.db)):
            before, after = migrations.upgrade(engine)
    finally:
        engine.dispose()
    if as_json:
        emit_json({"from": before, "to": after, "changed": before != after})
    elif before == after:
        console().print(f"Already at revision {after}; nothing to do.", highlight=False)
    else:
        console().print(f"Upgraded from revision {before} to {after}.", highlight=False)
