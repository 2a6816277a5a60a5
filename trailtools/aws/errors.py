"""The one exception a live AWS call ends in, with a sentence for the user; and the calls that raise it.

Every ``get_*`` function calls AWS through :func:`call` or :func:`pages`, so a missing support plan, a missing IAM
permission, throttling, no credentials, an expired SSO session or an unreachable endpoint all become an
:class:`AwsDataUnavailable` that says what is missing and what to do. The investigation then goes on with the
other sources and lists this one as unavailable.

An endpoint that does not answer as AWS (a proxy's or a captive portal's HTML page, with any HTTP status, or a body
that cannot be parsed as the service's protocol) is such a failure too, never a traceback and never "consulted,
empty": clients made by :func:`trailtools.aws.session.client` refuse an HTML body before botocore parses it
(:func:`refuse_html`, raising :class:`NotAwsResponse`), and botocore's own ``ResponseParserError`` gets the same
sentence.
"""
from __future__ import annotations

from botocore import exceptions as bx
from botocore.parsers import ResponseParserError

from trailtools.errors import TrailtoolsError

SERVICE_NAMES = {"health": "AWS Health", "ec2": "Amazon EC2", "cloudwatch": "Amazon CloudWatch",
                 "cloudtrail": "AWS CloudTrail", "ce": "AWS Cost Explorer", "s3": "Amazon S3",
                 "athena": "Amazon Athena", "glue": "AWS Glue",
                 "logs": "Amazon CloudWatch Logs"}
#: API operations whose IAM action has another name than ``service:Operation``.
IAM_ACTION = {("s3", "ListObjectsV2"): "s3:ListBucket", ("s3", "ListObjects"): "s3:ListBucket",
              ("s3", "HeadObject"): "s3:GetObject"}
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
                 "Forbidden"}
THROTTLED = {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
             "RequestThrottledException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
BAD_CREDENTIALS = {"AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
                   "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken"}
SSO_ERRORS = (bx.SSOError, bx.TokenRetrievalError)
CREDENTIAL_ERRORS = (bx.NoCredentialsError, bx.PartialCredentialsError, bx.CredentialRetrievalError)
NETWORK_ERRORS = (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError,
                  bx.ConnectionClosedError, bx.ProxyConnectionError, bx.HTTPClientError)


class NotAwsResponse(bx.BotoCoreError):
    """The endpoint answered with something AWS never sends (an HTML page): a proxy or a captive portal?"""

    fmt = "The endpoint answered {operation} with {what} (HTTP {status}), not as AWS"


NOT_AWS_ERRORS = (NotAwsResponse, ResponseParserError)
AWS_ERRORS = (bx.ClientError, bx.NoRegionError) + SSO_ERRORS + CREDENTIAL_ERRORS + NETWORK_ERRORS + NOT_AWS_ERRORS
#: How an HTML page starts (after white space and a byte order mark); AWS's APIs answer XML, JSON or CBOR.
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title", b"<h1")


def looks_html(body) -> bool:
    """Whether a response body (bytes or text) is an HTML page."""
    if isinstance(body, str):
        body = body[:256].encode("utf-8", "replace")
    if not isinstance(body, (bytes, bytearray)):
        return False
    return bytes(body[:256]).lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS)


def refuse_html(response_dict=None, operation_model=None, **_) -> None:
    """botocore ``before-parse`` handler: an HTML body (any status) is not AWS's answer; raise NotAwsResponse
    instead of letting it be parsed into an empty result or a ResponseParserError. Streamed bodies (an S3 object's
    content) are left alone: an object may well be HTML."""
    body = (response_dict or {}).get("body")
    if looks_html(body):
        raise NotAwsResponse(operation=getattr(operation_model, "name", "the call"), what="an HTML page",
                             status=(response_dict or {}).get("status_code"))


class AwsDataUnavailable(TrailtoolsError):
    """One sentence for the user: which AWS data could not be read, why, and what to do about it.

    ``service`` is the boto3 service name (``health``, ``ec2``, ``cloudwatch``), ``operation`` the API operation
    (``DescribeEvents``), ``code`` AWS's error code (``SubscriptionRequiredException``) or None when the call never
    reached AWS (no credentials, no network).
    """

    def __init__(self, message: str, *, service: str, operation: str, code: str | None = None):
        super().__init__(message)
        self.service = service
        self.operation = operation
        self.code = code


def _not_aws(name: str, operation: str, what: str) -> str:
    return (f"The {name} endpoint did not answer as AWS (a proxy?): {operation} got {what}; check the network "
            f"and the proxy settings (HTTPS_PROXY, NO_PROXY, AWS_ENDPOINT_URL, AWS_CA_BUNDLE).")


def _sentence(exc: Exception, service: str, operation: str) -> tuple[str, str | None]:
    name = SERVICE_NAMES.get(service, service)
    action = IAM_ACTION.get((service, operation), f"{service}:{operation}")
    if isinstance(exc, NotAwsResponse):
        what = f"{exc.kwargs.get('what', 'a page')} (HTTP {exc.kwargs.get('status')})"
        return _not_aws(name, operation, what), None
    if isinstance(exc, ResponseParserError):
        return _not_aws(name, operation, "a body that is not the service's XML, JSON or CBOR"), None
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or None
        text = (err.get("Message") or "").strip()
        if looks_html(text):  # a client made elsewhere: botocore put the page in the error
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return _not_aws(name, operation, f"an HTML page (HTTP {status})"), None
        if code == "SubscriptionRequiredException":
            return (f"{name} is not available to this account: its API needs a Business, Enterprise On-Ramp or "
                    f"Enterprise support plan (SubscriptionRequiredException); the investigation goes on with the "
                    f"other sources."), code
        if code in ACCESS_DENIED:
            return (f"The credentials in use may not call {action} ({code}); add the IAM permission "
                    f"`{action}` to the role or user (docs/iam-policy.json lists all the notebooks need), "
                    f"the investigation goes on without {name}'s {operation}."), code
        if code in THROTTLED:
            return (f"{name} kept throttling {operation} even after retries ({code}); wait a minute and run "
                    f"again, or narrow the time window."), code
        if code in EXPIRED:
            return (f"The AWS credentials have expired ({code}); sign in again (`aws sso login` for an SSO "
                    f"profile) and run again."), code
        if code in BAD_CREDENTIALS:
            return (f"AWS did not accept the credentials for {operation} ({code}); check the profile, or sign in "
                    f"again with `aws sso login`."), code
        if code == "OptInRequired":
            return (f"The region is not enabled for this account, so {name} cannot be read there (OptInRequired); "
                    f"enable the region or pick another."), code
        if code == "NoSuchBucket":
            return (f"There is no S3 bucket by that name ({code}: {text}); check the bucket in the source URI "
                    f"(the trail's S3 bucket, as `aws cloudtrail describe-trails` shows it)."), code
        if code and code.startswith("InvalidInstanceID"):
            return (f"{name} knows no such instance in this region ({code}: {text}); check the instance ID and "
                    f"the region."), code
        return f"{name} {operation} failed ({code}: {text}).", code
    if isinstance(exc, SSO_ERRORS):
        return ("The AWS SSO session has expired or was never started; run `aws sso login` (with "
                "`--profile NAME` if you use a profile) and run again."), None
    if isinstance(exc, CREDENTIAL_ERRORS):
        return ("No usable AWS credentials were found; set a profile (AWS_PROFILE or the notebook's `profile` "
                "parameter) and sign in with `aws sso login`, or run where an instance role is available."), None
    if isinstance(exc, bx.NoRegionError):
        return f"No AWS region is set for {name}; pass `region` or set AWS_REGION.", None
    if isinstance(exc, NETWORK_ERRORS):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or getattr(exc, "kwargs", {}).get("proxy_url") or ""
        where = f" at {url}" if url else ""
        region = ("AWS Health answers in us-east-1 only" if service == "health"
                  else "that the region is right and enabled for the account")
        return (f"The {name} endpoint{where} could not be reached ({type(exc).__name__}); check the network or "
                f"proxy, and {region}."), None
    return f"{name} {operation} failed: {exc}", None


def unavailable(exc: Exception, service: str, operation: str) -> AwsDataUnavailable:
    """The AwsDataUnavailable for a botocore exception raised by ``service``'s ``operation``."""
    message, code = _sentence(exc, service, operation)
    return AwsDataUnavailable(message, service=service, operation=operation, code=code)


def _names(client, method: str) -> tuple[str, str]:
    meta = client.meta
    service = meta.service_model.service_name
    return service, meta.method_to_api_mapping.get(method, method)


def call(client, method: str, **params) -> dict:
    """``client.<method>(**params)``, any AWS failure turned into AwsDataUnavailable."""
    service, operation = _names(client, method)
    try:
        return getattr(client, method)(**params)
    except AWS_ERRORS as exc:
        raise unavailable(exc, service, operation) from exc


def pages(client, method: str, *, token: str = "NextToken", max_pages: int = 20,
          **params) -> tuple[list[dict], bool]:
    """Every page of a paginated call, at most ``max_pages``: (responses, truncated).

    ``token`` is the name of the pagination key (the same in the request and the response: ``NextToken`` for
    EC2 and CloudWatch, ``nextToken`` for Health). ``truncated`` is True when AWS had more pages than allowed.
    """
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    out: list[dict] = []
    while True:
        resp = call(client, method, **params)
        out.append(resp)
        nxt = resp.get(token)
        if not nxt:
            return out, False
        if len(out) >= max_pages:
            return out, True
        params = {**params, token: nxt}
