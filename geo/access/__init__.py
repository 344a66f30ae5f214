"""Who may do what, and the record of what staff did.

``keys`` issues and looks up API keys (digests only, never the key) and names the
roles; ``audit`` records each staff action with who and when, and reads it back for
admins. Staff accounts and sessions belong here too. No Flask, RQ or Redis here.
"""
