"""The IdP as an OpenID Shared Signals Framework 1.0 transmitter (docs/shared-signals.md).

A change of a card's status at the CA reaches every relying party holding a grant for the
account as Security Event Tokens (RFC 8417): CAEP and RISC events, and one event of our own,
delivered by push (RFC 8935) or poll (RFC 8936) from a durable outbox.
"""
