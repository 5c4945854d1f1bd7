"""The IdP's state: durable (SQLAlchemy) and ephemeral (Redis or in-process, always with a TTL)."""
