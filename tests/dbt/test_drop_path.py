"""The file-drop path: every stream lands through the real extraction and feeds the marts.

The ground-truth comparisons run on both paths (the `built` fixture); these tests check what is
particular to a warehouse built from file drops alone.
"""

from __future__ import annotations

import duckdb

from pipelines.extract.streams import streams_of
from tests.dbt.conftest import BuiltWarehouse


def test_every_drop_stream_lands_through_the_filedrop_extraction(
    drop_built: BuiltWarehouse,
) -> None:
    (load,) = drop_built.landed
    expected = {f"filedrop/{stream}" for stream in streams_of("filedrop")}
    assert set(load["streams"]) == expected
    for name, stream in load["streams"].items():
        assert stream["status"] == "landed", name
        assert stream["records"] > 0 and stream["files"] >= 1, name
        assert stream["quarantined"] == 0, name
    vendor_rows = drop_built.query(
        """
        select count(*) from staging.stg_matomo__visits
        union all select count(*) from staging.stg_mailchimp__members
        union all select count(*) from staging.stg_shopify__orders
        union all select count(*) from staging.stg_zendesk__tickets
        """
    )
    assert vendor_rows.to_series().sum() == 0


def test_marts_are_fed_by_every_file_drop_stream(drop_built: BuiltWarehouse) -> None:
    touchpoint_streams = set(
        drop_built.query("select distinct source || '/' || stream from marts.fct_touchpoints")
        .to_series()
        .to_list()
    )
    assert touchpoint_streams == {
        f"filedrop/{stream}"
        for stream in streams_of("filedrop")
        if stream not in ("customers", "marketing_spend")
    }
    evidence_streams = set(
        drop_built.query("select distinct stream from identity.identity_record_persons")
        .to_series()
        .to_list()
    )
    assert evidence_streams == set(streams_of("filedrop")) - {"marketing_spend"}
    for mart in ("fct_orders", "fct_email_engagement", "fct_support_tickets"):
        sources = drop_built.query(f"select distinct source from marts.{mart}").to_series()
        assert sources.to_list() == ["filedrop"], mart


def test_session_entry_channels_agree_with_the_vendor_path(
    vendor_built: BuiltWarehouse, drop_built: BuiltWarehouse
) -> None:
    """URL campaign parameters and referrer_url give a session the channel Matomo's referrer
    fields give it; the few that differ are Matomo campaign visits whose URL carries none."""
    with duckdb.connect(str(drop_built.warehouse.database), read_only=True) as con:
        con.execute(f"attach '{vendor_built.warehouse.database}' as vendor (read_only)")
        total, same = con.sql(
            """
            select count(*), count(case when drops.channel = vendor.channel then 1 end)
            from marts.fct_sessions as drops
            inner join vendor.marts.fct_sessions as vendor
                on drops.web_visitor_id = vendor.web_visitor_id
                and drops.started_at = vendor.started_at
            """
        ).fetchone()
    sessions = drop_built.query("select count(*) from marts.fct_sessions").item()
    assert total == sessions > 500
    assert same >= 0.99 * total
