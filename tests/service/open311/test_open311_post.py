"""Open311 POST requests: authorisation, fields, attributes, and errors that write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from .open311_helpers import BASE, error_of, parse_xml


def stored(engine, public_id):
    """The stored report and its contact, by service_request_id."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT r.*, ST_Y(r.geom) AS lat, ST_X(r.geom) AS long, k.role AS key_role, "
                "c.email, c.phone, c.first_name, c.last_name "
                "FROM reports r LEFT JOIN api_keys k ON k.id = r.app_key_id "
                "LEFT JOIN reporter_contacts c ON c.report_id = r.id WHERE r.public_id = :id"
            ),
            {"id": public_id},
        ).one()


def test_post_json_creates_report_through_intake(post, engine, place):
    lat, lng = place()
    resp = post(
        service_code="flooding", lat=lat, long=lng, description="Water over the kerb",
        **{"attribute[depth_cm]": "25", "attribute[blocking]": "blocked"},
        email="resident@example.org", phone="+1 555 0100", first_name="Ana", last_name="Ruiz",
        device_id="install-1", account_id="acct-9", address_string="5th & Main",
        media_url="https://img.example.org/a.jpg",
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    [item] = resp.get_json()
    assert set(item) == {"service_request_id", "service_notice", "account_id"}
    assert item["service_notice"] == "" and item["account_id"] == "acct-9"
    row = stored(engine, item["service_request_id"])
    assert (row.source, row.key_role, row.status) == ("open311", "app", "open")
    assert row.lat == pytest.approx(lat) and row.long == pytest.approx(lng)
    assert row.attributes == {"depth_cm": 25.0, "blocking": "blocked"}
    assert (row.email, row.first_name, row.last_name) == ("resident@example.org", "Ana", "Ruiz")
    assert row.device_hash is not None and b"install-1" not in row.device_hash
    assert row.media_url == "https://img.example.org/a.jpg"
    assert row.address_string == "5th & Main" and row.description == "Water over the kerb"


def test_post_xml_answers_service_requests(post, place):
    lat, lng = place()
    root = parse_xml(post(fmt="xml", service_code="pothole", lat=lat, long=lng))
    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request"
    assert [e.tag for e in request] == ["service_request_id", "service_notice", "account_id"]
    assert request.findtext("service_request_id")


def test_multivalue_attribute(post, engine, place):
    lat, lng = place()
    resp = post(service_code="lead_paint", lat=lat, long=lng,
                **{"attribute[built_before_1978]": "yes",
                   "attribute[surfaces][]": ["windows", "porch"]})
    assert resp.status_code == 200, resp.get_json()
    row = stored(engine, resp.get_json()[0]["service_request_id"])
    assert row.attributes == {"built_before_1978": "yes", "surfaces": ["porch", "windows"]}


def test_repeated_attribute_without_brackets_is_a_list(post, engine, place):
    lat, lng = place()
    resp = post(service_code="lead_paint", lat=lat, long=lng,
                **{"attribute[built_before_1978]": "no", "attribute[surfaces]": ["doors", "porch"]})
    assert resp.status_code == 200, resp.get_json()
    row = stored(engine, resp.get_json()[0]["service_request_id"])
    assert row.attributes["surfaces"] == ["doors", "porch"]


def test_multipart_form_is_accepted(client, api_keys, place):
    lat, lng = place()
    resp = client.post(f"{BASE}/requests.json", content_type="multipart/form-data",
                       data={"api_key": api_keys["app"], "service_code": "pothole",
                             "lat": str(lat), "long": str(lng)})
    assert resp.status_code == 200


def test_address_string_alone_is_a_location(post, engine):
    resp = post(service_code="pothole", address_string="12 Oak Street")
    assert resp.status_code == 200
    row = stored(engine, resp.get_json()[0]["service_request_id"])
    assert row.geom is None and row.address_string == "12 Oak Street"


def test_empty_parameters_count_as_absent(post, engine, place):
    lat, lng = place()
    resp = post(service_code="flooding", lat=lat, long=lng, email="", phone="", device_id="",
                description="", media_url="", address_string="", account_id="",
                jurisdiction_id="",
                **{"attribute[depth_cm]": "3", "attribute[blocking]": ""})
    assert resp.status_code == 200, resp.get_json()
    row = stored(engine, resp.get_json()[0]["service_request_id"])
    assert row.attributes == {"depth_cm": 3.0}
    assert row.email is None and row.device_hash is None and row.media_url is None
    assert resp.get_json()[0]["account_id"] is None


@pytest.mark.parametrize("role", ["app", "planner", "admin"])
def test_roles_that_may_post_with_bearer_header(post, api_keys, place, role):
    lat, lng = place()
    resp = post(role=None, headers=api_keys.headers(role), service_code="pothole",
                lat=lat, long=lng)
    assert resp.status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("role,extra,fragment", [
    (None, {}, "api_key"),
    (None, {"api_key": "cp_not-a-real-key"}, "api_key"),
    (None, {"headers": {"Authorization": "Bearer cp_wrong"}}, "api_key"),
    (None, {"headers": {"Authorization": "Basic dXNlcjpwdw=="}}, "api_key"),
    ("grant_writer", {}, "role"),
])
def test_post_refused_without_a_posting_key(post, place, count_reports, fmt, role, extra,
                                            fragment):
    lat, lng = place()
    before = count_reports()
    resp = post(fmt=fmt, role=role, service_code="pothole", lat=lat, long=lng, **extra)
    assert resp.status_code == 403
    assert "WWW-Authenticate" not in resp.headers
    code, description = error_of(resp, fmt)
    assert code == 403 and fragment in description
    assert count_reports() == before


LONG = "x" * 4001
BAD_POSTS = [
    # (fields, status, field named in the description)
    ({}, 400, "service_code"),
    ({"service_code": ""}, 400, "service_code"),
    ({"service_code": "nope"}, 404, "service_code"),
    ({"service_code": "s" * 300, "lat": "1", "long": "1"}, 404, "service_code"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "attribute[]": "x"}, 400,
     "attribute[]"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "attribute[a][b]": "x"}, 400,
     "attribute[a][b]"),
    ({"service_code": "flooding", "lat": "1", "long": "1", "attribute[depth_cm]": "1e309"},
     400, "attribute[depth_cm]"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "phone": "call me"}, 400, "phone"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "device_id": "d" * 201}, 400,
     "device_id"),
    ({"service_code": "pothole", "lat": "abc"}, 400, "lat"),
    ({"service_code": "pothole", "lat": "91", "long": "0"}, 400, "lat"),
    ({"service_code": "pothole", "lat": "nan", "long": "0"}, 400, "lat"),
    ({"service_code": "pothole", "lat": "10"}, 400, "long"),
    ({"service_code": "pothole"}, 400, "lat"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "description": LONG}, 400,
     "description"),
    ({"service_code": "flooding", "lat": "1", "long": "1"}, 400, "attribute[depth_cm]"),
    ({"service_code": "flooding", "lat": "1", "long": "1", "attribute[depth_cm]": "deep"}, 400,
     "attribute[depth_cm]"),
    ({"service_code": "flooding", "lat": "1", "long": "1", "attribute[depth_cm]": "3",
      "attribute[blocking]": "maybe"}, 400, "attribute[blocking]"),
    ({"service_code": "lead_paint", "lat": "1", "long": "1",
      "attribute[built_before_1978]": "yes", "attribute[surfaces][]": ["roof"]}, 400,
     "attribute[surfaces]"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "attribute[colour]": "red"}, 400,
     "attribute[colour]"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "media_url": "ftp://x.org/a"}, 400,
     "media_url"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "media_url": "javascript:alert(1)"},
     400, "media_url"),
    ({"service_code": "pothole", "lat": "1", "long": "1",
      "media_url": "https://x.org/" + "a" * 2000}, 400, "media_url"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "email": "not-an-email"}, 400,
     "email"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "account_id": "a" * 201}, 400,
     "account_id"),
    ({"service_code": "pothole", "address_id": "a" * 201}, 400, "address_id"),
    ({"service_code": "pothole", "lat": "1", "long": "1", "description": "a\x00b"}, 400,
     "description"),
]


@pytest.mark.parametrize("fields,status,field", BAD_POSTS)
def test_bad_post_names_the_field_and_writes_nothing(post, count_reports, fields, status, field):
    before = count_reports()
    resp = post(**fields)
    assert resp.status_code == status, resp.get_json()
    code, description = error_of(resp)
    assert code == status
    assert description.startswith(f"{field}:"), description
    assert count_reports() == before


def test_bad_post_error_in_xml(post):
    resp = post(fmt="xml", service_code="pothole", lat="abc", long="1")
    assert resp.status_code == 400
    code, description = error_of(resp, "xml")
    assert code == 400 and description.startswith("lat:")


def test_json_body_is_refused(client, api_keys, count_reports):
    before = count_reports()
    resp = client.post(f"{BASE}/requests.json", json={"service_code": "pothole"},
                       headers=api_keys.headers("app"))
    assert resp.status_code == 400
    assert error_of(resp)[1].startswith("Content-Type:")
    assert count_reports() == before


def test_file_upload_is_refused(client, api_keys):
    import io

    resp = client.post(f"{BASE}/requests.json", content_type="multipart/form-data",
                       data={"api_key": api_keys["app"], "service_code": "pothole",
                             "address_string": "x", "media[]": (io.BytesIO(b"jpg"), "a.jpg")})
    assert resp.status_code == 400
    assert error_of(resp)[1].startswith("media:")
