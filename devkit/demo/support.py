"""Zendesk: end users and agents, tickets (pre-sales and after-sales, some reopened) with their
status history and metric sets, and CSAT ratings. Times are unix seconds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.population import BUYER, CONTACT, LEAD
from devkit.demo.util import (
    DAY,
    HOUR,
    MINUTE,
    Period,
    Streams,
    chance,
    lognormal_seconds,
    lookup,
    pick,
)

USER_ID_BASE, METRIC_SET_ID_BASE, RATING_ID_BASE, TICKET_ID_BASE = (
    381_000_000_000,
    36_000_000_000,
    39_000_000_000,
    1001,
)
CHANNELS = ["web", "email", "chat"]
# Ticket version kinds, in lifecycle order.
CREATED, REPLIED, SOLVED, REOPENED, RESOLVED, RATED, CLOSED = range(7)


@dataclass(frozen=True)
class Support:
    users: pl.DataFrame  # one row per user version (end users and agents)
    tickets: pl.DataFrame  # one row per ticket (lifecycle times)
    ticket_versions: pl.DataFrame  # one row per ticket version
    ratings: pl.DataFrame  # one row per satisfaction rating


def build_support(
    streams: Streams, persons: pl.DataFrame, order_plan: pl.DataFrame, period: Period
) -> Support:
    rng = streams("support")
    tickets = _plan(rng, persons, order_plan, period)
    tickets = _lifecycle(rng, tickets, period)
    users = _users(rng, persons, tickets, period)
    tickets = tickets.pipe(
        lookup, users.filter(pl.col("version") == 0).select("person", "user_id"), on="person"
    )
    agent_ids = users.filter(pl.col("role") == "agent")["user_id"].to_numpy()
    tickets = tickets.with_columns(
        assignee_id=pl.Series(agent_ids[rng.integers(0, len(agent_ids), tickets.height)])
    )
    ratings = tickets.filter(pl.col("rated_at") >= 0).select(
        "ticket_id",
        "person",
        "user_id",
        "assignee_id",
        "score",
        created_at=pl.col("rated_at"),
        rating_id=RATING_ID_BASE + pl.col("ticket_rank") * 7 + 1,
    )
    comment_pick = rng.integers(0, 3, ratings.height)
    ratings = ratings.with_columns(
        comment=pl.when(pl.col("score") == "good")
        .then(pl.Series(np.array(catalog.CSAT_COMMENTS["good"])[comment_pick]))
        .otherwise(pl.Series(np.array(catalog.CSAT_COMMENTS["bad"])[comment_pick])),
        reason=pl.when(pl.col("score") == "bad")
        .then(pl.lit("Issue took too long to resolve"))
        .otherwise(pl.lit("")),
    )
    return Support(users, tickets, _versions(tickets, period), ratings)


def _plan(rng, persons: pl.DataFrame, order_plan: pl.DataFrame, period: Period) -> pl.DataFrame:
    segment = persons["segment"].to_numpy()
    n = len(segment)
    signup = persons["t_signup"].to_numpy()
    t_first = persons["t_first"].to_numpy()
    t_order1 = persons["t_order1"].to_numpy()
    contact = persons["signup_kind"].to_numpy() == CONTACT
    person = np.arange(n)
    lead_at = signup + (rng.exponential(5.0, n) * DAY).astype(np.int64) + HOUR
    lead = (segment == LEAD) & ~contact & chance(rng, n, 0.10)
    pre_at = t_first + (rng.random(n) * np.maximum(t_order1 - t_first - HOUR, 0)).astype(np.int64)
    pre = (segment == BUYER) & chance(rng, n, 0.10) & (t_order1 - t_first > 2 * HOUR)
    orders = order_plan.filter(pl.Series(chance(rng, order_plan.height, 0.22)))
    repeat = chance(rng, orders.height, 0.2)
    post_person = np.concatenate([orders["person"].to_numpy(), orders["person"].to_numpy()[repeat]])
    post_base = np.concatenate(
        [orders["ordered_at"].to_numpy(), orders["ordered_at"].to_numpy()[repeat]]
    )
    post_at = post_base + (rng.exponential(8.0, len(post_base)) * DAY).astype(np.int64) + 2 * HOUR
    post_at[len(orders) :] += (rng.exponential(20.0, int(repeat.sum())) * DAY).astype(np.int64)
    frames = [
        (
            person[contact],
            signup[contact] + 5,
            False,
            0,
        ),  # the contact form itself becomes a ticket
        (person[lead], lead_at[lead], False, -1),
        (person[pre], pre_at[pre], False, -1),
        (post_person, post_at, True, -1),
    ]
    parts = [
        pl.DataFrame(
            {"person": p, "created_at": at, "is_after_sale": after, "channel": np.full(len(p), ch)}
        )
        for p, at, after, ch in frames
    ]
    tickets = pl.concat(parts).filter(pl.col("created_at") < period.end - HOUR)
    channel = pick(rng, tickets.height, [0.4, 0.45, 0.15])
    tickets = tickets.with_columns(
        channel=pl.when(pl.col("channel") >= 0)
        .then("channel")
        .otherwise(pl.Series(channel))
        .cast(pl.Int8)
    )
    tickets = tickets.sort("created_at", "person").with_columns(ticket_rank=pl.int_range(pl.len()))
    return tickets.with_columns(
        ticket_id=TICKET_ID_BASE + pl.col("ticket_rank"),
        metric_set_id=METRIC_SET_ID_BASE + pl.col("ticket_rank") * 3 + 2,
        channel_name=pl.col("channel").replace_strict(dict(enumerate(CHANNELS))),
    )


def _lifecycle(rng, tickets: pl.DataFrame, period: Period) -> pl.DataFrame:
    n = tickets.height
    created = tickets["created_at"].to_numpy()
    after = tickets["is_after_sale"].to_numpy()
    replied = created + lognormal_seconds(rng, n, 90 * MINUTE, 1.0, 2 * MINUTE, 2 * DAY)
    solved = replied + lognormal_seconds(rng, n, 20 * HOUR, 1.0, 10 * MINUTE, 10 * DAY)
    reopened = solved + rng.integers(1 * DAY, 5 * DAY, n)
    is_reopened = chance(rng, n, 0.08)
    resolved = reopened + lognormal_seconds(rng, n, 6 * HOUR, 1.0, 10 * MINUTE, 3 * DAY)
    final = np.where(is_reopened, resolved, solved)
    rated = final + lognormal_seconds(rng, n, 3 * HOUR, 1.0, 10 * MINUTE, 3 * DAY)
    is_rated = after & chance(rng, n, 0.45) & (rated < period.end)
    good = chance(rng, n, np.where(is_reopened, 0.4, 0.87))
    subjects_pre = np.array(catalog.TICKET_SUBJECTS_PRE)[
        rng.integers(0, len(catalog.TICKET_SUBJECTS_PRE), n)
    ]
    subjects_post = np.array(catalog.TICKET_SUBJECTS_POST)[
        rng.integers(0, len(catalog.TICKET_SUBJECTS_POST), n)
    ]

    def when_before_end(times: np.ndarray, exists: np.ndarray | bool = True) -> pl.Series:
        return pl.Series(np.where(exists & (times < period.end), times, -1))

    return tickets.with_columns(
        replied_at=when_before_end(replied),
        solved_at=when_before_end(solved),
        reopened_at=when_before_end(reopened, is_reopened),
        resolved_at=when_before_end(resolved, is_reopened),
        rated_at=when_before_end(rated, is_rated),
        closed_at=when_before_end(final + 4 * DAY),
        score=pl.Series(np.where(good, "good", "bad")),
        subject=pl.Series(np.where(after, subjects_post, subjects_pre)),
        ticket_type=pl.Series(np.where(after, "problem", "question")),
        priority=pl.Series(np.array(["low", "normal", "high"])[pick(rng, n, [0.2, 0.65, 0.15])]),
    )


def _users(rng, persons: pl.DataFrame, tickets: pl.DataFrame, period: Period) -> pl.DataFrame:
    """End users (created at their first ticket; some get a phone added later) and agents."""
    first = tickets.group_by("person").agg(
        created_at=pl.col("created_at").min() - 2, last_ticket_at=pl.col("created_at").max()
    )
    users = first.join(
        persons.select("person", "first_name", "last_name", "email", "phone"),
        on="person",
        maintain_order="left",
    ).sort("created_at", "person")
    n = users.height
    has_phone = users["phone"].is_not_null().to_numpy()
    later = has_phone & chance(rng, n, 0.5)
    phone_added_at = users["last_ticket_at"].to_numpy() + DAY
    later &= phone_added_at < period.end
    users = users.with_columns(
        user_id=USER_ID_BASE + (len(catalog.AGENTS) + pl.int_range(pl.len())) * 13,
        name=pl.format("{} {}", "first_name", "last_name"),
        email=pl.col("email").str.to_lowercase(),
        role=pl.lit("end-user"),
        phone_later=pl.Series(later),
        phone_added_at=pl.Series(phone_added_at),
    )
    v0 = users.select(
        "person", "user_id", "name", "email", "role", "created_at",
        phone=pl.when("phone_later").then(None).otherwise("phone"), updated_at="created_at", version=pl.lit(0),
    )  # fmt: skip
    v1 = users.filter("phone_later").select(
        "person",
        "user_id",
        "name",
        "email",
        "role",
        "created_at",
        "phone",
        updated_at="phone_added_at",
        version=pl.lit(1),
    )
    agent_created = period.start - 200 * DAY
    agents = pl.DataFrame(
        {
            "person": -1 - np.arange(len(catalog.AGENTS)),
            "user_id": USER_ID_BASE + np.arange(len(catalog.AGENTS)) * 13,
            "name": [name for name, _ in catalog.AGENTS],
            "email": [email for _, email in catalog.AGENTS],
            "role": "agent",
            "created_at": agent_created,
            "phone": pl.Series([None] * len(catalog.AGENTS), dtype=pl.String),
            "updated_at": agent_created,
            "version": 0,
        }
    )
    return pl.concat([agents, v0, v1], how="vertical_relaxed").sort("updated_at", "user_id")


def _versions(tickets: pl.DataFrame, period: Period) -> pl.DataFrame:
    """One row per ticket version: status and rating as of that version."""
    cols = {CREATED: "created_at", REPLIED: "replied_at", SOLVED: "solved_at", REOPENED: "reopened_at",
            RESOLVED: "resolved_at", RATED: "rated_at", CLOSED: "closed_at"}  # fmt: skip
    status = {CREATED: "new", REPLIED: "open", SOLVED: "solved", REOPENED: "open", RESOLVED: "solved",
              RATED: "solved", CLOSED: "closed"}  # fmt: skip
    parts = [
        tickets.select("ticket_id", updated_at=pl.col(col), kind=pl.lit(kind, pl.Int8))
        for kind, col in cols.items()
    ]
    versions = pl.concat(parts).filter(
        (pl.col("updated_at") >= 0) & (pl.col("updated_at") < period.end)
    )
    versions = versions.join(tickets, on="ticket_id", maintain_order="left").with_columns(
        status=pl.col("kind").replace_strict(status, return_dtype=pl.String),
        rating=pl.when((pl.col("rated_at") >= 0) & (pl.col("updated_at") >= pl.col("rated_at")))
        .then("score")
        .when(pl.col("is_after_sale") & (pl.col("kind") >= SOLVED))
        .then(pl.lit("offered"))
        .otherwise(pl.lit("unoffered")),
        reopens=(pl.col("kind") >= REOPENED).cast(pl.Int64),
    )
    return versions.sort("updated_at", "ticket_id", "kind")
