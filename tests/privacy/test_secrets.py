"""Secrets never reach logs, errors or reports in any form (issue 18, item 4): raw,
URL-encoded, or base64 of the basic-auth pair a vendor may echo back."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from pipelines.extract.connector import ExtractionWindow
from pipelines.extract.errors import AuthenticationError, VendorRequestError
from pipelines.extract.zendesk import ZendeskConnector
from pipelines.hooks import post_webhook
from pipelines.privacy.secrets import Scrubber, public_location, secret_forms, url_secret_forms
from pipelines.settings import HttpSettings, Secret, Settings, ZendeskSettings
from tests.privacy.conftest import echo_credentials

TOKEN = "zd-Token/with+odd=chars_0123456789"
EMAIL = "agent@shop.test"
WEBHOOK_TOKEN = "XXXXsecretXXXXwebhookXXXX"


def forms_of_token() -> list[str]:
    pair = f"{EMAIL}/token:{TOKEN}".encode()
    return [
        TOKEN,
        quote(TOKEN, safe=""),
        base64.b64encode(pair).decode(),
        base64.b64encode(TOKEN.encode()).decode(),
    ]


def test_secret_forms_cover_raw_encoded_and_basic_auth():
    forms = secret_forms(TOKEN, basic_auth_users=[f"{EMAIL}/token"])
    for form in forms_of_token():
        assert form in forms
    text = "vendor said: " + " | ".join(forms_of_token()) + " (end)"
    assert Scrubber.of(forms).scrub(text) == "vendor said: *** | *** | *** | *** (end)"


def test_a_webhook_url_is_secret_in_its_path_and_query():
    url = f"https://hooks.chat.test/services/T0AB12CD3/B0XY98ZW7/{WEBHOOK_TOKEN}?key=qu3ry-s3cret"
    scrubber = Scrubber.of(url_secret_forms(url))
    for leak in (url, WEBHOOK_TOKEN, "qu3ry-s3cret", "T0AB12CD3", url.split("?")[0]):
        assert scrubber.scrub(f"failed: {leak}!") == "failed: ***!", leak
    path = scrubber.scrub("failed on /services/T0AB12CD3/B0XY98ZW7")
    assert path == "failed on /services/***/***"
    webhooks = Scrubber.of(
        url_secret_forms("https://discord.test/api/webhooks/12345678/abcdefghijklmnopqrst")
    )
    assert webhooks.scrub("/api/webhooks/12345678/abcdefghijklmnopqrst") == "***"
    assert webhooks.scrub("webhooks 12345678 abcdefghijklmnopqrst") == "webhooks *** ***"
    assert public_location(url) == "https://hooks.chat.test"
    assert scrubber.scrub("https://hooks.chat.test is down") == "https://hooks.chat.test is down"


def test_settings_know_every_secret_they_hold():
    settings = Settings.from_env(
        {
            "ZENDESK_BASE_URL": "https://x.zendesk.test",
            "ZENDESK_EMAIL": EMAIL,
            "ZENDESK_API_TOKEN": TOKEN,
            "MAILCHIMP_BASE_URL": "https://us1.api.mailchimp.test/3.0",
            "MAILCHIMP_API_KEY": "0123456789abcdef-us1",
            "MAILCHIMP_LIST_ID": "list1",
            "JOURNEY_FAILURE_WEBHOOK_URL": f"https://hooks.chat.test/x/{WEBHOOK_TOKEN}",
        }
    )
    assert "Secret(***)" in repr(settings) and WEBHOOK_TOKEN not in repr(settings)
    scrubber = settings.scrubber()
    mailchimp_pair = base64.b64encode(b"journey-warehouse:0123456789abcdef-us1").decode()
    for leak in [*forms_of_token(), mailchimp_pair, WEBHOOK_TOKEN]:
        assert scrubber.scrub(f"<{leak}>") == "<***>", leak


def zendesk_error(server, error: type[Exception]) -> str:
    """The error message of the Zendesk connector's first request to `server`."""
    connector = ZendeskConnector(
        ZendeskSettings(server.url, EMAIL, Secret(TOKEN)), HttpSettings(max_retries=0)
    )
    day = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(error) as caught:
        next(connector.pages(("users",), ExtractionWindow(day, day + timedelta(days=1), False)))
    return str(caught.value)


def test_a_vendor_echoing_the_basic_auth_header_does_not_leak_it(fake_server):
    server = fake_server(echo_credentials(TOKEN))
    message = zendesk_error(server, AuthenticationError)
    assert "Couldn't authenticate you" in message and "***" in message
    for form in forms_of_token():
        assert form not in message, form
    sent = server.received[0]["headers"]["Authorization"]
    assert sent == "Basic " + forms_of_token()[2]  # the header really carried the pair


def test_a_vendor_refusing_with_the_token_in_its_text_does_not_leak_it(fake_server):
    server = fake_server(lambda handler, body: (400, {"message": f"bad token {TOKEN}"}))
    message = zendesk_error(server, VendorRequestError)
    assert TOKEN not in message and "bad token ***" in message


@pytest.mark.parametrize("receiver", ["refusing", "closed"])
def test_a_failing_webhook_is_logged_by_host_only(fake_server, caplog, receiver):
    server = fake_server(lambda handler, body: (500, {"error": f"no such hook {handler.path}"}))
    base = server.url if receiver == "refusing" else "http://127.0.0.1:9"  # discard port
    url = f"{base}/services/T0AB12CD3/B0XY98ZW7/{WEBHOOK_TOKEN}?key=qu3ry-s3cret"
    with caplog.at_level(logging.DEBUG):
        post_webhook(Secret(url), {"text": "run failed"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "failure webhook" in logged and base.split("//")[1].split(":")[0] in logged
    for leak in (WEBHOOK_TOKEN, "qu3ry-s3cret", "T0AB12CD3", "/services/"):
        assert leak not in logged, (leak, logged)
    if receiver == "refusing":
        assert "HTTP 500" in logged and server.received[0]["body"] == '{"text": "run failed"}'
