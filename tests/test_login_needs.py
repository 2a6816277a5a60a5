"""The login's NEEDS (issue 21) hold what its rules read: the rules the login runs (the sequences, the workload
credentials) give the same findings on their labelled examples whole and as the duckdb engine keeps rows (the
NEEDS columns, the JSON bodies only on TEXT_EVENTS, no STS session token)."""
import re

import pandas as pd
import pytest

from trailtools.investigations.base import TEXT_COLUMNS
from trailtools.investigations.login.attacks import FAMILIES, SEQUENCE_COLUMNS
from trailtools.investigations.login.gather import NEEDS
from trailtools.investigations.login.history import NO_TOKEN, SESSION_TOKEN, TEXT_EVENTS
from trailtools.rules import registry
from trailtools.rules.examples import cases, examples, frame_of

WORKLOADS = "credential-access.workload-credentials-stolen"
RULES = [r.id for r in registry.select(list(FAMILIES))] + [WORKLOADS]


def kept(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """The rows as the duckdb engine keeps them."""
    out = frame[[c for c in frame.columns if c in set(columns)]].copy()
    quiet = ~out["eventName"].astype(object).isin(TEXT_EVENTS)
    for col in TEXT_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype(object).where(~quiet, None)
    if "responseElements" in out.columns:
        out["responseElements"] = out["responseElements"].map(
            lambda s: re.sub(SESSION_TOKEN, NO_TOKEN, s) if isinstance(s, str) else s)
    return out


def _findings(found) -> list[dict]:
    return [f.to_dict() for f in found]


@pytest.mark.parametrize("rule_id", RULES)
def test_the_rules_the_login_runs_read_only_its_needs(rule_id):
    rule = registry.RULES[rule_id]
    ex = examples(rule.family.replace("-", "_"))[rule_id]
    fired = 0
    for kind in ("fire", "quiet"):
        for case in cases(ex[kind]):
            frame = frame_of(case)
            whole = _findings(rule.run(frame))
            assert _findings(rule.run(kept(frame, NEEDS.columns))) == whole, (rule_id, kind)
            if rule_id != WORKLOADS:    # the login runs the sequences on SEQUENCE_COLUMNS
                assert _findings(rule.run(kept(frame, SEQUENCE_COLUMNS))) == whole, (rule_id, kind)
            fired += bool(whole)
    assert fired


def test_needs_name_frame_columns():
    from trailtools.events.query import ALL_COLUMNS

    assert set(NEEDS.columns) <= set(ALL_COLUMNS)
    assert set(SEQUENCE_COLUMNS) <= set(NEEDS.columns)
    assert {"AssumeRole", "ConsoleLogin", "CreateAccessKey", "StopLogging", "AttachUserPolicy"} <= set(TEXT_EVENTS)


def test_kept_rows_of_chunks_of_either_type_concatenate():
    """A chunk may hold an access key column as text or as a dictionary already (the demo's report over two days
    failed on that, ArrowInvalid): the rows kept whole have one type whichever it was, so they concatenate."""
    import pyarrow as pa

    from trailtools.investigations.login.history import CATEGORY_TYPE, LOGIN_HISTORY, _Shape

    shape = _Shape.of(NEEDS, LOGIN_HISTORY)
    names = pa.array(["GetCallerIdentity", "ConsoleLogin"])
    as_text = pa.table({"eventName": names, "userIdentity.accessKeyId": pa.array(["AKIA1", None], pa.large_string()),
                        "errorMessage": pa.array([None, "Failed"], pa.large_string())})
    as_dict = pa.table({"eventName": names,
                        "userIdentity.accessKeyId": pa.array(["AKIA2", "AKIA1"]).dictionary_encode(),
                        "errorMessage": pa.array([None, None], pa.string()).dictionary_encode()})
    both = pa.concat_tables([shape.strip(as_text), shape.strip(as_dict)])
    assert both.schema.field("userIdentity.accessKeyId").type == CATEGORY_TYPE
    assert both.column("userIdentity.accessKeyId").to_pylist() == ["AKIA1", None, "AKIA2", "AKIA1"]
    assert both.column("errorMessage").to_pylist() == [None, "Failed", None, None]
