"""Alembic environment: runs migrations on the URL the service gives it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from service.catalog.sql.tables import Base

config = context.config
# Migrators that start together (an initContainer in each new pod, beside the migrate Job)
# take turns on PostgreSQL: the lock is held to the end of the migration's transaction, so
# the next one reads the version it left and has nothing to do. (Reservations use 1917.)
_ONE_MIGRATION_AT_A_TIME = text("SELECT pg_advisory_xact_lock(1918, 0)")


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(_ONE_MIGRATION_AT_A_TIME)
            context.run_migrations()


run_migrations_online()
