"""Webhooks: events written to an outbox in the transaction that made them (``events``),
sent to the endpoints admins registered (``targets`` checks where they point) by a worker
in every server process, signed as the Standard Webhooks specification says
(``delivery``), and the admins' routes (``routes``)."""
