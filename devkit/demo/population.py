"""Who exists: persons, their segment, names, emails, phones, the journey milestones (first visit,
sign-up, orders) and the identity traps they take part in. One row per person, no loops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.util import (
    DAY,
    HOUR,
    MINUTE,
    Period,
    Streams,
    chance,
    daytime_seconds,
    exact_share,
    pick,
)

ANONYMOUS, LEAD, BUYER = 0, 1, 2
NO_SIGNUP, NEWSLETTER, LEAD_FORM, CONTACT = 0, 1, 2, 3


@dataclass(frozen=True)
class Mix:
    """Proportions the generator aims at (shares of persons unless named otherwise)."""

    lead_share: float = 0.26
    buyer_share: float = 0.15
    repeat_buyer_share: float = 0.28  # before repeats that fall after the period are dropped
    buyer_presignup_share: float = 0.40  # buyers who subscribe before their first order
    buyer_checkout_optin_share: float = 0.50  # of the others: opt in at checkout
    second_device_share: float = 0.08  # of leads and buyers
    unlinked_second_device_share: float = 0.03  # of second devices: never logged in or clicked
    # Companies whose owner uses info@/sales@/office@ and whose colleague fills a form with it.
    generic_mailbox_share: float = 0.002
    shared_device_share: float = 0.0015  # pairs of buyers sharing one device
    plus_address_share: float = 0.04  # of leads and buyers: sign up as local+news@domain
    phone_share: float = 0.35  # of leads and buyers


def build_persons(
    streams: Streams, n: int, period: Period, mix: Mix
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Returns (persons, order_plan). order_plan: person, order_seq, ordered_at (one row per order)."""
    if n < 50:
        raise ValueError(
            f"--persons must be at least 50 (got {n}); the traps need a few persons each"
        )
    rng = streams("persons")
    person = np.arange(n)
    segment = np.full(n, ANONYMOUS, dtype=np.int8)
    order = rng.permutation(n)
    n_buyers, n_leads = round(mix.buyer_share * n), round(mix.lead_share * n)
    segment[order[:n_buyers]] = BUYER
    segment[order[n_buyers : n_buyers + n_leads]] = LEAD
    known = segment != ANONYMOUS

    first = rng.integers(0, len(catalog.FIRST_NAMES), n)
    last = rng.integers(0, len(catalog.LAST_NAMES), n)
    is_business = chance(rng, n, 0.25)
    company = rng.integers(0, max(1, n // 25), n)
    freemail = pick(rng, n, catalog.FREEMAIL_DOMAINS)

    generic_owner, generic_colleague, company_of_pair = _generic_pairs(rng, known, mix, n)
    is_business |= generic_owner | generic_colleague
    company = np.where(
        company_of_pair >= 0, n + company_of_pair, company
    )  # pair companies are their own
    generic_local = rng.integers(0, len(catalog.GENERIC_LOCAL_PARTS), n)

    frame = pl.DataFrame(
        {
            "person": person,
            "segment": segment,
            "first_name": np.array(catalog.FIRST_NAMES)[first],
            "last_name": np.array(catalog.LAST_NAMES)[last],
            "is_business": is_business,
            "company": company,
            "freemail": np.array(list(catalog.FREEMAIL_DOMAINS))[freemail],
            "company_word": np.array(catalog.COMPANY_WORDS)[company % len(catalog.COMPANY_WORDS)],
            "company_suffix": np.array(catalog.COMPANY_SUFFIXES)[
                company % len(catalog.COMPANY_SUFFIXES)
            ],
            "generic_local": np.array(catalog.GENERIC_LOCAL_PARTS)[generic_local],
            "is_generic_owner": generic_owner,
            "generic_colleague_of": _partner(generic_colleague, generic_owner, company_of_pair),
            "has_plus_address": known & chance(rng, n, mix.plus_address_share) & ~generic_owner,
            "phone_digits": np.where(
                known & chance(rng, n, mix.phone_share), 15_100_000_000 + person * 7, -1
            ),
            "engagement": rng.beta(2.0, 4.0, n),
        }
    )
    domain = pl.when(pl.col("is_business")).then(
        pl.format("{}{}-{}", "company_word", pl.col("company").cast(pl.String), "company_suffix")
    )
    frame = frame.with_columns(
        person_key=person_key(pl.col("person")),
        domain=domain.otherwise(pl.col("freemail")),
    ).with_columns(
        email=pl.when("is_generic_owner")
        .then(pl.format("{}@{}", "generic_local", "domain"))
        .otherwise(
            pl.format(
                "{}.{}{}@{}",
                pl.col("first_name").str.to_lowercase(),
                pl.col("last_name").str.to_lowercase(),
                pl.col("person").cast(pl.String),
                "domain",
            )
        ),
        phone=pl.when(pl.col("phone_digits") > 0).then(
            pl.format("+49{}", pl.col("phone_digits").cast(pl.String))
        ),
    )
    frame = frame.drop(
        "freemail", "company_word", "company_suffix", "generic_local", "phone_digits"
    )
    milestones, order_plan = _milestones(streams, segment, period, mix)
    frame = pl.concat([frame, milestones], how="horizontal")
    frame = frame.with_columns(_device_traps(streams, frame, mix))
    return frame, order_plan


def _generic_pairs(rng: np.random.Generator, known: np.ndarray, mix: Mix, n: int):
    """Companies whose owner uses a role mailbox (info@…) and whose colleague fills a form with it."""
    pairs = max(2, round(mix.generic_mailbox_share * n))
    chosen = rng.choice(np.flatnonzero(known), size=2 * pairs, replace=False)
    owner = np.zeros(n, dtype=bool)
    colleague = np.zeros(n, dtype=bool)
    owner[chosen[:pairs]] = True
    colleague[chosen[pairs:]] = True
    pair = np.full(n, -1)
    pair[chosen[:pairs]] = np.arange(pairs)
    pair[chosen[pairs:]] = np.arange(pairs)
    return owner, colleague, pair


def _partner(is_second: np.ndarray, is_first: np.ndarray, pair: np.ndarray) -> np.ndarray:
    """For the second member of a pair: the person index of the first; else -1."""
    first_of_pair = np.full(pair.max() + 1, -1)
    first_of_pair[pair[is_first]] = np.flatnonzero(is_first)
    return np.where(is_second, first_of_pair[np.maximum(pair, 0)], -1)


def _milestones(streams: Streams, segment: np.ndarray, period: Period, mix: Mix):
    """First visit, sign-up and order times per person (unix seconds; -1 where none)."""
    rng = streams("milestones")
    n = len(segment)
    span_days = period.days
    lead, buyer = segment == LEAD, segment == BUYER

    # Sign-up: leads always; buyers sometimes before their first order.
    signup_kind = np.full(n, NO_SIGNUP, dtype=np.int8)
    signup_kind[lead] = np.array([NEWSLETTER, LEAD_FORM, CONTACT])[
        pick(rng, int(lead.sum()), [0.65, 0.2, 0.15])
    ]
    presign = buyer & chance(rng, n, mix.buyer_presignup_share)
    signup_kind[presign] = NEWSLETTER
    same_day = chance(rng, n, 0.35)
    signup_gap = np.where(
        same_day,
        rng.integers(10 * MINUTE, 3 * HOUR, n),
        (rng.exponential(6.0, n) * DAY).astype(np.int64) + HOUR,
    )
    signup_gap = np.where(signup_kind != NO_SIGNUP, signup_gap, 0)

    # Orders: first order some days after the first visit (after the sign-up when there is one).
    first_gap = (rng.exponential(16.0, n) * DAY).astype(np.int64) + rng.integers(
        2 * HOUR, 2 * DAY, n
    )
    first_gap = np.where(presign, np.maximum(first_gap, signup_gap + 2 * DAY), first_gap)
    repeats = np.where(
        buyer & chance(rng, n, mix.repeat_buyer_share), 1 + pick(rng, n, [0.6, 0.25, 0.15]), 0
    )
    max_repeats = 3
    repeat_gaps = (rng.exponential(40.0, (n, max_repeats)) * DAY).astype(np.int64) + 5 * DAY
    repeat_gaps = np.where(np.arange(max_repeats)[None, :] < repeats[:, None], repeat_gaps, 0)
    needed = np.where(buyer, first_gap, signup_gap) + repeat_gaps.sum(axis=1)

    room = np.maximum(span_days * DAY - needed - DAY, DAY // 2)
    day0 = (rng.random(n) * room / DAY).astype(np.int64)
    t_first = period.start + day0 * DAY + daytime_seconds(rng, n)
    t_first = np.minimum(t_first, period.end - 6 * HOUR)
    t_signup = np.where(signup_kind != NO_SIGNUP, t_first + signup_gap, -1)
    t_order1 = np.where(buyer, t_first + first_gap, -1)
    # A buyer whose first order would fall after the period orders on the last day instead.
    t_order1 = np.where(
        buyer & (t_order1 >= period.end - HOUR),
        period.end - HOUR - rng.integers(0, 6 * HOUR, n),
        t_order1,
    )
    t_order1 = np.where(buyer, np.maximum(t_order1, t_first + HOUR), -1)
    t_signup = np.where(presign, np.minimum(t_signup, t_order1 - HOUR), t_signup)
    t_signup = np.where(lead, np.minimum(t_signup, period.end - MINUTE), t_signup)

    order_times = np.concatenate(
        [t_order1[:, None], t_order1[:, None] + np.cumsum(repeat_gaps, axis=1)], axis=1
    )
    valid = np.concatenate(
        [buyer[:, None], np.arange(max_repeats)[None, :] < repeats[:, None]], axis=1
    )
    valid &= order_times < period.end - HOUR
    rows, seqs = np.nonzero(valid)
    order_plan = pl.DataFrame(
        {"person": rows, "order_seq": seqs, "ordered_at": order_times[rows, seqs]}
    )
    milestones = pl.DataFrame(
        {"signup_kind": signup_kind, "t_first": t_first, "t_signup": t_signup, "t_order1": t_order1}
    )
    return milestones, order_plan


def _device_traps(streams: Streams, persons: pl.DataFrame, mix: Mix) -> list[pl.Series]:
    """Second devices (rare, almost always linked) and shared devices (a buyer logs in on another's)."""
    rng = streams("device-traps")
    segment = persons["segment"].to_numpy()
    n = len(segment)
    known = segment != ANONYMOUS
    second = exact_share(rng, known, mix.second_device_share)
    unlinked = exact_share(rng, second, mix.unlinked_second_device_share, minimum=1)
    buyers = np.flatnonzero(segment == BUYER)
    pairs = max(2, round(mix.shared_device_share * n))
    chosen = rng.choice(buyers, size=2 * pairs, replace=False)
    guest_of = np.full(n, -1)
    guest_of[chosen[pairs:]] = chosen[:pairs]
    return [
        pl.Series("has_second_device", second),
        pl.Series("is_second_device_unlinked", unlinked),
        pl.Series("shares_device_of", guest_of),
    ]


def person_key(person: pl.Expr) -> pl.Expr:
    """`p-0000042` for person index 42 (zero-padded: key order is index order)."""
    return pl.format("p-{}", person.cast(pl.String).str.zfill(7))


def typed_email(email: pl.Expr, variant: pl.Expr) -> pl.Expr:
    """The email as a person types it: 0 as is, 1 Title-Case, 2 UPPER, 3 leading space,
    4 trailing spaces, 5 Title-Case with a trailing space."""
    return (
        pl.when(variant == 1)
        .then(email.str.to_titlecase())
        .when(variant == 2)
        .then(email.str.to_uppercase())
        .when(variant == 3)
        .then(pl.format(" {}", email))
        .when(variant == 4)
        .then(pl.format("{}  ", email))
        .when(variant == 5)
        .then(pl.format("{} ", email.str.to_titlecase()))
        .otherwise(email)
    )


# Variant weights per place an email is typed (index = variant code of `typed_email`).
WEB_FORM_VARIANTS = [0.80, 0.08, 0.02, 0.04, 0.04, 0.02]
CHECKOUT_VARIANTS = [0.85, 0.12, 0.03, 0, 0, 0]
SURVEY_VARIANTS = [0.85, 0.07, 0, 0.04, 0.04, 0]


def email_variants(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    return pick(rng, n, weights).astype(np.int8)


def plus_address(email: pl.Expr) -> pl.Expr:
    """local@domain → local+news@domain."""
    return email.str.replace("@", "+news@", literal=True)
