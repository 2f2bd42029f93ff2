"""The JSON 1.1 wire protocol, SigV4 authentication errors, and CORS, seen through boto3 and
raw signed requests (botocore's AWSRequest + SigV4Auth over http.client)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from unittest import mock

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from kms_helpers import (
    CONTENT_TYPE,
    DEFAULT_ACCOUNT,
    http_request,
    kms_error,
    make_client,
    not_found_message,
    signed_headers,
    signed_post,
)

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BROWSER_HEADERS = [
    "authorization",
    "content-type",
    "x-amz-date",
    "x-amz-target",
    "x-amz-security-token",
    "x-amz-user-agent",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
]


def shifted_clock(delta: dt.timedelta):
    """Patches botocore's signing clock (botocore.auth.get_current_datetime) by `delta`."""
    real = botocore.auth.get_current_datetime

    def fake(*args, **kwargs):
        return real(*args, **kwargs) + delta

    return mock.patch.object(botocore.auth, "get_current_datetime", fake)


# --------------------------------------------------------------------------------------------
# Success and error shapes


def test_success_response_headers(endpoint, kms):
    out = kms.list_keys(Limit=1)
    assert UUID_RE.match(out["ResponseMetadata"]["RequestId"])
    raw = signed_post(endpoint, "TrentService.ListKeys", {"Limit": 1})
    assert raw.status == 200
    assert raw.header("content-type") == CONTENT_TYPE
    assert UUID_RE.match(raw.header("x-amzn-requestid") or "")
    body = raw.json()
    assert set(body) <= {"Keys", "NextMarker", "Truncated"} and isinstance(body["Truncated"], bool)


def test_request_ids_are_unique(endpoint):
    ids = {signed_post(endpoint, "TrentService.ListKeys", {}).header("x-amzn-requestid") for _ in range(5)}
    assert len(ids) == 5


def test_error_response_shape(endpoint):
    missing = str(uuid.uuid4())
    raw = signed_post(endpoint, "TrentService.DescribeKey", {"KeyId": missing})
    assert raw.status == 400
    assert raw.header("content-type") == CONTENT_TYPE
    assert UUID_RE.match(raw.header("x-amzn-requestid") or "")
    assert raw.json() == {"__type": "NotFoundException", "message": not_found_message(missing)}


def test_error_request_id_reaches_boto3(kms):
    with pytest.raises(ClientError) as info:
        kms.describe_key(KeyId=str(uuid.uuid4()))
    assert UUID_RE.match(info.value.response["ResponseMetadata"]["RequestId"])


def test_invalid_ciphertext_has_no_message_on_the_wire(endpoint, kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"a": "b"})["CiphertextBlob"]
    raw = signed_post(endpoint, "TrentService.Decrypt", {"CiphertextBlob": base64.b64encode(blob).decode()})
    assert raw.status == 400
    assert raw.json() == {"__type": "InvalidCiphertextException"}


def test_operations_without_output_send_empty_or_empty_object(endpoint, kms, key_id):
    raw = signed_post(endpoint, "TrentService.EnableKey", {"KeyId": key_id})
    assert raw.status == 200
    assert raw.body in (b"", b"{}")


def test_body_fields_are_camel_case_json_types(endpoint, kms, key_id):
    raw = signed_post(endpoint, "TrentService.DescribeKey", {"KeyId": key_id})
    md = raw.json()["KeyMetadata"]
    assert isinstance(md["CreationDate"], (int, float))  # epoch seconds
    assert md["Enabled"] is True and md["AWSAccountId"] == DEFAULT_ACCOUNT


@pytest.mark.parametrize("target", ["TrentService.NoSuchOperation", "TrentService.", "Other.ListKeys", "ListKeys"])
def test_unknown_operation(endpoint, target):
    raw = signed_post(endpoint, target, {})
    assert raw.status == 400
    assert raw.json()["__type"] == "UnknownOperationException"


def test_missing_target_header(endpoint):
    raw = signed_post(endpoint, None, {})
    assert raw.status == 400
    assert raw.json()["__type"] == "UnknownOperationException"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"KeyId": ', b"\xff\xfe", b"[1, 2]", b'"a string"'],
    ids=["garbage", "truncated", "binary", "array", "string"],
)
def test_malformed_json_is_serialization_exception(endpoint, body):
    raw = signed_post(endpoint, "TrentService.DescribeKey", body)
    assert raw.status == 400
    assert raw.json()["__type"] == "SerializationException"


def test_wrong_member_type_is_serialization_exception(endpoint):
    for target, body in [
        ("TrentService.DescribeKey", {"KeyId": 12345}),
        ("TrentService.GenerateRandom", {"NumberOfBytes": "thirty-two"}),
        ("TrentService.Encrypt", {"KeyId": "alias/x", "Plaintext": "***not base64***"}),
        ("TrentService.CreateKey", {"Tags": {"not": "a list"}}),
    ]:
        raw = signed_post(endpoint, target, body)
        assert raw.status == 400, (target, raw.body)
        assert raw.json()["__type"] == "SerializationException", (target, raw.body)


def test_oversized_body_is_rejected(endpoint):
    body = json.dumps({"Description": "x" * (2 * 1024 * 1024)}).encode()
    raw = signed_post(endpoint, "TrentService.CreateKey", body)
    assert raw.status == 413
    assert raw.json()["__type"] == "RequestEntityTooLargeException"


def test_healthz(endpoint):
    raw = http_request(endpoint, "GET", "/healthz")
    assert raw.status == 200
    assert raw.body.strip() == b"ok"


# --------------------------------------------------------------------------------------------
# Authentication


def test_unsigned_request_is_rejected(endpoint):
    raw = http_request(
        endpoint,
        "POST",
        "/",
        body=b"{}",
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": "TrentService.ListKeys"},
    )
    assert raw.status in (400, 403)
    assert raw.json()["__type"] == "MissingAuthenticationTokenException"


def test_wrong_secret_is_invalid_signature(endpoint):
    client = make_client(endpoint, secret_key="not-the-secret")
    with kms_error("InvalidSignatureException", message=SIGNATURE_MISMATCH):
        client.list_keys()


def test_unknown_access_key_is_unrecognized_client(endpoint):
    client = make_client(endpoint, access_key="AKIADOESNOTEXIST0000", secret_key="whatever")
    with kms_error("UnrecognizedClientException", message="The security token included in the request is invalid."):
        client.list_keys()


def test_unknown_session_token_is_unrecognized_client(endpoint):
    client = make_client(endpoint, session_token="FwoGZXIvYXdzEBogus")
    with kms_error("UnrecognizedClientException"):
        client.list_keys()


def test_body_changed_after_signing_is_invalid_signature(endpoint):
    headers = signed_headers(endpoint, b'{"Limit": 1}', "TrentService.ListKeys")
    raw = http_request(endpoint, "POST", "/", body=b'{"Limit": 2}', headers=headers)
    assert raw.status == 400
    assert raw.json() == {"__type": "InvalidSignatureException", "message": SIGNATURE_MISMATCH}


def test_target_changed_after_signing_is_invalid_signature(endpoint):
    headers = signed_headers(endpoint, b"{}", "TrentService.ListKeys")
    headers["X-Amz-Target"] = "TrentService.ListAliases"
    raw = http_request(endpoint, "POST", "/", body=b"{}", headers=headers)
    assert raw.json()["__type"] == "InvalidSignatureException"


def test_credential_scoped_to_other_service(endpoint):
    raw = signed_post(endpoint, "TrentService.ListKeys", {}, service="s3")
    assert raw.status == 400
    assert raw.json()["__type"] == "InvalidSignatureException"
    assert "Credential should be scoped to correct service: 'kms'." in raw.json()["message"]


def test_malformed_authorization_header(endpoint):
    headers = signed_headers(endpoint, b"{}", "TrentService.ListKeys")
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=test/garbage"
    raw = http_request(endpoint, "POST", "/", body=b"{}", headers=headers)
    assert raw.status == 400
    assert raw.json()["__type"] == "IncompleteSignatureException"


@pytest.mark.parametrize("minutes", [-10, -6])
def test_signature_expired(endpoint, minutes):
    client = make_client(endpoint, fresh_session=True)
    with shifted_clock(dt.timedelta(minutes=minutes)):
        with kms_error("InvalidSignatureException") as info:
            client.list_keys()
    message = info.value.response["Error"]["Message"]
    assert re.match(r"^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$", message), message


def test_signature_not_yet_current(endpoint):
    client = make_client(endpoint, fresh_session=True)
    with shifted_clock(dt.timedelta(minutes=10)):
        with kms_error("InvalidSignatureException") as info:
            client.list_keys()
    message = info.value.response["Error"]["Message"]
    assert re.match(r"^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$", message), message


@pytest.mark.parametrize("minutes", [-2, 2])
def test_small_clock_skew_is_accepted(endpoint, minutes):
    client = make_client(endpoint, fresh_session=True)
    with shifted_clock(dt.timedelta(minutes=minutes)):
        assert client.list_keys(Limit=1)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_auth_is_checked_before_operation_and_body(endpoint):
    raw = signed_post(endpoint, "TrentService.NoSuchOperation", b"{not json", secret_key="wrong")
    assert raw.json()["__type"] == "InvalidSignatureException"


# --------------------------------------------------------------------------------------------
# CORS


def test_cors_preflight(endpoint):
    raw = http_request(
        endpoint,
        "OPTIONS",
        "/",
        headers={
            "Origin": "http://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(BROWSER_HEADERS),
        },
    )
    assert 200 <= raw.status < 300, raw
    assert raw.header("access-control-allow-origin") in ("*", "http://app.example.com")
    allowed_methods = {m.strip().upper() for m in (raw.header("access-control-allow-methods") or "").split(",")}
    assert "POST" in allowed_methods
    allowed = {h.strip().lower() for h in (raw.header("access-control-allow-headers") or "").split(",")}
    assert "*" in allowed or set(BROWSER_HEADERS) <= allowed, allowed


def test_cors_headers_on_actual_requests(endpoint):
    origin = {"Origin": "http://app.example.com"}
    ok = signed_post(endpoint, "TrentService.ListKeys", {}, extra=origin)
    assert ok.status == 200
    assert ok.header("access-control-allow-origin") in ("*", "http://app.example.com")
    exposed = {h.strip().lower() for h in (ok.header("access-control-expose-headers") or "").split(",")}
    assert "x-amzn-requestid" in exposed
    # Errors must be readable by the browser too.
    failed = signed_post(endpoint, "TrentService.DescribeKey", {"KeyId": str(uuid.uuid4())}, extra=origin)
    assert failed.status == 400
    assert failed.header("access-control-allow-origin") in ("*", "http://app.example.com")
    denied = signed_post(endpoint, "TrentService.ListKeys", {}, extra=origin, secret_key="wrong")
    assert denied.header("access-control-allow-origin") in ("*", "http://app.example.com")


def test_operations_not_built_yet_are_unsupported_not_unknown(kms):
    # Real AWS operations this server does not implement yet answer clearly.
    with kms_error(
        "UnsupportedOperationException", message="ConnectCustomKeyStore is not supported by this server yet"
    ):
        kms.connect_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0")
    with kms_error("UnsupportedOperationException"):
        kms.describe_custom_key_stores()
