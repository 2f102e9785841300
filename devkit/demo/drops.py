"""File drops (contracts §4): NPS responses, product reviews and daily marketing spend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.population import SURVEY_VARIANTS, email_variants, typed_email
from devkit.demo.shop import Shop
from devkit.demo.util import (
    DAY,
    HOUR,
    Period,
    Streams,
    chance,
    iso_z,
    lognormal_seconds,
    lookup,
    money,
    pick,
)
from devkit.demo.web import Web


@dataclass(frozen=True)
class Drops:
    nps_responses: pl.DataFrame  # canonical columns + person, responded_at_s
    reviews: pl.DataFrame  # canonical columns + person, reviewed_at_s
    marketing_spend: pl.DataFrame  # canonical columns


def build_drops(
    streams: Streams, persons: pl.DataFrame, shop: Shop, web: Web, period: Period
) -> Drops:
    return Drops(
        _nps(streams("nps"), persons, shop, period),
        _reviews(streams("reviews"), persons, shop, period),
        _spend(streams("spend"), web, period),
    )


def _typed(rng, persons: pl.DataFrame, person: pl.Series) -> pl.Series:
    """The email as the person typed it into the survey or review tool."""
    base = pl.Series("email", persons["email"].to_numpy()[person.to_numpy()])
    variant = pl.Series(email_variants(rng, len(base), SURVEY_VARIANTS))
    return base.to_frame().select(typed_email(pl.col("email"), variant)).to_series()


def _nps(rng, persons: pl.DataFrame, shop: Shop, period: Period) -> pl.DataFrame:
    """Surveyed 30 days after the first order; about a third answer within days."""
    first = shop.orders.filter(pl.col("is_first_order") & ~pl.col("is_test")).sort(
        "ordered_at", "person"
    )
    n = first.height
    at = (
        first["ordered_at"].to_numpy()
        + 30 * DAY
        + lognormal_seconds(rng, n, 20 * HOUR, 1.0, HOUR, 6 * DAY)
    )
    answered = chance(rng, n, 0.35) & (at < period.end)
    score = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0])[
        pick(rng, n, [24, 20, 18, 12, 8, 6, 4, 3, 2, 2, 1])
    ]
    band = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
    comment_index = rng.integers(0, 3, n)
    comments = {b: np.array(c) for b, c in catalog.NPS_COMMENTS.items()}
    comment = np.select(
        [band == b for b in comments], [comments[b][comment_index] for b in comments], default=""
    )
    frame = pl.DataFrame(
        {"person": first["person"], "responded_at_s": at, "score": score, "comment": comment}
    )
    frame = frame.filter(pl.Series(answered)).sort("responded_at_s", "person")
    frame = frame.with_columns(email=_typed(rng, persons, frame["person"]))
    return frame.with_columns(
        response_id=pl.format("nps-{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(7)),
        responded_at=iso_z("responded_at_s"),
    )


def _reviews(rng, persons: pl.DataFrame, shop: Shop, period: Period) -> pl.DataFrame:
    """Some orders get a review one to four weeks later (after the review-request email)."""
    orders = shop.orders.filter(~pl.col("is_test") & (pl.col("cancelled_at") < 0)).sort(
        "ordered_at", "person"
    )
    n = orders.height
    at = orders["ordered_at"].to_numpy() + rng.integers(7 * DAY, 30 * DAY, n)
    reviewed = chance(rng, n, 0.12) & (at < period.end)
    rating = np.array([5, 4, 3, 2, 1])[pick(rng, n, [45, 30, 12, 7, 6])]
    items = shop.line_items.filter(pl.col("line") == 0).select("basket", "product_id")
    frame = pl.DataFrame(
        {
            "person": orders["person"],
            "basket": orders["basket"],
            "reviewed_at_s": at,
            "rating": rating,
        }
    )
    frame = (
        frame.filter(pl.Series(reviewed))
        .pipe(lookup, items, on="basket")
        .sort("reviewed_at_s", "person")
    )
    frame = frame.with_columns(email=_typed(rng, persons, frame["person"]))
    return frame.with_columns(
        review_id=pl.format("rev-{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(7)),
        title=pl.col("rating").replace_strict(catalog.REVIEW_TITLES, return_dtype=pl.String),
        reviewed_at=iso_z("reviewed_at_s"),
    ).drop("basket")


def _spend(rng, web: Web, period: Period) -> pl.DataFrame:
    """Daily spend per active paid campaign: clicks (visits that landed with its UTM) × CPC, noisy."""
    campaigns = catalog.PAID_CAMPAIGNS
    days = pl.DataFrame({"day": np.arange(period.days)})
    grid = days.join(campaigns, how="cross").filter(
        (pl.col("day") >= pl.col("first_day"))
        & (pl.col("day") <= pl.col("last_day").fill_null(10**6))
    )
    clicks = (
        web.visits.filter(
            ~pl.col("is_bot") & pl.col("utm_medium").is_in(["cpc", "paid_social", "display"])
        )
        .with_columns(day=(pl.col("first_action_at") - period.start) // DAY)
        .group_by("day", "utm_campaign")
        .agg(clicks=pl.len())
    )
    grid = grid.join(
        clicks,
        left_on=["day", "campaign"],
        right_on=["day", "utm_campaign"],
        how="left",
        maintain_order="left",
    ).sort("day", "campaign")
    noise = np.exp(0.25 * rng.standard_normal(grid.height))
    cents = (
        grid["clicks"].fill_null(0).to_numpy() * grid["cpc_cents"].to_numpy() * noise + 150 * noise
    ).astype(np.int64)
    channel_names = {
        "paid_search": "Paid Search",
        "paid_social": "Paid Social",
        "display": "Display",
    }
    return grid.select(
        spend_date=(pl.lit(period.first_day) + pl.duration(days=pl.col("day"))).dt.strftime(
            "%Y-%m-%d"
        ),
        channel=pl.col("channel").replace_strict(channel_names),
        source="source",
        medium="medium",
        campaign="campaign",
        spend=money(pl.Series(cents)),
        currency=pl.lit(catalog.CURRENCY),
    )
