"""One boto3 session for the live sources, and the errors a user will hit, each as one sentence.

    from trailtools.aws.session import session, client, explain
    s3 = client("s3", profile="forensics")              # the standard credential chain, adaptive retries
    try: ...
    except Exception as exc: raise explain(exc, "s3", "ListObjectsV2") from exc

Credentials always come from the standard chain (``AWS_PROFILE`` or the ``profile`` given, SSO, environment,
instance role), never from parameters. ``AWS_ENDPOINT_URL`` (botocore's own setting) points every client at
another endpoint, such as moto in the tests.

The sentences (see :func:`trailtools.aws.errors.unavailable`, which this extends):

- no credentials; an expired SSO session or token; AWS refusing the keys;
- ``AccessDenied`` on one call: names the IAM action to add (``s3:ListBucket`` for ``ListObjectsV2``, ...);
- an endpoint that cannot be reached; a region that is not enabled for the account (opt-in regions answer with
  an authentication failure or ``OptInRequired``);
- throttling that outlasted the retries;
- a profile that does not exist;
- an endpoint that does not answer as AWS (a proxy's HTML page): every client made here refuses an HTML body
  before botocore parses it (:func:`trailtools.aws.errors.refuse_html`).
"""
from __future__ import annotations

from botocore import exceptions as bx

from trailtools.aws.errors import BAD_CREDENTIALS, AwsDataUnavailable, refuse_html, unavailable

#: Regions that exist only once an account opts in (the rest are enabled by default).
OPT_IN_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1",
    "me-south-1", "mx-central-1",
})

#: Adaptive retries: botocore slows the client down when AWS throttles, instead of retrying at full speed.
RETRIES = {"mode": "adaptive", "max_attempts": 8}


def session(profile: str | None = None):
    """A boto3 session from the standard chain (``profile`` when given); a missing profile is one sentence."""
    import boto3  # noqa: PLC0415 (heavy, loaded on use)

    try:
        return boto3.Session(profile_name=profile) if profile else boto3.Session()
    except bx.ProfileNotFound:
        raise AwsDataUnavailable(
            f"There is no AWS profile named {profile!r} in ~/.aws/config: check the name (`aws configure "
            f"list-profiles`) or leave profile empty to use the default credentials.",
            service="sts", operation="session") from None


def client(service: str, *, region: str | None = None, profile: str | None = None, max_pool: int = 10,
           boto_session=None, retries: dict | None = None):
    """A client with adaptive retries and timeouts; ``max_pool`` connections for concurrent use from threads.

    ``retries`` replaces the retry settings (``{"total_max_attempts": 1}`` for a caller that paces and retries
    itself, such as the LookupEvents token bucket).
    """
    from botocore.config import Config  # noqa: PLC0415 (heavy, loaded on use)

    s = boto_session or session(profile)
    made = s.client(service, region_name=region,
                    config=Config(retries=retries or RETRIES, connect_timeout=10, read_timeout=60,
                                  max_pool_connections=max_pool))
    made.meta.events.register("before-parse", refuse_html)
    return made


def explain(exc: Exception, service: str, operation: str, *, region: str | None = None) -> AwsDataUnavailable:
    """The :class:`AwsDataUnavailable` for any failure of ``service``'s ``operation`` (in ``region``)."""
    if isinstance(exc, AwsDataUnavailable):
        return exc
    err = unavailable(exc, service, operation)
    if region in OPT_IN_REGIONS and (err.code in BAD_CREDENTIALS or isinstance(exc, bx.EndpointConnectionError)):
        return AwsDataUnavailable(
            f"The region {region} is an opt-in region and looks disabled for this account "
            f"({err.code or type(exc).__name__}); "
            f"enable it (Account settings > AWS Regions) or leave it out of the query.",
            service=service,
            operation=operation,
            code="OptInRequired",
        )
    return err
