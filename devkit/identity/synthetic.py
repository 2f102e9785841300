"""Synthetic identity evidence with ground truth, for tests and benchmarks (not the demo data).

The shape follows the sources: per person a few devices with anonymous and logged-in visits,
form fills and e-mail click-throughs; e-mail list membership and campaign records; orders,
customer records and checkouts for buyers; tickets for some. The traps: e-mail case/padding
variants, plus-addressing and Gmail dots, colleagues sharing a generic mailbox, buyers logging
in on another buyer's device (the device belongs to its first user), junk and test values, and
a few very large clusters (heavy users with many devices). Everything is vectorised.

`generate_evidence(persons, seed)` returns (evidence, truth) frames: evidence as contracts §5.2,
truth as `person_key, identifier_kind, identifier_value` (export form, contracts §6.7).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.identity.contract import EVIDENCE_SCHEMA

START = np.datetime64("2025-01-01T00:00:00", "us")
SECONDS_PER_DAY = 86_400
DOMAINS = ["gmail.com", "example-mail.de", "web.de", "outlook.com", "yahoo.com", "posteo.de"]
JUNK_EMAILS = ["null", "", "test@example.com", "n/a", "undefined"]
EVIDENCE_COLUMNS = list(EVIDENCE_SCHEMA)


def _records(
    person: np.ndarray,
    at: np.ndarray,
    source: str,
    stream: str,
    rule: str,
    identifiers: list[tuple[str, pl.Series | np.ndarray]],
    prefix: str,
) -> pl.DataFrame:
    """Rows of one record type: the first identifier is the anchor. Null values are left out."""
    count = len(person)
    base = pl.DataFrame(
        {
            "source": pl.repeat(source, count, eager=True),
            "stream": pl.repeat(stream, count, eager=True),
            "record_id": pl.Series(np.arange(count)).cast(pl.String),
            "observed_at": pl.Series(START + (at * 1_000_000).astype("timedelta64[us]")).cast(
                pl.Datetime("us")
            ),
            "rule": pl.repeat(rule, count, eager=True),
            "person_key": pl.Series(person).cast(pl.String),
        }
    ).with_columns((pl.lit(prefix) + pl.col("record_id")).alias("record_id"))
    parts = []
    for position, (kind, values) in enumerate(identifiers):
        parts.append(
            base.with_columns(
                identifier_kind=pl.lit(kind),
                identifier_value=_strings(values),
                is_anchor=pl.lit(position == 0),
            )
        )
    rows = pl.concat(parts)
    return rows.filter(pl.col("identifier_value").is_not_null() | pl.col("is_anchor"))


def generate_evidence(
    persons: int, seed: int = 0, first_person: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evidence and ground truth for `persons` synthetic persons (deterministic per seed).

    `first_person` numbers the persons from there, so chunks generated separately (for very
    large benchmarks) have disjoint identifiers and records.
    """
    rng = np.random.default_rng(seed)
    n = persons
    ids = np.arange(n)
    label = first_person + ids  # what identifiers are made of; `ids` index the arrays
    tag = f"{first_person}x" if first_person else ""
    key = pl.Series(label).cast(pl.String)
    is_buyer = rng.random(n) < 0.30
    has_email = is_buyer | (rng.random(n) < 0.45)
    is_subscriber = has_email & (rng.random(n) < 0.6)
    has_support = has_email & (rng.random(n) < 0.12)
    has_phone = is_buyer & (rng.random(n) < 0.3)
    start_day = rng.uniform(0, 330, n) * SECONDS_PER_DAY
    # devices: most people one or two; a few heavy users with many (the large clusters)
    devices = rng.choice([1, 2, 3], size=n, p=[0.7, 0.22, 0.08])
    heavy = rng.random(n) < 0.0005
    devices = np.where(is_buyer, devices, 1)  # only buyers log in, which links their devices
    devices = np.where(heavy & is_buyer, rng.integers(20, 60, n), devices)

    domain = np.array(DOMAINS)[rng.integers(0, len(DOMAINS), n)]
    local = pl.Series(np.where(domain == "gmail.com", "first.last", "user")) + key
    email = local + "@" + pl.Series(domain)
    # generic mailbox trap: pairs of colleagues (p, p+1) where p+1 uses p's info@ address
    generic_owner = has_email & ~is_buyer & (rng.random(n) < 0.003) & (ids + 1 < n)
    generic_owner &= ~np.roll(generic_owner, 1)
    company = pl.Series(["info@company"] * n) + key + ".com"
    email = pl.Series(np.where(generic_owner, company.to_numpy(), email.to_numpy()))
    colleague = np.roll(generic_owner, 1) & has_email
    email = pl.Series(np.where(colleague, np.roll(email.to_numpy(), 1), email.to_numpy()))
    email_of = np.where(has_email, email.to_numpy(), None)
    plus = has_email & ~generic_owner & ~colleague & (rng.random(n) < 0.04)

    visitor_base = np.concatenate([[0], np.cumsum(devices)[:-1]])
    customer = np.where(is_buyer, (100_000 + label).astype(str), None)
    subscriber = np.where(is_subscriber, (pl.Series(["s"] * n) + key).to_numpy(), None)
    requester = np.where(has_support, (900_000 + label).astype(str), None)
    phone = np.where(
        has_phone,
        (pl.Series(["+49 151 "] * n) + pl.Series(1_000_000 + label).cast(pl.String)).to_numpy(),
        None,
    )

    def variant(values: np.ndarray, who: np.ndarray) -> np.ndarray:
        """The address as typed: mostly exact, sometimes mixed case, padded or plus-tagged."""
        roll = rng.random(len(who))
        typed = pl.Series(values, dtype=pl.String)
        upper = typed.str.to_uppercase()
        padded = " " + typed + " "
        tagged = typed.str.replace("@", "+news@", literal=True)
        out = np.where(roll < 0.08, upper.to_numpy(), typed.to_numpy())
        out = np.where((roll >= 0.08) & (roll < 0.14), padded.to_numpy(), out)
        return np.where(plus[who] & (roll > 0.5), tagged.to_numpy(), out)

    frames = []
    # visits: per device 1-6 visits; buyers log in on some
    device_person = np.repeat(ids, devices)
    device_index = np.arange(len(device_person))
    visitor = (
        pl.Series([f"v{tag}"] * len(device_index))
        + pl.Series(device_index).cast(pl.String).str.pad_start(15, "0")
    ).to_numpy()
    # shared device trap: a buyer logs in on the first device of the previous buyer
    buyers = np.flatnonzero(is_buyer)
    sharer = buyers[1:][rng.random(len(buyers) - 1) < 0.002]
    host = buyers[np.searchsorted(buyers, sharer) - 1]
    visits_per_device = rng.integers(1, 7, len(device_person))
    visit_person = np.repeat(device_person, visits_per_device)
    visit_device = np.repeat(device_index, visits_per_device)
    visit_at = start_day[visit_person] + rng.uniform(0, 30, len(visit_person)) * SECONDS_PER_DAY
    first_visit = np.concatenate([[True], visit_device[1:] != visit_device[:-1]])
    logged_in = is_buyer[visit_person] & ((rng.random(len(visit_person)) < 0.4) | first_visit)
    frames.append(
        _records(
            visit_person[~logged_in],
            visit_at[~logged_in],
            "matomo",
            "visits",
            "visit",
            [("web_visitor_id", visitor[visit_device[~logged_in]])],
            "a",
        )
    )
    frames.append(
        _records(
            visit_person[logged_in],
            visit_at[logged_in],
            "matomo",
            "visits",
            "login",
            [
                ("web_user_id", customer[visit_person[logged_in]]),
                ("web_visitor_id", visitor[visit_device[logged_in]]),
            ],
            "l",
        )
    )
    shared_at = start_day[sharer] + 40 * SECONDS_PER_DAY
    frames.append(
        _records(
            sharer,
            np.maximum(shared_at, start_day[host] + 35 * SECONDS_PER_DAY),
            "matomo",
            "visits",
            "login",
            [("web_user_id", customer[sharer]), ("web_visitor_id", visitor[visitor_base[host]])],
            "s",
        )
    )
    # form fills (with junk values sometimes) and e-mail click-throughs on the first device
    fills = np.flatnonzero(has_email & (rng.random(n) < 0.5))
    typed = variant(email_of[fills], fills)
    junk = rng.random(len(fills)) < 0.01
    typed = np.where(
        junk, np.array(JUNK_EMAILS)[rng.integers(0, len(JUNK_EMAILS), len(fills))], typed
    )
    frames.append(
        _records(
            fills,
            start_day[fills] + 2 * SECONDS_PER_DAY,
            "matomo",
            "visits",
            "form_fill",
            [("web_visitor_id", visitor[visitor_base[fills]]), ("email", typed)],
            "f",
        )
    )
    clicks = np.flatnonzero(is_subscriber & (rng.random(n) < 0.4))
    click_device = visitor_base[clicks] + rng.integers(0, 1_000_000, len(clicks)) % devices[clicks]
    frames.append(
        _records(
            clicks,
            start_day[clicks] + 9 * SECONDS_PER_DAY,
            "matomo",
            "visits",
            "email_click_through",
            [
                ("web_visitor_id", visitor[click_device]),
                ("email_subscriber_id", subscriber[clicks]),
            ],
            "c",
        )
    )
    # e-mail tool: members, campaign recipients (anchor only)
    members = np.flatnonzero(is_subscriber)
    frames.append(
        _records(
            members,
            start_day[members] + 3 * SECONDS_PER_DAY,
            "mailchimp",
            "members",
            "email_membership",
            [
                ("email_subscriber_id", subscriber[members]),
                ("email", variant(email_of[members], members)),
            ],
            "m",
        )
    )
    sends = np.repeat(members, rng.integers(1, 4, len(members)))
    frames.append(
        _records(
            sends,
            start_day[sends] + rng.uniform(5, 60, len(sends)) * SECONDS_PER_DAY,
            "mailchimp",
            "sent_to",
            "email_activity",
            [("email", email_of[sends])],
            "t",
        )
    )
    # shop: orders, customers, checkouts (abandoned ones for some non-buyers)
    orders = np.repeat(buyers, rng.choice([1, 2, 3], size=len(buyers), p=[0.6, 0.3, 0.1]))
    order_at = start_day[orders] + rng.uniform(10, 90, len(orders)) * SECONDS_PER_DAY
    token = (
        pl.Series([f"ck{tag}"] * len(orders)) + pl.Series(np.arange(len(orders))).cast(pl.String)
    ).to_numpy()
    frames.append(
        _records(
            orders,
            order_at,
            "shopify",
            "orders",
            "order",
            [
                ("shop_customer_id", customer[orders]),
                ("email", variant(email_of[orders], orders)),
                ("checkout_token", token),
            ],
            "o",
        )
    )
    frames.append(
        _records(
            orders,
            order_at - 600,
            "shopify",
            "checkouts",
            "checkout",
            [
                ("checkout_token", token),
                ("email", email_of[orders]),
                ("shop_customer_id", customer[orders]),
            ],
            "k",
        )
    )
    frames.append(
        _records(
            buyers,
            start_day[buyers] + 10 * SECONDS_PER_DAY,
            "shopify",
            "customers",
            "shop_customer",
            [
                ("shop_customer_id", customer[buyers]),
                ("email", email_of[buyers]),
                ("phone", phone[buyers]),
            ],
            "u",
        )
    )
    abandoned = np.flatnonzero(has_email & ~is_buyer & (rng.random(n) < 0.15))
    frames.append(
        _records(
            abandoned,
            start_day[abandoned] + 4 * SECONDS_PER_DAY,
            "shopify",
            "checkouts",
            "checkout",
            [
                (
                    "checkout_token",
                    (
                        pl.Series([f"ab{tag}"] * len(abandoned))
                        + pl.Series(abandoned).cast(pl.String)
                    ).to_numpy(),
                ),
                ("email", variant(email_of[abandoned], abandoned)),
            ],
            "b",
        )
    )
    # support: tickets
    support = np.flatnonzero(has_support)
    tickets = np.repeat(support, rng.integers(1, 3, len(support)))
    frames.append(
        _records(
            tickets,
            start_day[tickets] + rng.uniform(15, 120, len(tickets)) * SECONDS_PER_DAY,
            "zendesk",
            "tickets",
            "ticket",
            [
                ("support_requester_id", requester[tickets]),
                ("email", variant(email_of[tickets], tickets)),
            ],
            "z",
        )
    )
    evidence = pl.concat([frame.select(*EVIDENCE_COLUMNS, "person_key") for frame in frames])
    if first_person:
        evidence = evidence.with_columns(
            (pl.lit(tag) + pl.col("record_id")).alias("record_id"),
            (pl.col("person_key").cast(pl.Int64) + first_person)
            .cast(pl.String)
            .alias("person_key"),
        )
    # the truth: an identifier belongs to the person who used it first (shared device, mailbox)
    truth = (
        evidence.filter(pl.col("identifier_value").is_not_null())
        .sort("observed_at", "person_key")
        .unique(subset=["identifier_kind", "identifier_value"], keep="first", maintain_order=True)
        .select("person_key", "identifier_kind", "identifier_value")
        .sort("person_key", "identifier_kind", "identifier_value")
    )
    return evidence.drop("person_key"), truth


def _strings(values: pl.Series | np.ndarray) -> pl.Series:
    """A string Series from numpy (object arrays hold None for absent values)."""
    if isinstance(values, pl.Series):
        return values.cast(pl.String)
    if values.dtype == object:
        return pl.Series(values.tolist(), dtype=pl.String)
    return pl.Series(values).cast(pl.String)
