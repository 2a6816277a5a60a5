"""boto3 plumbing only: the client factory (:mod:`.session`), the one domain exception and the calls that raise it
(:mod:`.errors`), and request pacing (:mod:`.ratelimit`). What is read from AWS lives in :mod:`trailtools.evidence`
(Health, EC2, CloudWatch, cost) and :mod:`trailtools.sources` (the trail)."""
from __future__ import annotations

from trailtools.aws.session import client as make_client


def client(service: str, *, region: str | None = None, profile: str | None = None):
    """A boto3 client from the standard credential chain, with adaptive retries for throttling.

    AWS Health's API lives in us-east-1 (it is global), whatever region is asked for. The client is
    :func:`trailtools.aws.session.client`'s (the same retries and timeouts as the live CloudTrail sources).
    """
    return make_client(service, region="us-east-1" if service == "health" else region, profile=profile)
