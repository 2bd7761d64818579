"""Record mode's credentials for Bedrock: a request forwarded upstream is signed with AWS
Signature Version 4, as botocore signs its own (service `bedrock`), with the credentials of
the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the
region of the upstream's host (`bedrock-runtime.<region>.amazonaws.com`), else of
`AWS_REGION` / `AWS_DEFAULT_REGION`. botocore is imported only here, when a Bedrock request is
recorded: the mock does not need it otherwise. Part of the `bedrock` provider.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from .._record import RecordError

_REGION = re.compile(r"bedrock-runtime(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?:vpce\.)?amazonaws\.")


def region(url: str) -> str | None:
    """The region of a Bedrock Runtime endpoint, else of the environment."""
    found = _REGION.search(urlsplit(url).hostname or "")
    if found is not None:
        return found["region"]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def sigv4(url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The headers that sign a POST of `body` with `headers` to `url` (`Authorization`,
    `X-Amz-Date`, and `X-Amz-Security-Token` for temporary credentials)."""
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise RecordError(
            "forwarding a Bedrock request needs botocore to sign it (AWS Signature Version "
            "4), and botocore is not installed: pip install botocore (boto3 brings it)"
        ) from None
    access_key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        raise RecordError(
            "forwarding a Bedrock request needs AWS credentials to sign it: set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
            "credentials)"
        )
    where = region(url)
    if where is None:
        raise RecordError(
            "forwarding a Bedrock request needs the AWS region to sign it for: the upstream's "
            f"host {urlsplit(url).hostname} names none (bedrock-runtime.<region>.amazonaws.com); "
            "set AWS_REGION"
        )
    token = os.environ.get("AWS_SESSION_TOKEN") or None
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(access_key, secret_key, token), "bedrock", where).add_auth(request)
    given = {name.lower() for name in headers}
    return {name: value for name, value in request.headers.items() if name.lower() not in given}
