"""Switchboard's shared layer: claims, tokens, sessions, storage and policy.

Handlers in ``functions/`` import from here; nothing else holds business rules.
"""

__all__: list[str] = []
