"""Throwaway databases on the machine's PostgreSQL (127.0.0.1:5432, trust auth) for tests."""

from __future__ import annotations

PORT = 5432


def database_url(name: str, port: int = PORT) -> str:
    """The URL of database `name` as user postgres (`port`: a proxy in front of it)."""
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


ADMIN_URL = database_url("postgres")


def _admin_execute(statement: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        admin.dispose()


def ping() -> None:
    """Raise sqlalchemy's OperationalError when the server does not answer."""
    _admin_execute("SELECT 1")


def create_database(name: str) -> None:
    _admin_execute(f"CREATE DATABASE {name}")


def drop_database(name: str) -> None:
    """Drop a test's database, even with sessions still open."""
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
