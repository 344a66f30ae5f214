"""``civicpulse users``: staff accounts for the browser pages (create, list, disable, enable)."""

from __future__ import annotations

import sys

import click

from geo.accounts import passwords, users
from geo.accounts.schema import STAFF_ROLES
from geo.db import make_engine
from geo.errors import FieldError, NotFound
from service.cli.common import settings


def register(main: click.Group) -> None:
    """Add the ``users`` group to ``main``."""
    main.add_command(users_group)


@click.group("users")
def users_group() -> None:
    """Staff accounts (people who sign in to /login)."""


def _engine():  # type: ignore[no-untyped-def]
    return make_engine(settings().database_url)


@users_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(list(STAFF_ROLES)))
@click.option("--name", default="", help="The person's name, shown beside their email.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts).")
@click.option("--no-password", is_flag=True,
              help="No local password: the person signs in through the identity provider.")
@click.option("--totp", is_flag=True,
              help="Require a code from an authenticator app; prints its setup URI once.")
def users_create(email: str, role: str, name: str, password_stdin: bool, no_password: bool,
                 totp: bool) -> None:
    """Create an account for EMAIL with ROLE (the password is asked for unless given)."""
    if password_stdin and no_password:
        raise click.UsageError("--password-stdin and --no-password exclude each other")
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    secret = passwords.new_totp_secret() if totp else None
    engine = _engine()
    try:
        with engine.begin() as conn:
            hashed = passwords.hash_password(password) if password is not None else None
            user_id = users.create_user(conn, email, role, name=name, password_hash=hashed,
                                        totp_secret=secret)
    except FieldError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"created {role} account {user_id} for {users.normal_email(email)}")
    if secret:
        click.echo("add this to an authenticator app now; it cannot be shown again:")
        click.echo(passwords.totp_uri(secret, users.normal_email(email)))


@users_group.command("list")
def users_list() -> None:
    """Every account: id, email, role, how they sign in, state, last sign-in."""
    engine = _engine()
    try:
        with engine.connect() as conn:
            rows = users.list_users(conn)
    finally:
        engine.dispose()
    click.echo(f"{'id':>4}  {'email':<36} {'role':<13} {'sign-in':<16} {'state':<9} last sign-in")
    for row in rows:
        how = "+".join(w for w, on in (("password", row["has_password"]), ("totp", row["has_totp"]),
                                        ("provider", row["via_provider"])) if on) or "-"
        state = "disabled" if row["disabled_at"] else "active"
        last = row["last_login_at"].strftime("%Y-%m-%d %H:%M") if row["last_login_at"] else "never"
        click.echo(f"{row['id']:>4}  {row['email']:<36} {row['role']:<13} {how:<16} {state:<9} "
                   f"{last}")


def _set_disabled(email: str, disabled: bool) -> None:
    engine = _engine()
    try:
        with engine.begin() as conn:
            user = users.find_user(conn, email)
            changed = users.set_disabled(conn, user["id"], disabled)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    word = "disabled" if disabled else "enabled"
    click.echo(f"{word} {user['email']}" if changed else f"{user['email']} was {word} already")


@users_group.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable EMAIL's account and end its sessions at once."""
    _set_disabled(email, True)


@users_group.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Enable EMAIL's account again (also lifts a lock-out after failed sign-ins)."""
    _set_disabled(email, False)
