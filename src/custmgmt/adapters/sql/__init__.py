"""SQLAlchemy 2.x storage: SQLite (embedded default) and PostgreSQL (psycopg 3).

Row models and translation live here; the domain never sees SQLAlchemy.
"""
