"""The sandbox serves the dataset through each vendor's documented shapes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from devkit.sandbox import Fault, SandboxServer
from tests.extract.vendor_fixture import build_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("sandbox") / "dataset")


@pytest.fixture
def server(dataset: Path) -> Iterator[SandboxServer]:
    with SandboxServer(dataset) as running:
        yield running


def matomo(server: SandboxServer, token: str | None = None, **params) -> requests.Response:
    env = server.env()
    query = {
        "module": "API",
        "method": "Live.getLastVisitsDetails",
        "idSite": env["MATOMO_SITE_ID"],
        "period": "range",
        "date": "2026-01-01,2026-01-31",
        "format": "JSON",
        "filter_sort_order": "asc",
        **params,
    }
    return requests.post(
        env["MATOMO_BASE_URL"] + "/index.php",
        params=query,
        data={"token_auth": token or env["MATOMO_TOKEN"]},
        timeout=5,
    )


def mailchimp(server: SandboxServer, path: str, key: str | None = None, **params):
    env = server.env()
    return requests.get(
        env["MAILCHIMP_BASE_URL"] + path,
        params=params,
        auth=("any", key or env["MAILCHIMP_API_KEY"]),
        timeout=5,
    )


def shopify(server: SandboxServer, url: str, token: str | None = None, **params):
    env = server.env()
    if not url.startswith("http"):
        url = f"{env['SHOPIFY_BASE_URL']}/api/{env['SHOPIFY_API_VERSION']}/{url}"
    headers = {"X-Shopify-Access-Token": token or env["SHOPIFY_ACCESS_TOKEN"]}
    return requests.get(url, params=params, headers=headers, timeout=5)


def zendesk(server: SandboxServer, url: str, token: str | None = None, **params):
    env = server.env()
    if not url.startswith("http"):
        url = env["ZENDESK_BASE_URL"] + url
    auth = (f"{env['ZENDESK_EMAIL']}/token", token or env["ZENDESK_API_TOKEN"])
    return requests.get(url, params=params, auth=auth, timeout=5)


def test_binds_localhost_on_a_free_port(server: SandboxServer):
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.url.endswith(":0")


def test_matomo_filters_the_date_range_and_pages_by_offset(server: SandboxServer):
    visits = matomo(server, date="2026-01-03,2026-01-04").json()
    assert [visit["idVisit"] for visit in visits] == [3, 4]
    page = matomo(server, filter_limit=5, filter_offset=5).json()
    assert [visit["idVisit"] for visit in page] == [6, 7, 7, 8, 9]  # visit 7 is served twice
    assert matomo(server, filter_limit=5, filter_offset=40).json() == []


def test_a_sandbox_of_some_sources_serves_those_in_full_and_the_others_empty(
    dataset: Path, server: SandboxServer
):
    """What the 1M-person extraction benchmark uses: only the extracted vendors in memory."""
    with SandboxServer(dataset, sources=("matomo",)) as matomo_only:
        assert matomo(matomo_only).json() == matomo(server).json() != []
        members = mailchimp(matomo_only, f"/lists/{matomo_only.env()['MAILCHIMP_LIST_ID']}/members")
        assert members.json()["total_items"] == 0 and members.json()["members"] == []


def test_matomo_answers_a_wrong_token_and_a_site_without_access_as_matomo_does(
    server: SandboxServer,
):
    response = matomo(server, token="nope")
    assert response.status_code == 200
    assert response.json() == {
        "result": "error",
        "message": "Unable to authenticate with the provided token. It is either invalid or "
        "expired.",
    }
    assert matomo(server, idSite="99").json() == {
        "result": "error",
        "message": "You can't access this resource as it requires 'view' access for the "
        "website id = 99.",
    }
    site = matomo(server, method="SitesManager.getSiteFromId").json()
    assert site["idsite"] == server.env()["MATOMO_SITE_ID"]


def test_the_check_endpoints_of_mailchimp_shopify_and_zendesk(dataset: Path):
    with SandboxServer(dataset, shopify_scopes=("read_orders",), zendesk_role="agent") as server:
        env = server.env()
        audience = mailchimp(server, f"/lists/{env['MAILCHIMP_LIST_ID']}").json()
        assert (audience["id"], audience["stats"]["member_count"]) == (env["MAILCHIMP_LIST_ID"], 12)
        missing = mailchimp(server, "/lists/nolist")
        assert missing.status_code == 404 and missing.json()["title"] == "Resource Not Found"
        scopes = shopify(server, env["SHOPIFY_BASE_URL"] + "/oauth/access_scopes.json").json()
        assert scopes == {"access_scopes": [{"handle": "read_orders"}]}
        customers = shopify(server, env["SHOPIFY_BASE_URL"] + "/api/2024-10/customers.json")
        assert customers.status_code == 403
        assert customers.json() == {
            "errors": "[API] This action requires merchant approval for read_customers scope."
        }
        me = zendesk(server, "/api/v2/users/me.json").json()["user"]
        assert (me["email"], me["role"]) == (env["ZENDESK_EMAIL"], "agent")
        tickets = zendesk(server, "/api/v2/incremental/tickets/cursor.json", start_time=0)
        assert tickets.status_code == 403 and tickets.json()["error"]["title"] == "Forbidden"


def test_mailchimp_members_since_last_changed_and_total_items(server: SandboxServer):
    path = f"/lists/{server.env()['MAILCHIMP_LIST_ID']}/members"
    body = mailchimp(server, path, count=5, offset=0).json()
    assert body["total_items"] == 12 and len(body["members"]) == 5
    recent = mailchimp(server, path, since_last_changed="2026-01-11T10:00:00+00:00").json()
    # strictly after: member 11 changed exactly at the bound
    assert [member["id"] for member in recent["members"]] == ["hash0012", "hash0003"]
    assert mailchimp(server, "/lists/other/members").status_code == 404


def test_mailchimp_reports_per_campaign(server: SandboxServer):
    reports = mailchimp(server, "/reports").json()
    assert [report["id"] for report in reports["reports"]] == ["camp0002", "camp0001"]
    sent = mailchimp(server, "/reports/camp0002/sent-to").json()
    assert sent["total_items"] == 4 and sent["campaign_id"] == "camp0002"
    activity = mailchimp(
        server, "/reports/camp0001/email-activity", since="2026-01-08T10:00:00+00:00"
    )
    assert [item["email_id"] for item in activity.json()["emails"]] == ["hash0004", "hash0005"]
    assert mailchimp(server, "/reports/nope/unsubscribed").status_code == 404


def test_mailchimp_rejects_a_wrong_key_with_a_problem_document(server: SandboxServer):
    response = mailchimp(server, "/reports", key="bad-us1")
    assert response.status_code == 401
    assert set(response.json()) == {"type", "title", "status", "detail", "instance"}


def test_shopify_pages_by_link_header_and_filters_on_the_first_request(server: SandboxServer):
    first = shopify(
        server,
        "orders.json",
        limit=8,
        status="any",
        updated_at_min="2026-01-03T05:00:00-05:00",
        updated_at_max="2026-01-30T00:00:00+00:00",
    )
    assert first.headers["X-Shopify-Shop-Api-Call-Limit"].endswith("/40")
    ids = [order["id"] for order in first.json()["orders"]]
    following = first.links["next"]["url"]
    assert set(requests.utils.urlparse(following).query.split("&")[0:1]) == {"limit=8"}
    second = shopify(server, following)
    ids += [order["id"] for order in second.json()["orders"]]
    third = shopify(server, second.links["next"]["url"])
    ids += [order["id"] for order in third.json()["orders"]]
    assert "next" not in third.links
    # only the latest version of order 1004 is served, at its later updated_at
    assert ids == [1003, *range(1005, 1021), 1004]
    mixed = shopify(server, following, status="any")
    assert mixed.status_code == 400


def test_shopify_rejects_a_wrong_token(server: SandboxServer):
    response = shopify(server, "customers.json", token="shpat_wrong")
    assert response.status_code == 401 and "errors" in response.json()


def test_zendesk_incremental_export_side_loads_metric_sets(server: SandboxServer):
    body = zendesk(
        server,
        "/api/v2/incremental/tickets/cursor.json",
        start_time=int(datetime(2026, 1, 6, tzinfo=UTC).timestamp()),
        include="metric_sets",
        per_page=2,
    ).json()
    assert [ticket["id"] for ticket in body["tickets"]] == [4, 5]
    assert [metric["ticket_id"] for metric in body["metric_sets"]] == [4, 5]
    assert body["end_of_stream"] is False
    rest = zendesk(server, body["after_url"], per_page=10).json()
    assert [ticket["id"] for ticket in rest["tickets"]] == [6, 7, 8, 2]
    assert rest["end_of_stream"] is True


def test_zendesk_serves_a_deleted_ticket_without_its_metric_set(server: SandboxServer):
    ticket = {
        "id": 5,
        "created_at": "2026-01-02T10:00:00Z",
        "updated_at": "2026-02-01T00:00:00Z",
        "status": "deleted",
        "requester_id": 9005,
        "tags": [],
    }
    server.upsert("zendesk", "tickets", ticket, updated_at=datetime(2026, 2, 1, tzinfo=UTC))
    server.set_clock(datetime(2026, 2, 2, tzinfo=UTC))
    body = zendesk(
        server,
        "/api/v2/incremental/tickets/cursor.json",
        start_time=int(datetime(2026, 1, 6, tzinfo=UTC).timestamp()),
        include="metric_sets",
        per_page=100,
    ).json()
    served = {t["id"]: t["status"] for t in body["tickets"]}
    assert served[5] == "deleted" and served[4] == "open"
    assert 5 not in [metric["ticket_id"] for metric in body["metric_sets"]]
    assert 4 in [metric["ticket_id"] for metric in body["metric_sets"]]
    first = zendesk(
        server,
        "/api/v2/incremental/tickets/cursor.json",
        start_time=int(datetime(2026, 1, 6, tzinfo=UTC).timestamp()),
        exclude_deleted="true",
        per_page=1,
    ).json()
    rest = zendesk(server, first["after_url"], per_page=100).json()
    ids = [t["id"] for t in first["tickets"] + rest["tickets"]]
    assert 5 not in ids and 4 in ids and len(ids) == len(served) - 1


def test_zendesk_satisfaction_ratings_cursor_pagination(server: SandboxServer):
    body = zendesk(server, "/api/v2/satisfaction_ratings", start_time=0, **{"page[size]": 3}).json()
    assert len(body["satisfaction_ratings"]) == 3 and body["meta"]["has_more"] is True
    rest = zendesk(server, body["links"]["next"]).json()
    assert [rating["id"] for rating in rest["satisfaction_ratings"]] == [804]
    assert rest["meta"]["has_more"] is False and rest["links"]["next"] is None


def test_zendesk_rejects_wrong_credentials(server: SandboxServer):
    response = zendesk(server, "/api/v2/incremental/users/cursor.json", token="x", start_time=0)
    assert response.status_code == 401 and response.json() == {"error": "Couldn't authenticate you"}


def test_the_clock_decides_which_version_is_served(dataset: Path):
    with SandboxServer(dataset, clock=datetime(2026, 1, 10, tzinfo=UTC)) as server:
        path = f"/lists/{server.env()['MAILCHIMP_LIST_ID']}/members"
        members = {m["id"]: m for m in mailchimp(server, path, count=100).json()["members"]}
        assert len(members) == 9 and members["hash0003"]["status"] == "subscribed"
        server.set_clock(datetime(2026, 1, 31, tzinfo=UTC))
        members = {m["id"]: m for m in mailchimp(server, path, count=100).json()["members"]}
        assert len(members) == 12 and members["hash0003"]["status"] == "unsubscribed"


def test_upsert_adds_a_version_visible_from_its_time(server: SandboxServer):
    record = {
        "id": 9001,
        "updated_at": "2026-02-02T00:00:00Z",
        "created_at": "2026-02-01T00:00:00Z",
    }
    server.upsert("zendesk", "users", record, updated_at=datetime(2026, 2, 2, tzinfo=UTC))
    path = "/api/v2/incremental/users/cursor.json"
    ids = [user["id"] for user in zendesk(server, path, start_time=0).json()["users"]]
    assert 9001 in ids  # user 9001 existed already; its old version is still served
    server.set_clock(datetime(2026, 2, 3, tzinfo=UTC))
    users = zendesk(server, path, start_time=0).json()["users"]
    assert [user for user in users if user["id"] == 9001] == [record]


def test_faults_fire_as_configured(server: SandboxServer):
    server.set_faults(
        [
            Fault("rate_limit", "shopify", "orders", retry_after=2),
            Fault("server_error", "shopify", "orders"),
            Fault("malformed_json", "shopify", "orders"),
        ]
    )
    first = shopify(server, "orders.json")
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert shopify(server, "orders.json").status_code == 500
    malformed = shopify(server, "orders.json")
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.text)
    assert shopify(server, "orders.json").status_code == 200
    assert [entry["fault"] for entry in server.request_log] == [
        "rate_limit",
        "server_error",
        "malformed_json",
        None,
    ]


def test_a_disconnect_fault_drops_the_connection(server: SandboxServer):
    server.set_faults([Fault("disconnect", "zendesk", times=None)])
    with pytest.raises(requests.ConnectionError):
        zendesk(server, "/api/v2/incremental/users/cursor.json", start_time=0)


def test_cli_prints_the_environment_and_serves(dataset: Path):
    process = subprocess.Popen(
        [sys.executable, "-m", "devkit.sandbox", "--dataset", str(dataset), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(12)]
        env = dict(line.split("=", 1) for line in lines)
        assert set(env) >= {"MATOMO_BASE_URL", "MAILCHIMP_API_KEY", "SHOPIFY_ACCESS_TOKEN"}
        response = requests.get(
            env["ZENDESK_BASE_URL"] + "/api/v2/incremental/users/cursor.json",
            params={"start_time": 0},
            auth=(f"{env['ZENDESK_EMAIL']}/token", env["ZENDESK_API_TOKEN"]),
            timeout=5,
        )
        assert response.status_code == 200 and len(response.json()["users"]) == 8
    finally:
        process.terminate()
        process.wait(timeout=10)
