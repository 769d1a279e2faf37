"""Database: engine and sessions, the typed models, and the Alembic migrations."""
