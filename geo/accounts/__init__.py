"""Staff accounts: people who sign in to the browser pages, beside machines' API keys.

A person has one role (``planner``, ``grant_writer`` or ``admin``) and signs in with a
local password (argon2id, optional TOTP) or through the city's identity provider
(OpenID Connect). Whatever they do in the browser runs through the same role checks
as an API key, and the audit trail names them.

Modules:

- ``schema`` — the ``users`` and ``staff_sessions`` tables
- ``users`` — create, list, find, disable, change role; people from the identity provider
- ``passwords`` — argon2id hashes, TOTP, sign-in with lock-out after repeated failures
- ``sessions`` — server-side sessions: started at sign-in, idle timeout, ended at sign-out
"""
