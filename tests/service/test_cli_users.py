"""``civicpulse users``: create (password from stdin, TOTP), list, disable, enable."""

from __future__ import annotations

import uuid

import pyotp
from click.testing import CliRunner

from service.cli import main
from tests.service.staff.support import Person, sign_in


def invoke(settings, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "CIVICPULSE_ENV": "test", "CIVICPULSE_SECRET_KEY": settings.secret_key}
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)


def test_create_list_disable_enable(settings, app):
    email = f"Ana-{uuid.uuid4().hex[:6]}@City.Test"
    made = invoke(settings, "users", "create", email, "--role", "planner", "--password-stdin",
                  stdin="a long enough password\n")
    assert made.exit_code == 0, made.output
    assert "created planner account" in made.output and email.lower() in made.output
    user_id = int(made.output.split("account ")[1].split()[0])

    again = invoke(settings, "users", "create", email, "--role", "admin", "--password-stdin",
                   stdin="a long enough password\n")
    assert again.exit_code == 1 and "already has an account" in again.output
    short = invoke(settings, "users", "create", "x" + email, "--role", "admin",
                   "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    app_role = invoke(settings, "users", "create", "y" + email, "--role", "app",
                      "--password-stdin", stdin="a long enough password\n")
    assert app_role.exit_code == 2  # phone apps have keys, not accounts

    listed = invoke(settings, "users", "list")
    line = next(row for row in listed.output.splitlines() if email.lower() in row)
    assert "planner" in line and "password" in line and "active" in line and "never" in line

    client = app.test_client()
    person = Person(user_id, email.lower(), "planner", "a long enough password")
    assert sign_in(client, person).status_code == 303
    off = invoke(settings, "users", "disable", email)
    assert off.exit_code == 0 and "disabled" in off.output
    assert client.get("/staff/").status_code == 302  # the session ended with it
    assert "disabled" in invoke(settings, "users", "list").output
    assert invoke(settings, "users", "enable", email).exit_code == 0
    assert sign_in(client, person).status_code == 303
    missing = invoke(settings, "users", "disable", "nobody@city.test")
    assert missing.exit_code == 1 and "no account for nobody@city.test" in missing.output


def test_create_with_totp_prints_the_setup_uri_once(settings, app):
    email = f"totp-{uuid.uuid4().hex[:6]}@city.test"
    made = invoke(settings, "users", "create", email, "--role", "admin", "--totp",
                  "--password-stdin", stdin="a long enough password\n")
    assert made.exit_code == 0, made.output
    uri = made.output.strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/")
    totp = pyotp.parse_uri(uri)
    user_id = int(made.output.split("account ")[1].split()[0])
    person = Person(user_id, email, "admin", "a long enough password")
    client = app.test_client()
    assert sign_in(client, person).status_code == 401
    assert sign_in(client, person, code=totp.now()).status_code == 303
