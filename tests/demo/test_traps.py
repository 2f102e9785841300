"""Each trap of devkit/demo/README.md is present in the generated records, as described."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from devkit.demo import catalog
from tests.demo.helpers import decoded, drop, is_bot, latest, truth, vendor

# One worker builds the shared default-size dataset once (`pytest -n 2 --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("demo-dataset")

ACTION = pl.Struct(
    {"type": pl.String, "url": pl.String, "timestamp": pl.Int64, "eventCategory": pl.String,
     "eventAction": pl.String, "eventName": pl.String}
)  # fmt: skip
VISIT = {
    "idVisit": pl.Int64, "visitorId": pl.String, "userId": pl.String, "browserName": pl.String,
    "actions": pl.Int64, "visitDuration": pl.Int64, "firstActionTimestamp": pl.Int64,
    "lastActionTimestamp": pl.Int64, "referrerType": pl.String, "campaignName": pl.String,
    "actionDetails": pl.List(ACTION),
}  # fmt: skip


def _visits(root: Path) -> pl.DataFrame:
    return decoded(vendor(root, "matomo", "visits").unique(), VISIT)


def _owner(root: Path) -> pl.DataFrame:
    return truth(root, "identities").select(
        "person_key", "identifier_kind", value="identifier_value"
    )


def test_bots_are_about_two_percent_and_humans_never_match_the_rule(dataset: Path) -> None:
    visits = _visits(dataset)
    bots = visits.filter(is_bot())
    share = bots.height / visits.height
    assert 0.015 <= share <= 0.035
    assert bots.filter(pl.col("browserName") == "HeadlessChrome").height > 0
    assert bots.filter(pl.col("browserName") != "HeadlessChrome").height > 0  # fast crawlers
    # Bot devices are bots only, and owned by bot-… keys in the truth.
    bot_devices = set(bots["visitorId"])
    assert bot_devices.isdisjoint(visits.filter(~is_bot())["visitorId"])
    owners = _owner(dataset).filter(pl.col("value").is_in(list(bot_devices)))
    assert owners["person_key"].str.starts_with("bot-").all() and owners.height == len(bot_devices)


def test_shared_device_belongs_to_its_first_user(dataset: Path) -> None:
    logins = _visits(dataset).filter(pl.col("userId").is_not_null())
    shared = (
        logins.group_by("visitorId")
        .agg(
            accounts=pl.col("userId").unique().len(),
            first=pl.col("userId").sort_by("firstActionTimestamp").first(),
        )
        .filter(pl.col("accounts") > 1)
    )
    assert shared.height >= 2
    owners = _owner(dataset)
    device_owner = shared.join(
        owners.filter(pl.col("identifier_kind") == "web_visitor_id"),
        left_on="visitorId",
        right_on="value",
    )
    first_owner = shared.join(
        owners.filter(pl.col("identifier_kind") == "web_user_id"), left_on="first", right_on="value"
    )
    assert device_owner.sort("visitorId")["person_key"].equals(
        first_owner.sort("visitorId")["person_key"]
    )


def test_login_mid_session_starts_a_new_matomo_visit_within_30_minutes(dataset: Path) -> None:
    visits = _visits(dataset).sort("visitorId", "firstActionTimestamp")
    pairs = visits.with_columns(
        previous_user=pl.col("userId").shift(1).over("visitorId"),
        previous_end=pl.col("lastActionTimestamp").shift(1).over("visitorId"),
    ).filter(
        pl.col("userId").is_not_null()
        & pl.col("previous_end").is_not_null()
        & pl.col("previous_user").is_null()
        & (pl.col("firstActionTimestamp") - pl.col("previous_end") < 30 * 60)
        & (pl.col("referrerType") == "direct")
    )
    assert pairs.height >= 50
    # The truth keeps such a pair in one session (§6.5 ignores Matomo's visit boundaries).
    sessions = truth(dataset, "sessions").with_columns(
        start=pl.col("session_started_at").dt.epoch("s"),
        end=pl.col("session_ended_at").dt.epoch("s"),
    )
    joined = pairs.join(sessions, left_on="visitorId", right_on="visitor_id").filter(
        (pl.col("start") <= pl.col("previous_end"))
        & (pl.col("end") >= pl.col("firstActionTimestamp"))
    )
    assert joined.select("idVisit").n_unique() == pairs.height


def test_generic_mailboxes_are_used_by_two_colleagues(dataset: Path) -> None:
    forms = (
        _visits(dataset)
        .select("visitorId", "actionDetails")
        .explode("actionDetails")
        .unnest("actionDetails")
        .filter(pl.col("eventCategory") == "form")
    )
    local = pl.col("eventName").str.strip_chars().str.to_lowercase().str.extract(r"^([^@+]+)")
    generic = forms.filter(local.is_in(["info", "sales", "office"]))
    owners = _owner(dataset)
    by_email = generic.join(
        owners.filter(pl.col("identifier_kind") == "email"), left_on="eventName", right_on="value"
    )
    by_device = generic.join(
        owners.filter(pl.col("identifier_kind") == "web_visitor_id"),
        left_on="visitorId",
        right_on="value",
    )
    mailbox_owner = by_email.select("visitorId", "eventName", mailbox="person_key")
    device_owner = by_device.select("visitorId", "eventName", device="person_key")
    both = mailbox_owner.join(device_owner, on=["visitorId", "eventName"])
    assert both.filter(pl.col("mailbox") != pl.col("device")).height >= 2  # a colleague typed it


def test_one_persons_email_differs_in_case_whitespace_and_plus_tag(dataset: Path) -> None:
    emails = _owner(dataset).filter(pl.col("identifier_kind") == "email")
    padded = emails.filter(pl.col("value") != pl.col("value").str.strip_chars())
    mixed = emails.filter(pl.col("value") != pl.col("value").str.to_lowercase())
    assert padded.height >= 10 and mixed.height >= 50
    normal = pl.col("value").str.strip_chars().str.to_lowercase().str.replace(r"\+[^@]*@", "@")
    forms = (
        emails.with_columns(normal=normal)
        .group_by("person_key", "normal")
        .agg(pl.col("value").n_unique())
    )
    assert forms.filter(pl.col("value") > 1).height >= 50
    members = decoded(vendor(dataset, "mailchimp", "members"), {"email_address": pl.String})
    assert members.filter(pl.col("email_address").str.contains("+", literal=True)).height >= 5


def test_duplicate_deliveries(dataset: Path) -> None:
    for source, stream in [
        ("matomo", "visits"),
        ("mailchimp", "email_activity"),
        ("shopify", "orders"),
        ("zendesk", "tickets"),
    ]:
        frame = vendor(dataset, source, stream)
        assert frame.is_duplicated().sum() >= 2, (source, stream)
    assert not vendor(dataset, "shopify", "customers").is_duplicated().any()


def test_late_arriving_updates(dataset: Path) -> None:
    orders = decoded(
        vendor(dataset, "shopify", "orders"),
        {"created_at": pl.String, "financial_status": pl.String},
    )
    refunds = orders.filter(
        pl.col("financial_status").is_in(["refunded", "partially_refunded"])
    ).with_columns(created=pl.col("created_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z"))
    assert refunds.height > 0
    assert ((refunds["updated_at"] - refunds["created"]).dt.total_days() >= 14).all()
    tickets = (
        decoded(vendor(dataset, "zendesk", "tickets"), {"status": pl.String})
        .unique()
        .sort("updated_at")
    )
    history = tickets.group_by("record_id").agg(pl.col("status").str.join(">"))
    assert history.filter(pl.col("status").str.contains("solved>open")).height > 0  # reopened
    members = decoded(vendor(dataset, "mailchimp", "members"), {"status": pl.String}).sort(
        "updated_at"
    )
    statuses = members.group_by("record_id").agg(pl.col("status").str.join(">"))
    assert statuses.filter(pl.col("status").str.ends_with("subscribed>unsubscribed")).height > 0
    assert statuses.filter(pl.col("status").str.ends_with(">cleaned")).height > 0


def test_orders_test_cancelled_refunded_referral_and_recovered(dataset: Path) -> None:
    orders = truth(dataset, "orders")
    real = orders.filter(~pl.col("is_test"))
    assert 0.003 <= orders["is_test"].mean() <= 0.02
    assert 0.01 <= real["is_cancelled"].mean() <= 0.03
    assert 0.03 <= (real["refunded_amount"] > 0).mean() <= 0.07
    per_buyer = real.group_by("person_key").len()
    assert 0.2 <= (per_buyer["len"] > 1).mean() <= 0.4
    last = decoded(
        latest(vendor(dataset, "shopify", "orders")),
        {
            "checkout_token": pl.String,
            "discount_codes": pl.List(pl.Struct({"code": pl.String})),
            "customer": pl.Struct({"id": pl.Int64}),
        },
    )
    codes = last.select(
        "updated_at", "customer", code=pl.col("discount_codes").list.first().struct.field("code")
    )
    referrals = codes.filter(pl.col("code").str.starts_with("REF-"))
    customer_ids = decoded(vendor(dataset, "shopify", "customers"), {"id": pl.Int64})["id"].cast(
        pl.String
    )
    assert referrals.height > 0
    assert referrals["code"].str.strip_prefix("REF-").is_in(customer_ids.implode()).all()
    checkouts = decoded(
        latest(vendor(dataset, "shopify", "checkouts")),
        {"token": pl.String, "completed_at": pl.String},
    )
    recovered = checkouts.filter(pl.col("completed_at").is_not_null())
    assert recovered.height > 0
    assert recovered["token"].is_in(last["checkout_token"].implode()).all()
    assert checkouts.filter(pl.col("completed_at").is_null()).height > recovered.height


def test_email_flows_and_tracked_clicks(dataset: Path) -> None:
    reports = decoded(
        vendor(dataset, "mailchimp", "campaigns"), {"type": pl.String, "campaign_title": pl.String}
    )
    automations = reports.filter(pl.col("type") == "automation")["campaign_title"].unique()
    assert automations.len() == 5
    assert reports.filter(pl.col("type") == "regular").height >= 10
    urls = _visits(dataset).select(url=pl.col("actionDetails").list.first().struct.field("url"))
    clicks = urls.filter(pl.col("url").str.contains("mc_eid=", literal=True))
    assert clicks.height > 100
    pattern = r"utm_source=mailchimp&utm_medium=email&utm_campaign=[^&]+&mc_cid=[0-9a-f]{10}&mc_eid=[0-9a-f]{10}$"
    assert clicks["url"].str.contains(pattern).all()


def test_marketing_spend_matches_the_paid_utm_campaigns(dataset: Path) -> None:
    spend = drop(dataset, "marketing_spend")
    assert set(spend["campaign"]) == set(catalog.PAID_CAMPAIGNS["campaign"])
    visits = _visits(dataset).filter(~is_bot() & (pl.col("referrerType") == "campaign"))
    paid = visits.filter(pl.col("campaignName").is_in(spend["campaign"].implode()))
    assert paid.height > 100
    assert set(spend.select("channel", "source", "medium").unique().iter_rows()) == {
        ("Paid Search", "google", "cpc"), ("Paid Social", "facebook", "paid_social"), ("Display", "gdn", "display")
    }  # fmt: skip


def test_proportions(dataset: Path) -> None:
    """Anonymous-only people ~55–60 % (one device each), leads ~25 %, buyers ~15 %."""
    identities = truth(dataset, "identities").filter(pl.col("person_key").str.starts_with("p-"))
    kinds = identities.group_by("person_key").agg(pl.col("identifier_kind").unique())
    anonymous = kinds.filter(
        pl.col("identifier_kind").list.eval(pl.element() == "web_visitor_id").list.all()
    )
    buyers = kinds.filter(pl.col("identifier_kind").list.contains("shop_customer_id"))
    persons = 2000
    assert 0.55 <= anonymous.height / persons <= 0.60
    assert 0.14 <= buyers.height / persons <= 0.16
    devices = (  # one device each, whatever case its id is sent in
        identities.filter(pl.col("person_key").is_in(anonymous["person_key"].implode()))
        .group_by("person_key")
        .agg(pl.col("identifier_value").str.to_lowercase().n_unique())
    )
    assert (devices["identifier_value"] == 1).all()
