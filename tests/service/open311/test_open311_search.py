"""Open311 GET requests, one request, tokens: fields, filters, paging, status changes."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text

from geo.reports.intake import tracking_token

from .open311_helpers import BASE, error_of, parse_xml, shift

FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
]
W3_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


def sql(engine, statement, **params):
    """Run one statement as staff would (the tests' stand-in for a status update)."""
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def ids(resp):
    """The service_request_ids of a JSON search response, in order."""
    assert resp.status_code == 200, resp.get_json()
    return [r["service_request_id"] for r in resp.get_json()]


def near(lat, lng, radius=500, **extra):
    """Query string for a search around a point."""
    query = {"lat": lat, "long": lng, "radius": radius, **extra}
    return "&".join(f"{k}={v}" for k, v in query.items())


def test_search_json_has_every_field_with_offsets(client, report, place):
    lat, lng = place()
    rid = report(lat, lng, description="Deep pothole", address_string="1 Main St")
    resp = client.get(f"{BASE}/requests.json?{near(lat, lng)}")
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    [item] = resp.get_json()
    assert list(item) == FIELDS
    assert item["service_request_id"] == rid
    assert (item["status"], item["service_code"], item["service_name"]) == (
        "open", "pothole", "Pothole")
    assert (item["lat"], item["long"]) == (pytest.approx(lat), pytest.approx(lng))
    assert item["address"] == "1 Main St" and item["description"] == "Deep pothole"
    assert W3_WITH_OFFSET.match(item["requested_datetime"])
    assert W3_WITH_OFFSET.match(item["updated_datetime"])


def test_search_xml_uses_spec_element_names(client, report, place):
    lat, lng = place()
    rid = report(lat, lng)
    root = parse_xml(client.get(f"{BASE}/requests.xml?{near(lat, lng)}"))
    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request" and [e.tag for e in request] == FIELDS
    assert request.findtext("service_request_id") == rid
    assert W3_WITH_OFFSET.match(request.findtext("requested_datetime"))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_one_request(client, report, place, fmt):
    rid = report(*place())
    resp = client.get(f"{BASE}/requests/{rid}.{fmt}")
    assert resp.status_code == 200
    if fmt == "xml":
        root = parse_xml(resp)
        assert [e.tag for e in root] == ["request"]
        assert root.findtext("request/service_request_id") == rid
    else:
        assert [r["service_request_id"] for r in resp.get_json()] == [rid]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("rid", ["nosuchrequest", "a%00b"])
def test_unknown_request_is_404(client, fmt, rid):
    resp = client.get(f"{BASE}/requests/{rid}.{fmt}")
    assert resp.status_code == 404
    code, description = error_of(resp, fmt)
    assert code == 404 and "service_request_id" in description


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_token_gives_request_id(client, report, place, settings, fmt):
    rid = report(*place())
    token = tracking_token(settings.secret_key, rid)
    resp = client.get(f"{BASE}/tokens/{token}.{fmt}")
    assert resp.status_code == 200
    if fmt == "xml":
        request = parse_xml(resp).find("request")
        assert (request.findtext("service_request_id"), request.findtext("token")) == (rid, token)
    else:
        assert resp.get_json() == [{"service_request_id": rid, "token": token}]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_token_is_404(client, fmt):
    resp = client.get(f"{BASE}/tokens/not-a-token.{fmt}")
    assert resp.status_code == 404
    assert error_of(resp, fmt) == (404, "token: unknown token")


def test_staff_status_change_is_visible(client, engine, report, place):
    rid = report(*place())
    sql(engine, "UPDATE reports SET status = 'closed', status_notes = 'Filled on Tuesday', "
                "updated_at = '2031-05-06T07:08:09+02:00' WHERE public_id = :id", id=rid)
    [item] = client.get(f"{BASE}/requests/{rid}.json").get_json()
    assert (item["status"], item["status_notes"]) == ("closed", "Filled on Tuesday")
    assert item["updated_datetime"] == "2031-05-06T05:08:09+00:00"


def test_duplicate_shows_as_closed_with_notes(client, engine, report, place):
    lat, lng = place()
    first, second = report(lat, lng), report(lat, lng)
    sql(engine, "UPDATE reports SET status = 'duplicate', duplicate_of = "
                "(SELECT id FROM reports WHERE public_id = :first) WHERE public_id = :second",
        first=first, second=second)
    [item] = client.get(f"{BASE}/requests/{second}.json").get_json()
    assert item["status"] == "closed"
    assert item["status_notes"] == f"Duplicate of request {first}"


def test_status_filter(client, engine, report, place):
    lat, lng = place()
    closed, in_progress = report(lat, lng), report(lat, lng)
    sql(engine, "UPDATE reports SET status = 'closed' WHERE public_id = :id", id=closed)
    sql(engine, "UPDATE reports SET status = 'in_progress' WHERE public_id = :id", id=in_progress)
    assert ids(client.get(f"{BASE}/requests.json?{near(lat, lng, status='open')}")) == [in_progress]
    assert ids(client.get(f"{BASE}/requests.json?{near(lat, lng, status='closed')}")) == [closed]
    both = ids(client.get(f"{BASE}/requests.json?{near(lat, lng, status='open,closed')}"))
    assert set(both) == {closed, in_progress}


def test_service_request_id_list_overrides_other_arguments(client, report, place):
    lat, lng = place()
    a, b = report(lat, lng), report(lat, lng)
    query = f"service_request_id={a},{b.upper()}&status=closed&service_code=flooding" \
            "&start_date=2001-01-01T00:00:00Z&page_size=1"
    assert set(ids(client.get(f"{BASE}/requests.json?{query}"))) == {a, b}


def test_service_code_filter(client, report, place):
    lat, lng = place()
    pothole = report(lat, lng)
    flood = report(lat, lng, service_code="flooding", **{"attribute[depth_cm]": "9"})
    assert ids(client.get(f"{BASE}/requests.json?{near(lat, lng, service_code='flooding')}")) \
        == [flood]
    query = near(lat, lng, service_code="pothole,flooding")
    both = ids(client.get(f"{BASE}/requests.json?{query}"))
    assert both == [flood, pothole]  # newest first


def test_pages(client, report, place):
    lat, lng = place()
    made = [report(lat, lng) for _ in range(3)]
    first = ids(client.get(f"{BASE}/requests.json?{near(lat, lng, page_size=2)}"))
    second = ids(client.get(f"{BASE}/requests.json?{near(lat, lng, page_size=2, page=2)}"))
    assert first == made[::-1][:2] and second == made[::-1][2:]


def test_default_window_is_the_last_90_days(client, engine, report, place):
    lat, lng = place()
    recent, old = report(lat, lng), report(lat, lng)
    sql(engine, "UPDATE reports SET requested_at = now() - interval '100 days' "
                "WHERE public_id = :id", id=old)
    assert ids(client.get(f"{BASE}/requests.json?{near(lat, lng)}")) == [recent]
    with engine.connect() as conn:
        when = conn.execute(text("SELECT requested_at FROM reports WHERE public_id = :id"),
                            {"id": old}).scalar()
    start = (when.replace(microsecond=0)).isoformat().replace("+", "%2B")
    assert ids(client.get(f"{BASE}/requests.json?{near(lat, lng, start_date=start)}")) == [old]


def test_updated_after_and_before(client, engine, report, place):
    lat, lng = place()
    early, late = report(lat, lng), report(lat, lng)
    sql(engine, "UPDATE reports SET updated_at = '2031-01-01T00:00:00Z' WHERE public_id = :id",
        id=early)
    sql(engine, "UPDATE reports SET updated_at = '2031-01-03T00:00:00Z' WHERE public_id = :id",
        id=late)
    query = near(lat, lng, updated_after="2031-01-02T00:00:00Z")
    after = ids(client.get(f"{BASE}/requests.json?{query}"))
    assert after == [late]
    # An unescaped '+' arrives as a space; it is read as the offset it was meant to be.
    before = ids(client.get(
        f"{BASE}/requests.json?{near(lat, lng, updated_before='2031-01-02T01:00:00+01:00')}"))
    assert before == [early]


def test_radius_search(client, report, place):
    lat, lng = place()
    here = report(lat, lng)
    far = report(*shift(lat, lng, north_m=2000))
    assert ids(client.get(f"{BASE}/requests.json?{near(lat, lng, radius=1000)}")) == [here]
    both = ids(client.get(f"{BASE}/requests.json?{near(lat, lng, radius=2500)}"))
    assert set(both) == {here, far}


def test_unknown_and_empty_parameters_are_ignored(client, report, place):
    lat, lng = place()
    rid = report(lat, lng)
    query = near(lat, lng, extensions="true", locale="en", status="", service_code="",
                 page="", start_date="")
    assert ids(client.get(f"{BASE}/requests.json?{query}")) == [rid]


@pytest.mark.parametrize("query,field", [
    ("page_size=501", "page_size"),
    ("page_size=0", "page_size"),
    ("page=0", "page"),
    ("page=two", "page"),
    ("start_date=yesterday", "start_date"),
    ("start_date=2020-01-01", "start_date"),
    ("end_date=2020-01-01T00:00:00", "end_date"),
    ("start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z", "end_date"),
    ("start_date=2020-02-01T00:00:00Z&end_date=2020-01-01T00:00:00Z", "end_date"),
    ("updated_after=2020-02-01T00:00:00Z&updated_before=2020-01-01T00:00:00Z", "updated_before"),
    ("updated_after=soon", "updated_after"),
    ("start_date=2020-02-30T00:00:00Z", "start_date"),
    ("start_date=2020-01-01T00:00:00%00Z", "start_date"),
    ("service_code=a%00b", "service_code"),
    ("service_request_id=a%00b", "service_request_id"),
    ("status=pending", "status"),
    ("lat=1&long=1", "radius"),
    ("radius=100", "lat"),
    ("lat=1&radius=100", "long"),
    ("lat=1&long=1&radius=20000", "radius"),
    ("lat=1&long=1&radius=-5", "radius"),
    ("lat=95&long=1&radius=5", "lat"),
    ("lat=1&long=nan&radius=5", "long"),
    ("service_request_id=" + ",".join(str(i) for i in range(501)), "service_request_id"),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_search_arguments_are_400_naming_the_field(client, query, field, fmt):
    resp = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert resp.status_code == 400
    code, description = error_of(resp, fmt)
    assert code == 400 and description.startswith(f"{field}:"), description


@pytest.mark.parametrize("path", ["requests.json", "requests/abc.json"])
def test_invalid_bearer_key_on_reads_is_403(client, path):
    resp = client.get(f"{BASE}/{path}", headers={"Authorization": "Bearer cp_wrong"})
    assert resp.status_code == 403
    assert error_of(resp)[0] == 403


@pytest.mark.parametrize("role", [None, "app", "grant_writer", "planner", "admin"])
def test_search_is_open_to_every_caller(client, api_keys, report, place, role):
    lat, lng = place()
    rid = report(lat, lng)
    resp = client.get(f"{BASE}/requests.json?{near(lat, lng)}", headers=api_keys.headers(role))
    assert ids(resp) == [rid]


def test_media_url_falls_back_to_first_photo(client, engine, report, place):
    rid = report(*place())
    photo = uuid.uuid4()
    sql(engine, "INSERT INTO photos (id, report_id, content_type, width, height, bytes, sha256) "
                "SELECT :photo, id, 'image/jpeg', 1, 1, 1, 'x' FROM reports WHERE public_id = :id",
        photo=photo, id=rid)
    [item] = client.get(f"{BASE}/requests/{rid}.json").get_json()
    assert item["media_url"] == f"http://localhost/api/v1/photos/{photo}"
    own = report(*place(), media_url="https://img.example.org/p.jpg")
    [item] = client.get(f"{BASE}/requests/{own}.json").get_json()
    assert item["media_url"] == "https://img.example.org/p.jpg"


def test_xml_drops_characters_xml_cannot_carry(client, report, place):
    rid = report(*place(), description="bell\x07 and \x1b escape")
    root = parse_xml(client.get(f"{BASE}/requests/{rid}.xml"))
    assert root.findtext("request/description") == "bell and  escape"
