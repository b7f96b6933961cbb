"""AWS's reference MSK IAM signer (aws-msk-iam-sasl-signer-python) at a fixed time.

Reads a JSON list of cases from standard input, each
{"region", "access_key", "secret_key", "session_token" (or null), "epoch_ms"}, and prints a
JSON list of {"token", "expiry_ms", "user_agent"}: what MSKAuthTokenProvider gives for those
credentials when the clock reads epoch_ms. Used by executor/tests/msk_iam.rs.

The signer reads the clock through botocore's SigV4 signer (botocore.auth.get_current_datetime,
a naive UTC datetime); that is where the time is fixed. The script checks that the signed
X-Amz-Date is the fixed time, so a botocore that read the clock elsewhere fails here instead of
comparing tokens of different times.
"""

import base64
import datetime
import importlib.metadata
import json
import sys
from unittest import mock
from urllib.parse import parse_qs, urlparse

import botocore.auth
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
from botocore.credentials import CredentialProvider, Credentials


class Fixed(CredentialProvider):
    def __init__(self, case):
        super().__init__()
        self.case = case

    def load(self):
        return Credentials(
            self.case["access_key"], self.case["secret_key"], self.case["session_token"]
        )


def sign(case):
    now = datetime.datetime.fromtimestamp(
        case["epoch_ms"] / 1000, datetime.timezone.utc
    ).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
        token, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(
            case["region"], Fixed(case)
        )
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    signed_at = parse_qs(urlparse(url).query)["X-Amz-Date"][0]
    if signed_at != now.strftime("%Y%m%dT%H%M%SZ"):
        sys.exit(f"the signer did not use the fixed time: X-Amz-Date={signed_at}, fixed {now}")
    name = "aws-msk-iam-sasl-signer-python"
    return {
        "token": token,
        "expiry_ms": expiry_ms,
        "user_agent": f"{name}/{importlib.metadata.version(name)}",
    }


json.dump([sign(c) for c in json.load(sys.stdin)], sys.stdout)
