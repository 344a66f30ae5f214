"""Staff accounts for tests: made through geo.accounts, signed in through the real form."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from geo.accounts import passwords, users

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Person:
    """A staff account made for one test."""

    id: int
    email: str
    role: str
    password: str = PASSWORD
    totp_secret: str | None = None


def make_person(engine: Engine, role: str, *, totp: bool = False, label: str = "") -> Person:
    """A new account with a unique email (so tests never share lock-outs or sessions)."""
    email = f"{label or role}-{uuid.uuid4().hex[:8]}@city.test"
    secret = passwords.new_totp_secret() if totp else None
    with engine.begin() as conn:
        user_id = users.create_user(conn, email, role, name=role.title(),
                                    password_hash=passwords.hash_password(PASSWORD),
                                    totp_secret=secret)
    return Person(user_id, email, role, PASSWORD, secret)


def csrf_token(client: Any, path: str = "/login") -> str:
    """The CSRF token a page of this browser session carries."""
    html = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(html)
    assert found, f"no csrf_token on {path}"
    return found.group(1)


def sign_in(client: Any, person: Person, *, password: str | None = None, code: str = "",
            next_path: str = "") -> Any:
    """Post the sign-in form as a browser would; returns the response (not followed)."""
    form = {"csrf_token": csrf_token(client), "email": person.email,
            "password": person.password if password is None else password, "code": code}
    if next_path:
        form["next"] = next_path
    return client.post("/login", data=form)
