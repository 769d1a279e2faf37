"""Transactions that must not interleave: those that name the same key run one after the
other. PostgreSQL: a transaction-level advisory lock on the key's hash, freed at commit or
rollback. SQLite: nothing to do, its write transactions already run one at a time."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def one_at_a_time(session: AsyncSession, key: str) -> None:
    """Wait until no other transaction holds ``key``, then hold it until this one ends."""
    if session.get_bind().dialect.name == "sqlite":
        return
    digest = hashlib.sha256(key.encode()).digest()
    number = int.from_bytes(digest[:8], "big", signed=True)  # PostgreSQL's bigint
    await session.execute(select(func.pg_advisory_xact_lock(number)))
