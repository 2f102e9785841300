"""`python -m pipelines check-connections` against the sandbox: ok for good settings, and each
failure kind named exactly — bad credentials, missing scope (or role), wrong site id, wrong
list id, unreachable host, misconfigured, not configured — with a non-zero exit."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devkit.sandbox import SandboxServer
from pipelines.cli import main as cli
from pipelines.extract.connections import check_connections, exit_code
from tests.readme import project_like_folder, readme_command, run_as_printed


def outcomes(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {result.source: (result.outcome, result.message) for result in check_connections(env)}


@pytest.fixture
def server(dataset: Path):
    with SandboxServer(dataset) as running:
        yield running


def test_every_vendor_answers_with_good_settings(server, tmp_path):
    (tmp_path / "drops" / "nps_responses").mkdir(parents=True)
    found = outcomes({**server.env(), "JOURNEY_DROP_DIR": str(tmp_path / "drops")})
    assert {source: outcome for source, (outcome, _) in found.items()} == dict.fromkeys(
        ("matomo", "mailchimp", "shopify", "zendesk", "filedrop"), "ok"
    )
    assert found["matomo"][1].endswith(
        f"site {server.site_id} “Sandbox shop” (https://shop.example.com), view access"
    )
    assert found["mailchimp"][1] == f"audience {server.list_id} “Sandbox newsletter” (12 members)"
    assert found["shopify"][1] == "token with read_all_orders, read_customers, read_orders"
    assert found["zendesk"][1] == "sandbox@example.com (admin)"
    assert found["filedrop"][1].endswith("1 stream folder(s), nps_responses")
    assert exit_code(check_connections({**server.env()})) == 0


@pytest.mark.parametrize(
    ("source", "variable", "vendor_says"),
    [
        ("matomo", "MATOMO_TOKEN", "Unable to authenticate with the provided token"),
        ("mailchimp", "MAILCHIMP_API_KEY", "HTTP 401: API Key Invalid"),
        ("shopify", "SHOPIFY_ACCESS_TOKEN", "HTTP 401: [API] Invalid API key or access token"),
        ("zendesk", "ZENDESK_API_TOKEN", "HTTP 401: Couldn't authenticate you"),
    ],
)
def test_bad_credentials_are_named_with_the_vendor_answer(server, source, variable, vendor_says):
    wrong = "wrong0123456789-us1"
    outcome, message = outcomes({**server.env(), variable: wrong})[source]
    assert outcome == "bad credentials"
    assert vendor_says in message and variable in message
    assert wrong not in message
    others = {name: value for name, value in outcomes({**server.env(), variable: wrong}).items()}
    assert all(
        value[0] == "ok" for name, value in others.items() if name not in (source, "filedrop")
    )


def test_a_shopify_token_without_a_scope_is_a_missing_scope(dataset):
    with SandboxServer(dataset, shopify_scopes=("read_orders",)) as server:
        outcome, message = outcomes(server.env())["shopify"]
    assert outcome == "missing scope"
    assert message.startswith("the token lacks read_customers (customers).")


def test_a_zendesk_agent_is_a_missing_scope(dataset):
    with SandboxServer(dataset, zendesk_role="agent") as server:
        outcome, message = outcomes(server.env())["zendesk"]
    assert outcome == "missing scope"
    assert message.startswith("sandbox@example.com is an agent: Zendesk's incremental exports")


def test_a_site_the_token_cannot_view_is_a_wrong_site_id(server):
    outcome, message = outcomes({**server.env(), "MATOMO_SITE_ID": "99"})["matomo"]
    assert outcome == "wrong site id"
    assert "cannot view site 99" in message and "'view' access for the website id = 99" in message


def test_an_audience_that_does_not_exist_is_a_wrong_list_id(server):
    outcome, message = outcomes({**server.env(), "MAILCHIMP_LIST_ID": "nolist"})["mailchimp"]
    assert outcome == "wrong list id"
    assert message.startswith("no audience nolist in this account (HTTP 404: Resource Not Found")


def test_a_closed_port_is_an_unreachable_host(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # bound, never listening: connections are refused
        found = outcomes({**server.env(), "ZENDESK_BASE_URL": f"http://127.0.0.1:{closed}/zendesk"})
    outcome, message = found["zendesk"]
    assert outcome == "unreachable host"
    assert message.startswith(f"cannot connect to 127.0.0.1:{closed} (connection refused)")


def test_a_base_url_that_is_not_the_api_is_misconfigured(server):
    outcome, message = outcomes({**server.env(), "MATOMO_BASE_URL": server.url + "/nothing"})[
        "matomo"
    ]
    assert outcome == "misconfigured" and "MATOMO_BASE_URL" in message


def test_partly_set_and_unset_sources(server):
    env = server.env()
    del env["MAILCHIMP_LIST_ID"]
    for name in ("ZENDESK_BASE_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"):
        del env[name]
    found = outcomes(env)
    assert found["mailchimp"] == (
        "misconfigured",
        "MAILCHIMP_LIST_ID not set while MAILCHIMP is partly configured; set all of "
        "MAILCHIMP_BASE_URL, MAILCHIMP_API_KEY, MAILCHIMP_LIST_ID or none of them",
    )
    assert found["zendesk"] == (
        "not configured",
        "set ZENDESK_BASE_URL, ZENDESK_EMAIL, ZENDESK_API_TOKEN to pull it",
    )
    assert found["matomo"][0] == "ok"


def test_the_command_prints_one_line_per_source_and_exits_1_on_a_failure(
    server, monkeypatch, capsys
):
    for name, value in {**server.env(), "SHOPIFY_ACCESS_TOKEN": "shpat_wrong"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JOURNEY_DROP_DIR", raising=False)
    assert cli(["check-connections"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:5]] == [
        "matomo", "mailchimp", "shopify", "zendesk", "filedrop"
    ]  # fmt: skip
    assert lines[2].startswith("shopify    bad credentials  Shopify refused SHOPIFY_ACCESS_TOKEN")
    assert lines[-1] == "1 of 4 configured source(s) failed."
    assert "shpat_wrong" not in "\n".join(lines)


def test_the_readme_command_exits_0_when_every_configured_source_answers(server, tmp_path):
    folder = project_like_folder(tmp_path, tmp_path / "warehouse")
    done = run_as_printed(
        readme_command(".venv/bin/python -m pipelines check-connections"),
        folder,
        {**server.env(), "JOURNEY_DROP_DIR": ""},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "All 4 configured source(s) answered."


def test_nothing_configured_exits_1():
    results = check_connections({})
    assert {result.outcome for result in results} == {"not configured"}
    assert exit_code(results) == 1
