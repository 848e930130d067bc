"""moto's standalone S3 server with its authentication on: the tests' S3-compatible server, run as
a script (`python s3_server.py --port P --access-key K --secret-key S --bucket B`), on loopback.

One IAM user with the key pair given (so a server started again on the same port takes the same
credentials) and the buckets named; every request must be signed with that key from the first
on. moto checks the `Authorization` header's signature but, with its authentication on, answers
any presigned URL with a 500 (it looks only for that header). So this launcher checks a presigned
URL's query-string signature (SigV4, computed here from the key's secret, independently of the
client that signed it) and its expiry before moto serves it: a tampered or expired link gets 403,
as from S3, and so does a request signed neither way (moto, again, would answer 500).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ACCOUNT = "123456789012"  # moto's default account


def presigned_signature(method: str, path: str, query: dict[str, str], host: str, secret: str) -> str:
    """The SigV4 query-string signature of a request (S3's rules: the path as sent, unsigned payload)."""
    scope = query["X-Amz-Credential"].split("/", 1)[1]  # date/region/service/aws4_request
    date, region, service, _ = scope.split("/")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items()) if k != "X-Amz-Signature"
    )
    signed = query["X-Amz-SignedHeaders"]
    headers = {"host": host}
    canonical_headers = "".join(f"{name}:{headers[name]}\n" for name in signed.split(";"))
    canonical = "\n".join([method, path, canonical_query, canonical_headers, signed, "UNSIGNED-PAYLOAD"])
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join(["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope, digest])
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--bucket", action="append", default=[])
    args = parser.parse_args()

    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # moto reads it once, at import: authentication on
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.models import iam_backends
    from moto.s3.exceptions import S3AccessDeniedError, S3InvalidAccessKeyIdError, S3SignatureDoesNotMatchError
    from moto.s3.models import s3_backends
    from moto.server import main as moto_main

    iam = iam_backends[ACCOUNT]["aws"]
    iam.create_user("us-east-1", "luma-agents-mcp")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy("luma-agents-mcp", "everything", json.dumps(everything))
    key = iam.create_access_key("luma-agents-mcp")
    key.access_key_id, key.secret_access_key = args.access_key, args.secret_key
    for bucket in args.bucket:
        s3_backends[ACCOUNT]["aws"].create_bucket(bucket, "us-east-1")

    checked = ActionAuthenticatorMixin._authenticate_and_authorize_action  # pyright: ignore[reportPrivateUsage]

    def authenticate(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        parts = urlsplit(self.uri)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "Authorization" in self.headers:
            checked(self, iam_request_cls, resource)
            return
        if "X-Amz-Signature" not in query:
            raise S3AccessDeniedError  # anonymous: moto would fail on the missing header with a 500
        if query.get("X-Amz-Credential", "").split("/")[0] != args.access_key:
            raise S3InvalidAccessKeyIdError
        signature = presigned_signature(self.method, parts.path, query, self.headers["Host"], args.secret_key)
        if not hmac.compare_digest(signature, query["X-Amz-Signature"]):
            raise S3SignatureDoesNotMatchError
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if datetime.now(UTC) > signed_at + timedelta(seconds=int(query["X-Amz-Expires"])):
            raise S3AccessDeniedError  # S3 says "Request has expired"

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate  # pyright: ignore[reportPrivateUsage]
    moto_main(["-H", "127.0.0.1", "-p", str(args.port)])


if __name__ == "__main__":
    main()
