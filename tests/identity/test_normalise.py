from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.identity.normalise import guard_identifiers, normalise_identifiers
from pipelines.identity.rules import RulesError, load_rules, rules_from_mapping
from tests.identity.conftest import rules_with


def _normalised(rules, pairs):
    frame = pl.DataFrame(pairs, schema=["identifier_kind", "identifier_value"], orient="row")
    return guard_identifiers(normalise_identifiers(frame, rules), rules)


def test_normalisation_and_guards_per_kind(rules):
    result = _normalised(
        rules,
        [
            ("email", "  Ann.Lee+News@GMail.com "),
            ("email", "ann.lee@googlemail.com"),
            ("email", "Bob+x@Web.de"),
            ("email", "INFO@acme.com"),
            ("email", "no-reply@shop.example.org"),
            ("email", "test@somewhere.com"),
            ("email", "someone@example.com"),
            ("email", "not-an-address"),
            ("email", "NULL"),
            ("email", None),
            ("web_visitor_id", " 5F2A9C0D1E3B4A67 "),
            ("web_visitor_id", "0000000000000000"),
            ("web_user_id", " 42 "),
            ("shop_customer_id", "undefined"),
            ("checkout_token", "AbC123"),
            ("phone", "+49 (151) 123-4567"),
            ("phone", "12"),
        ],
    )
    expected = pl.DataFrame(
        {
            "identifier_kind": [
                "email", "email", "email", "email", "email", "email", "email", "email", "email", "email",
                "web_visitor_id", "web_visitor_id", "web_user_id", "shop_customer_id", "checkout_token",
                "phone", "phone",
            ],
            "identifier_value": [
                "annlee@gmail.com", "annlee@gmail.com", "bob@web.de", "info@acme.com",
                "no-reply@shop.example.org", "test@somewhere.com", "someone@example.com",
                "not-an-address", "null", None, "5f2a9c0d1e3b4a67", "0000000000000000", "42",
                "undefined", "abc123", "491511234567", "12",
            ],
            "block_reason": [
                None, None, None, "generic_mailbox", "generic_mailbox", "test_address", "test_address",
                "invalid_value", "junk_value", "junk_value", None, "junk_value", None, "junk_value",
                None, None, "invalid_value",
            ],
        }
    )  # fmt: skip
    assert_frame_equal(result, expected)


def test_plus_tag_and_dot_rules_are_configurable():
    rules = rules_with(
        email={"strip_plus_tag": ["web.de"], "dot_insensitive_domains": [], "domain_aliases": {}}
    )
    result = _normalised(
        rules, [("email", "a.b+x@gmail.com"), ("email", "a+x@web.de"), ("email", "a+x@posteo.de")]
    )
    assert result["identifier_value"].to_list() == ["a.b+x@gmail.com", "a@web.de", "a+x@posteo.de"]
    none = rules_with(email={"strip_plus_tag": "none"})
    assert _normalised(none, [("email", "a+x@web.de")])["identifier_value"].to_list() == [
        "a+x@web.de"
    ]


def test_default_rules_file_loads():
    rules = load_rules()
    assert "email" in rules.kinds and rules.account_kinds == ("shop_customer_id", "web_user_id")
    assert {
        "info",
        "noreply",
        "no-reply",
        "sales",
        "office",
        "support",
        "contact",
        "admin",
        "hello",
    } <= set(rules.generic_mailboxes)
    assert set(rules.anonymous_kinds) == {"web_visitor_id", "checkout_token"}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"kinds": {"fax": {}}}, "kinds.fax"),
        ({"kinds": {"email": {"normalise": ["shout"]}}}, "unknown steps"),
        (
            {"kinds": {"email": {}}, "limits": {"per_identifier": [{"kind": "email"}]}},
            "per_identifier[0]",
        ),
        ({"kinds": {"email": {"valid_pattern": "("}}}, "invalid regular expression"),
        (
            {"kinds": {"email": {}}, "limits": {"one_account_per_person": ["phone"]}},
            "one_account_per_person",
        ),
    ],
)
def test_rules_errors_name_the_key(mapping, message):
    with pytest.raises(RulesError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rules_from_mapping(mapping)


def test_the_per_kind_path_equals_the_public_functions(rules):
    from pipelines.identity.normalise import normalise_and_guard

    frame = pl.DataFrame(
        {
            "identifier_kind": ["phone", "email", "web_user_id", "email", "fax", "email", "email"],
            "identifier_value": [
                "+49 (0) 151",
                " A.B+C@GoogleMail.com ",
                "a@b",
                "a+b\nc+d@x.com",
                "z",
                None,
                "info@x@y",
            ],
        }
    )
    assert_frame_equal(
        normalise_and_guard(frame, rules),
        guard_identifiers(normalise_identifiers(frame, rules), rules),
    )


def test_a_repeated_degree_limit_is_an_error():
    limit = {"kind": "email", "linked_kind": "phone", "max": 1}
    mapping = {"kinds": {"email": {}, "phone": {}}, "limits": {"per_identifier": [limit, limit]}}
    with pytest.raises(RulesError, match=r"per_identifier\[1\]` repeats the limit email -> phone"):
        rules_from_mapping(mapping)


def test_junk_rules_are_per_kind(rules):
    """Issue 15, cause 7: a real shop customer 1111111 is not junk, a device 0000… still is."""
    result = _normalised(
        rules,
        [
            ("shop_customer_id", "1111111"),
            ("web_user_id", "1111111"),
            ("support_requester_id", "22222222"),
            ("shop_customer_id", "0"),
            ("shop_customer_id", "000"),
            ("shop_customer_id", "-1"),
            ("shop_customer_id", "null"),
            ("web_visitor_id", "0000000000000000"),
            ("checkout_token", "xxxx"),
            ("email_subscriber_id", "aaaaaaaaaa"),
            ("phone", "1111111"),
            ("phone", "+1234567"),
            ("phone", "+49 151 2345678"),
        ],
    )
    assert list(zip(result["identifier_value"], result["block_reason"], strict=True)) == [
        ("1111111", None),
        ("1111111", None),
        ("22222222", None),
        ("0", "junk_value"),
        ("000", "blocked_pattern"),
        ("-1", "blocked_pattern"),
        ("null", "junk_value"),
        ("0000000000000000", "junk_value"),
        ("xxxx", "junk_value"),
        ("aaaaaaaaaa", "junk_value"),
        ("1111111", "junk_value"),
        ("1234567", "blocked_pattern"),
        ("491512345678", None),
    ]


def test_a_kinds_junk_rule_replaces_only_the_keys_it_names():
    rules = rules_with(
        blocklist={
            "default": {"values": ["n/a"], "repeated_character_min_length": 4},
            "kinds": {"web_user_id": {"repeated_character_min_length": "off"}},
        }
    )
    assert rules.junk["web_user_id"].values == ("n/a",)
    assert rules.junk["web_user_id"].repeated_character_min_length is None
    assert rules.junk["email"].repeated_character_min_length == 4
    assert rules.junk["email"].patterns == ()
    result = _normalised(rules, [("web_user_id", "aaaa"), ("checkout_token", "aaaa")])
    assert result["block_reason"].to_list() == [None, "junk_value"]


@pytest.mark.parametrize(
    ("blocklist", "message"),
    [
        ({"values": ["null"]}, r"`blocklist.values` is per identifier kind now: move it to "
         r"`blocklist.default.values`"),
        ({"patterns": {"email": ["^x@"]}}, r"move it to `blocklist.kinds.<kind>.patterns`"),
        ({"kinds": {"fax": {}}}, r"`blocklist.kinds.fax` names a kind missing from `kinds`"),
        ({"kinds": {"email": {"value": []}}}, r"`blocklist.kinds.email.value` is not a junk rule"),
        ({"default": {"repeated_character_min_length": 1}}, r"must be an integer >= 2, or `off`"),
        ({"kinds": {"email": {"patterns": ["("]}}}, r"blocklist.kinds.email.patterns"),
    ],
)  # fmt: skip
def test_junk_rule_mistakes_name_the_key(blocklist, message):
    with pytest.raises(RulesError, match=message):
        rules_with(blocklist=blocklist)
