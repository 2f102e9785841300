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
    exact_share,
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
CHANNELS = ["web", "email", "chat", "native_messaging", "voice", "api"]
CHANNEL_WEIGHTS = [0.35, 0.4, 0.1, 0.08, 0.04, 0.03]
EMAIL = 1
# Ticket version kinds, in lifecycle order; then those of the removals and waiting states.
CREATED, REPLIED, SOLVED, REOPENED, RESOLVED, RATED, CLOSED = range(7)
PENDING, HOLD, DELETED, MERGED = range(7, 11)
MERGED_TAG = "closed_by_merge"


@dataclass(frozen=True)
class Support:
    users: pl.DataFrame  # one row per user version (end users and agents)
    tickets: pl.DataFrame  # one row per ticket (lifecycle times)
    ticket_versions: pl.DataFrame  # one row per ticket version
    ratings: pl.DataFrame  # one row per satisfaction rating


TICKET_PLAN = {
    "person": pl.Int64,
    "created_at": pl.Int64,
    "is_after_sale": pl.Boolean,
    "channel": pl.Int64,
}


def build_support(
    streams: Streams, persons: pl.DataFrame, order_plan: pl.DataFrame, period: Period
) -> Support:
    rng = streams("support")
    tickets = _plan(rng, persons, order_plan, period)
    tickets = _lifecycle(rng, tickets, period)
    tickets = _removals_and_waits(streams("support_removals"), tickets, period)
    users = _users(rng, persons, tickets.filter(~pl.col("is_merged")), period)
    tickets = tickets.pipe(
        lookup, users.filter(pl.col("version") == 0).select("person", "user_id"), on="person"
    )
    agent_ids = users.filter(pl.col("role") == "agent")["user_id"].to_numpy()
    tickets = tickets.with_columns(
        assignee_id=pl.Series(agent_ids[rng.integers(0, len(agent_ids), tickets.height)])
    )
    # A ticket deleted before its survey was answered never gets a rating.
    rated = (pl.col("rated_at") >= 0) & (
        (pl.col("deleted_at") < 0) | (pl.col("rated_at") < pl.col("deleted_at"))
    )
    ratings = tickets.filter(rated).select(
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
        reason=pl.when(pl.col("score") == "bad").then(pl.lit("Issue took too long to resolve")),
    ).with_columns(comment=pl.col("comment").replace("", None))  # no comment: null
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
            {"person": p, "created_at": at, "is_after_sale": after, "channel": np.full(len(p), ch)},
            # an empty part (no contact form at this size) would otherwise be all Null columns
            schema=TICKET_PLAN,
        )
        for p, at, after, ch in frames
    ]
    tickets = pl.concat(parts).filter(pl.col("created_at") < period.end - HOUR)
    channel = pick(rng, tickets.height, CHANNEL_WEIGHTS)
    tickets = tickets.with_columns(
        channel=pl.when(pl.col("channel") >= 0)
        .then("channel")
        .otherwise(pl.Series(channel))
        .cast(pl.Int8)
    )
    return _ranked(tickets.with_columns(is_merged=pl.lit(False)))


def _ranked(tickets: pl.DataFrame) -> pl.DataFrame:
    """Ticket and metric-set ids in creation order (Zendesk numbers tickets as they come)."""
    tickets = tickets.sort("created_at", "person", "is_merged").with_columns(
        ticket_rank=pl.int_range(pl.len())
    )
    return tickets.with_columns(
        ticket_id=TICKET_ID_BASE + pl.col("ticket_rank"),
        metric_set_id=METRIC_SET_ID_BASE + pl.col("ticket_rank") * 3 + 2,
        channel_name=pl.col("channel").replace_strict(
            dict(enumerate(CHANNELS)), return_dtype=pl.String
        ),
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


def _removals_and_waits(rng, tickets: pl.DataFrame, period: Period) -> pl.DataFrame:
    """What Zendesk accounts hold besides the plain lifecycle (contracts §1.4): duplicate
    tickets an agent merges into the original (closed, tag `closed_by_merge`), tickets deleted
    days after they came in (status `deleted`; no version, metric set or rating after that),
    tickets waiting on the customer (`pending`) or a third party (`hold`) before they are
    solved, and the fields Zendesk leaves null (no type, no priority)."""
    n = tickets.height
    created = tickets["created_at"].to_numpy()
    duplicate_at = created + rng.integers(10 * MINUTE, 6 * HOUR, n)
    merged_at = duplicate_at + rng.integers(5 * MINUTE, 3 * HOUR, n)
    duplicated = (
        (tickets["channel"].to_numpy() == EMAIL)
        & chance(rng, n, 0.06)
        & (merged_at < period.end - HOUR)
    )
    duplicates = tickets.filter(pl.Series(duplicated)).with_columns(
        created_at=pl.Series(duplicate_at[duplicated]),
        closed_at=pl.Series(merged_at[duplicated]),
        subject=pl.format("Re: {}", "subject"),
        is_merged=pl.lit(True),
        **{col: pl.lit(-1, pl.Int64) for col in
           ("replied_at", "solved_at", "reopened_at", "resolved_at", "rated_at")},
    )  # fmt: skip
    deleted_at = created + rng.integers(2 * HOUR, 20 * DAY, n)
    deleted = exact_share(rng, deleted_at < period.end - HOUR, 0.015, minimum=2)
    replied, solved = tickets["replied_at"].to_numpy(), tickets["solved_at"].to_numpy()
    waiting = np.where((replied >= 0) & (solved >= 0), replied + (solved - replied) // 2, -1)
    wait = pick(rng, n, [0.71, 0.25, 0.04])  # none, pending, hold
    kept = tickets.with_columns(
        deleted_at=pl.Series(np.where(deleted, deleted_at, -1)),
        pending_at=pl.Series(np.where((wait == 1) & (waiting >= 0), waiting, -1)),
        hold_at=pl.Series(np.where((wait == 2) & (waiting >= 0), waiting, -1)),
    )
    duplicates = duplicates.with_columns(
        deleted_at=pl.lit(-1, pl.Int64),
        pending_at=pl.lit(-1, pl.Int64),
        hold_at=pl.lit(-1, pl.Int64),
    )
    merged = pl.concat([kept, duplicates.select(kept.columns)])
    m = merged.height
    return _ranked(merged).with_columns(
        ticket_type=pl.when(pl.Series(chance(rng, m, 0.2))).then(None).otherwise("ticket_type"),
        priority=pl.when(pl.Series(chance(rng, m, 0.25))).then(None).otherwise("priority"),
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
            RESOLVED: "resolved_at", RATED: "rated_at", CLOSED: "closed_at", PENDING: "pending_at",
            HOLD: "hold_at", DELETED: "deleted_at"}  # fmt: skip
    status = {CREATED: "new", REPLIED: "open", SOLVED: "solved", REOPENED: "open", RESOLVED: "solved",
              RATED: "solved", CLOSED: "closed", PENDING: "pending", HOLD: "hold",
              DELETED: "deleted", MERGED: "closed"}  # fmt: skip
    parts = [
        tickets.select("ticket_id", updated_at=pl.col(col), kind=pl.lit(kind, pl.Int8))
        for kind, col in cols.items()
    ]
    versions = pl.concat(parts).join(
        tickets.select("ticket_id", "is_merged", "deleted_at"),
        on="ticket_id",
        maintain_order="left",
    )
    # A merged-away ticket is created and closed by the merge; a deleted one changes no more.
    versions = (
        versions.with_columns(
            kind=pl.when(pl.col("is_merged") & (pl.col("kind") == CLOSED))
            .then(pl.lit(MERGED, pl.Int8))
            .otherwise("kind")
        )
        .filter(
            (pl.col("updated_at") >= 0)
            & (pl.col("updated_at") < period.end)
            & (
                (pl.col("deleted_at") < 0)
                | (pl.col("updated_at") < pl.col("deleted_at"))
                | (pl.col("kind") == DELETED)
            )
        )
        .drop("is_merged", "deleted_at")
    )
    versions = versions.join(tickets, on="ticket_id", maintain_order="left").with_columns(
        status=pl.col("kind").replace_strict(status, return_dtype=pl.String),
        rating=pl.when((pl.col("rated_at") >= 0) & (pl.col("updated_at") >= pl.col("rated_at")))
        .then("score")
        .when(
            pl.col("is_after_sale")
            & (pl.col("solved_at") >= 0)
            & (pl.col("updated_at") >= pl.col("solved_at"))
        )
        .then(pl.lit("offered"))
        .otherwise(pl.lit("unoffered")),
        reopens=(
            (pl.col("reopened_at") >= 0) & (pl.col("updated_at") >= pl.col("reopened_at"))
        ).cast(pl.Int64),
    )
    return versions.sort("updated_at", "ticket_id", "kind")
