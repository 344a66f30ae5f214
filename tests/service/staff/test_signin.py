"""Local staff accounts in the browser: sign-in, refusals, lock-out, TOTP, cookies, CSRF, sign-out.

Everything goes through the real form and the real session cookie against PostgreSQL;
a session principal must pass exactly the role checks an API key passes.
"""

from __future__ import annotations

import dataclasses

import pyotp
import pytest
from sqlalchemy import text

from geo.access import audit
from service import create_app
from tests.service.staff.support import PASSWORD, csrf_token, make_person, sign_in


@pytest.fixture
def planner(engine):
    return make_person(engine, "planner")


def test_sign_in_opens_the_staff_pages_and_the_api_with_the_role(client, planner):
    assert client.get("/staff/").status_code == 302  # anonymous: to the form first
    resp = sign_in(client, planner, next_path="/staff/")
    assert resp.status_code == 303 and resp.headers["Location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200 and planner.email in home.get_data(as_text=True)
    # The session is a principal like a key: the same role checks, the same answers.
    assert client.get("/planner/whoami").json == {"role": "planner", "name": planner.email}
    assert client.get("/api/v1/hotspot-runs").status_code == 200
    assert client.get("/api/v1/audit").status_code == 403  # admins only, as for keys


def test_anonymous_staff_pages_redirect_to_login_and_back(client):
    resp = client.get("/staff/?x=1")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=%2Fstaff%2F%3Fx%3D1"


def test_wrong_password_is_refused_without_saying_which_part(client, planner):
    resp = sign_in(client, planner, password="not the password at all")
    assert resp.status_code == 401
    assert "email or password is wrong" in resp.get_data(as_text=True)
    stranger = dataclasses.replace(planner, email="nobody-here@city.test")
    resp = sign_in(client, stranger)
    assert resp.status_code == 401
    assert "email or password is wrong" in resp.get_data(as_text=True)
    assert client.get("/planner/whoami").json["role"] is None


def test_repeated_failures_lock_the_account_even_for_the_right_password(app, client, engine,
                                                                       planner):
    limit = app.config["SETTINGS"].login_max_failures
    for _ in range(limit):
        assert sign_in(client, planner, password="guess " * 3).status_code == 401
    resp = sign_in(client, planner)
    assert resp.status_code == 401
    assert "locked" in resp.get_data(as_text=True)
    with engine.connect() as conn:
        events, _ = audit.list_events(conn, action="user.locked_out", target_type="user",
                                      target_id=str(planner.id))
    assert len(events) == 1
    # An admin (here the CLI's function) lifts it; the right password works again.
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET locked_until = now() - interval '1 second' "
                          "WHERE id = :id"), {"id": planner.id})
    assert sign_in(client, planner).status_code == 303


def test_totp_when_enabled_needs_a_fresh_code(client, engine):
    person = make_person(engine, "grant_writer", totp=True)
    assert person.totp_secret
    no_code = sign_in(client, person)
    assert no_code.status_code == 401 and "6-digit code" in no_code.get_data(as_text=True)
    assert sign_in(client, person, code="000000").status_code == 401
    code = pyotp.TOTP(person.totp_secret).now()
    assert sign_in(client, person, code=code).status_code == 303
    assert client.get("/planner/whoami").json["role"] == "grant_writer"
    # The same code cannot be used twice (someone who saw it over a shoulder).
    other = client.application.test_client()
    replay = sign_in(other, person, code=code)
    assert replay.status_code == 401 and "used already" in replay.get_data(as_text=True)


def _session_cookie(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie")
               if c.startswith("civicpulse_session=")]
    assert cookies, resp.headers
    return cookies[-1]


def test_session_cookie_is_httponly_samesite_and_secure_outside_dev(client, planner, settings):
    cookie = _session_cookie(sign_in(client, planner))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # test and dev run over plain http
    production = create_app({"TESTING": True}, settings=dataclasses.replace(
        settings, env="production", public_base_url="https://311.city.test"))
    try:
        resp = production.test_client().get("/login", base_url="https://localhost")
        prod_cookie = _session_cookie(resp)
        assert "Secure" in prod_cookie and "HttpOnly" in prod_cookie
    finally:
        production.extensions["civicpulse.engine"].dispose()


def test_cross_site_writes_without_the_token_are_refused(client, planner):
    assert sign_in(client, planner).status_code == 303
    body = {"services": ["pothole"]}
    # A form another site makes the browser post carries the cookie, not the token.
    forged = client.post("/api/v1/hotspot-runs", data={"services": "pothole"},
                         headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    no_token = client.post("/api/v1/hotspot-runs", json=body)
    assert no_token.status_code == 403 and "csrf_token" in no_token.json["detail"]
    token = csrf_token(client, "/staff/")
    other_origin = client.post("/api/v1/hotspot-runs", json=body,
                               headers={"X-CSRFToken": token, "Origin": "https://evil.example"})
    assert other_origin.status_code == 403
    ok = client.post("/api/v1/hotspot-runs", json=body,
                     headers={"X-CSRFToken": token, "Origin": "http://localhost"})
    assert ok.status_code == 202, ok.json
    # Sign-out is a write too: without the token the session survives.
    assert client.post("/logout").status_code == 403
    assert client.get("/planner/whoami").json["role"] == "planner"


def test_bearer_keys_need_no_csrf_token(client, api_keys):
    resp = client.post("/api/v1/hotspot-runs", json={"services": ["pothole"]},
                       headers=api_keys.headers("planner"))
    assert resp.status_code == 202


def test_the_audit_trail_names_the_person(client, engine, planner):
    sign_in(client, planner)
    token = csrf_token(client, "/staff/")
    resp = client.post("/api/v1/hotspot-runs", json={"services": ["flooding"]},
                       headers={"X-CSRFToken": token})
    assert resp.status_code == 202
    with engine.connect() as conn:
        events, _ = audit.list_events(conn, action="hotspot_run.requested",
                                      target_id=str(resp.json["id"]))
    assert events[0]["actor_user_id"] == planner.id
    assert events[0]["actor"] == planner.email and events[0]["actor_key_id"] is None


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, engine, planner):
    cookie = _session_cookie(sign_in(client, planner)).split(";")[0].split("=", 1)[1]
    assert client.get("/staff/").status_code == 200
    resp = client.post("/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    assert resp.status_code == 200 and "You are signed out" in resp.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302
    # Someone who kept the cookie from before cannot use it: the row is gone.
    thief = app.test_client()
    thief.set_cookie("civicpulse_session", cookie)
    assert thief.get("/staff/").status_code == 302
    assert thief.get("/planner/whoami").json["role"] is None


def test_disabling_a_person_ends_their_session_at_once(client, engine, planner):
    from geo.accounts import users

    sign_in(client, planner)
    assert client.get("/staff/").status_code == 200
    with engine.begin() as conn:
        assert users.set_disabled(conn, planner.id, True)
    assert client.get("/staff/").status_code == 302
    assert "disabled" in sign_in(client, planner).get_data(as_text=True)


def test_idle_sessions_end(client, engine, planner, app):
    sign_in(client, planner)
    idle = app.config["SETTINGS"].session_idle_minutes
    with engine.begin() as conn:
        conn.execute(text("UPDATE staff_sessions SET last_seen_at = now() - make_interval("
                          "mins => :m + 1) WHERE user_id = :id"), {"m": idle, "id": planner.id})
    assert client.get("/staff/").status_code == 302


def test_other_sites_cannot_send_the_browser_elsewhere_after_sign_in(client, planner):
    resp = sign_in(client, planner, next_path="//evil.example/phish")
    assert resp.headers["Location"] == "/planner/"  # a planner's home: the map


def test_passwords_are_argon2id_and_never_stored_plain(engine, planner):
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE id = :id"),
                              {"id": planner.id}).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
