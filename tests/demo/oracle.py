"""The identity "oracle": connected components over the record co-occurrence evidence of
contracts §5.2, read back from the generated vendor records and file drops (not from the
generator's internals), with the known traps blocked. It shows what a correct pipeline can reach."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tests.demo.helpers import is_bot, json_decode

GENERIC_LOCAL_PARTS = [
    "info",
    "sales",
    "office",
    "support",
    "contact",
    "hello",
    "team",
    "admin",
    "noreply",
]
ACCOUNT = "account"  # web_user_id and shop_customer_id are one account (rule same_customer_id)


def _read(root: Path, source: str, stream: str) -> pl.DataFrame:
    return pl.read_parquet(root / "vendor" / source / f"{stream}.parquet")


def _decode(frame: pl.DataFrame, dtype: pl.DataType) -> pl.DataFrame:
    return frame.with_columns(r=json_decode(pl.col("record"), dtype)).unnest("r")


def evidence(root: Path) -> pl.DataFrame:
    """One row per identifier observed in a record: record (source, stream, record_id), kind, value, observed_at."""
    rows: list[pl.DataFrame] = []

    def add(
        frame: pl.DataFrame, source: str, stream: str, kind: str, value: pl.Expr, observed: pl.Expr
    ) -> None:
        rows.append(
            frame.select(
                source=pl.lit(source),
                stream=pl.lit(stream),
                record_id="record_id",
                kind=pl.lit(kind),
                value=value.cast(pl.String),
                observed_at=observed.cast(pl.Int64),
            ).filter(pl.col("value").is_not_null() & (pl.col("value").str.strip_chars() != ""))
        )

    action = pl.Struct(
        {"type": pl.String, "url": pl.String, "eventCategory": pl.String, "eventName": pl.String}
    )
    visits = _decode(
        _read(root, "matomo", "visits"),
        pl.Struct(
            {
                "visitorId": pl.String,
                "userId": pl.String,
                "browserName": pl.String,
                "actions": pl.Int64,
                "visitDuration": pl.Int64,
                "firstActionTimestamp": pl.Int64,
                "actionDetails": pl.List(action),
            }
        ),
    )
    visits = visits.filter(~is_bot()).with_columns(observed=pl.col("firstActionTimestamp"))
    add(visits, "matomo", "visits", "web_visitor_id", pl.col("visitorId"), pl.col("observed"))
    add(visits, "matomo", "visits", ACCOUNT, pl.col("userId"), pl.col("observed"))
    details = (
        visits.select("record_id", "observed", "actionDetails")
        .explode("actionDetails")
        .unnest("actionDetails")
    )
    forms = details.filter((pl.col("type") == "event") & (pl.col("eventCategory") == "form"))
    add(forms, "matomo", "visits", "email", pl.col("eventName"), pl.col("observed"))
    add(
        details,
        "matomo",
        "visits",
        "email_subscriber_id",
        pl.col("url").str.extract(r"[?&]mc_eid=([^&#]+)"),
        pl.col("observed"),
    )

    members = _decode(
        _read(root, "mailchimp", "members"),
        pl.Struct({"email_address": pl.String, "unique_email_id": pl.String}),
    )
    epoch = pl.col("updated_at").dt.epoch("s")
    add(members, "mailchimp", "members", "email_subscriber_id", pl.col("unique_email_id"), epoch)
    add(members, "mailchimp", "members", "email", pl.col("email_address"), epoch)
    for stream in ("sent_to", "email_activity", "unsubscribes"):
        report = _decode(_read(root, "mailchimp", stream), pl.Struct({"email_address": pl.String}))
        add(report, "mailchimp", stream, "email", pl.col("email_address"), epoch)

    customer = pl.Struct({"id": pl.Int64, "email": pl.String})
    orders = _decode(
        _read(root, "shopify", "orders"),
        pl.Struct(
            {
                "email": pl.String,
                "contact_email": pl.String,
                "test": pl.Boolean,
                "checkout_token": pl.String,
                "customer": customer,
            }
        ),
    ).filter(~pl.col("test"))
    add(orders, "shopify", "orders", ACCOUNT, pl.col("customer").struct.field("id"), epoch)
    for column in ("email", "contact_email"):
        add(orders, "shopify", "orders", "email", pl.col(column), epoch)
    add(orders, "shopify", "orders", "email", pl.col("customer").struct.field("email"), epoch)
    add(orders, "shopify", "orders", "checkout_token", pl.col("checkout_token"), epoch)
    customers = _decode(
        _read(root, "shopify", "customers"),
        pl.Struct({"id": pl.Int64, "email": pl.String, "phone": pl.String}),
    )
    add(customers, "shopify", "customers", ACCOUNT, pl.col("id"), epoch)
    add(customers, "shopify", "customers", "email", pl.col("email"), epoch)
    add(customers, "shopify", "customers", "phone", pl.col("phone"), epoch)
    checkouts = _decode(
        _read(root, "shopify", "checkouts"),
        pl.Struct({"token": pl.String, "email": pl.String, "customer": customer}),
    )
    add(checkouts, "shopify", "checkouts", "checkout_token", pl.col("token"), epoch)
    add(checkouts, "shopify", "checkouts", "email", pl.col("email"), epoch)
    add(checkouts, "shopify", "checkouts", ACCOUNT, pl.col("customer").struct.field("id"), epoch)
    add(checkouts, "shopify", "checkouts", "email", pl.col("customer").struct.field("email"), epoch)

    tickets = _decode(_read(root, "zendesk", "tickets"), pl.Struct({"requester_id": pl.Int64}))
    add(tickets, "zendesk", "tickets", "support_requester_id", pl.col("requester_id"), epoch)
    users = _decode(
        _read(root, "zendesk", "users"),
        pl.Struct({"id": pl.Int64, "email": pl.String, "phone": pl.String}),
    )
    add(users, "zendesk", "users", "support_requester_id", pl.col("id"), epoch)
    add(users, "zendesk", "users", "email", pl.col("email"), epoch)
    add(users, "zendesk", "users", "phone", pl.col("phone"), epoch)
    ratings = _decode(
        _read(root, "zendesk", "satisfaction_ratings"), pl.Struct({"requester_id": pl.Int64})
    )
    add(
        ratings,
        "zendesk",
        "satisfaction_ratings",
        "support_requester_id",
        pl.col("requester_id"),
        epoch,
    )

    for stream, key in (("nps_responses", "response_id"), ("reviews", "review_id")):
        drop = pl.read_csv(
            sorted((root / "drop" / stream).glob("*.csv")), infer_schema=False
        ).with_columns(record_id=pl.col(key))
        add(drop, "filedrop", stream, "email", pl.col("email"), pl.lit(0))
    return pl.concat(rows)


def node(kind: pl.Expr, value: pl.Expr) -> pl.Expr:
    """The normalised identifier: emails trimmed, lower-cased and without a plus tag; visitor
    ids lower-cased (a device whose id some visits send in upper case is one device)."""
    trimmed = value.str.strip_chars()
    email = trimmed.str.to_lowercase().str.replace(r"\+[^@]*@", "@")
    account = kind.is_in(["web_user_id", "shop_customer_id", ACCOUNT])
    normal_kind = pl.when(account).then(pl.lit(ACCOUNT)).otherwise(kind)
    return pl.format(
        "{}:{}",
        normal_kind,
        pl.when(kind == "email")
        .then(email)
        .when(kind == "web_visitor_id")
        .then(trimmed.str.to_lowercase())
        .otherwise(trimmed),
    )


def clusters(root: Path) -> pl.DataFrame:
    """node → component, after blocking role mailboxes and the extra users of shared devices."""
    ev = evidence(root).with_columns(node=node(pl.col("kind"), pl.col("value")))
    generic = (pl.col("kind") == "email") & pl.col("node").str.extract(r"^email:([^@]+)@").is_in(
        GENERIC_LOCAL_PARTS
    )
    ev = ev.with_columns(is_blocked=generic)
    # A device that several accounts logged in on belongs to the first; later accounts' visits do
    # not link the device.
    logins = (
        ev.filter((pl.col("source") == "matomo") & (pl.col("kind") == ACCOUNT))
        .select("record_id", "node", "observed_at")
        .join(
            ev.filter(pl.col("kind") == "web_visitor_id").select("record_id", device="node"),
            on="record_id",
        )
    )
    first_account = (
        logins.sort("observed_at", "record_id").group_by("device").agg(first=pl.col("node").first())
    )
    foreign = (
        logins.join(first_account, on="device")
        .filter(pl.col("node") != pl.col("first"))
        .select("record_id")
    )
    ev = ev.with_columns(
        is_blocked=pl.col("is_blocked")
        | (
            (pl.col("kind") == "web_visitor_id")
            & pl.col("record_id").is_in(foreign["record_id"].implode())
        )
    )
    nodes = ev.select("node").unique().sort("node").with_columns(index=pl.int_range(pl.len()))
    ev = ev.join(nodes, on="node")
    linked = ev.filter(~pl.col("is_blocked"))
    record_key = pl.format("{}|{}|{}", "source", "stream", "record_id")
    anchors = linked.group_by(record_key.alias("record")).agg(anchor=pl.col("index").min())
    edges = linked.with_columns(record=record_key).join(anchors, on="record")
    n = nodes.height
    graph = coo_matrix(
        (np.ones(edges.height), (edges["anchor"].to_numpy(), edges["index"].to_numpy())),
        shape=(n, n),
    )
    _, labels = connected_components(graph, directed=False)
    return nodes.with_columns(component=pl.Series(labels))


def pairwise(truth: pl.DataFrame, predicted: pl.DataFrame) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering of truth rows (`person_key`, `component`)."""

    def pairs(counts: pl.Series) -> int:
        c = counts.cast(pl.Int64).to_numpy()
        return int((c * (c - 1) // 2).sum())

    joined = truth.join(predicted, on="node", how="left").with_columns(
        component=pl.col("component").fill_null(-1 - pl.int_range(pl.len()))
    )
    both = pairs(joined.group_by("person_key", "component").len()["len"])
    predicted_pairs = pairs(joined.group_by("component").len()["len"])
    true_pairs = pairs(joined.group_by("person_key").len()["len"])
    return both / max(predicted_pairs, 1), both / max(true_pairs, 1)


def oracle_scores(root: Path) -> tuple[float, float]:
    truth = pl.read_parquet(root / "truth" / "identities.parquet").with_columns(
        node=node(pl.col("identifier_kind"), pl.col("identifier_value"))
    )
    return pairwise(truth, clusters(root))
