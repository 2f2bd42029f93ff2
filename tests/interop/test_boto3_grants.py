"""KMS grants through boto3 and the AWS CLI: three principals in two accounts (an IAM user,
a role session assumed through STS, and another account's user), constraints, retiring by
token and by id, revoking, and the errors AWS documents."""

from __future__ import annotations

import pytest

from kms_helpers import ACCOUNT_A, ACCOUNT_B, DEFAULT_ACCOUNT, key_arn, kms_error, make_client, service_client
from kms_helpers import policy_doc as doc

A, B = ACCOUNT_A["id"], ACCOUNT_B["id"]


@pytest.fixture(scope="module")
def grants_endpoint(two_account_server):
    return two_account_server.endpoint


@pytest.fixture(scope="module")
def principals(grants_endpoint):
    """kms_a (account A root), alice (A user, no policy), app (a session of A role
    grants-app, no policy), bob (B user, no policy), with their ARNs."""
    iam_a = service_client("iam", grants_endpoint, ACCOUNT_A["access_key"], ACCOUNT_A["secret"])
    iam_b = service_client("iam", grants_endpoint, ACCOUNT_B["access_key"], ACCOUNT_B["secret"])

    def user(iam, name):
        iam.create_user(UserName=name)
        return iam.create_access_key(UserName=name)["AccessKey"]

    alice = user(iam_a, "grants-alice")
    caller = user(iam_a, "grants-caller")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/grants-caller"},
                 "Action": "sts:AssumeRole"})
    iam_a.create_role(RoleName="grants-app", AssumeRolePolicyDocument=trust)
    iam_a.put_user_policy(UserName="grants-caller", PolicyName="assume", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{A}:role/grants-app"}))
    sts = service_client("sts", grants_endpoint, caller["AccessKeyId"], caller["SecretAccessKey"])
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{A}:role/grants-app", RoleSessionName="s1")["Credentials"]
    bob = user(iam_b, "grants-bob")
    client = lambda k: make_client(grants_endpoint, access_key=k["AccessKeyId"], secret_key=k["SecretAccessKey"])
    return {
        "kms_a": make_client(grants_endpoint, access_key=ACCOUNT_A["access_key"], secret_key=ACCOUNT_A["secret"]),
        "alice": client(alice),
        "alice_arn": f"arn:aws:iam::{A}:user/grants-alice",
        "app": make_client(grants_endpoint, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                           session_token=creds["SessionToken"]),
        "app_role_arn": f"arn:aws:iam::{A}:role/grants-app",
        "bob": client(bob),
        "bob_arn": f"arn:aws:iam::{B}:user/grants-bob",
    }


def test_grants_give_three_principals_in_two_accounts_exactly_their_operations(principals):
    kms_a, alice, app, bob = (principals[n] for n in ("kms_a", "alice", "app", "bob"))
    key = kms_a.create_key()["KeyMetadata"]["Arn"]
    blob = kms_a.encrypt(KeyId=key, Plaintext=b"top secret", EncryptionContext={"app": "pay"})["CiphertextBlob"]
    for who in (alice, app, bob):
        with kms_error("AccessDeniedException"):
            who.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "pay"})

    g_alice = kms_a.create_grant(KeyId=key, GranteePrincipal=principals["alice_arn"], Operations=["Decrypt"])
    g_app = kms_a.create_grant(KeyId=key, GranteePrincipal=principals["app_role_arn"],
                               Operations=["Encrypt", "Decrypt", "RetireGrant"])
    g_bob = kms_a.create_grant(KeyId=key, GranteePrincipal=principals["bob_arn"],
                               Operations=["Decrypt", "DescribeKey"], RetiringPrincipal=principals["bob_arn"])
    assert len(g_alice["GrantId"]) == 64

    out = alice.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "pay"}, GrantTokens=[g_alice["GrantToken"]])
    assert out["Plaintext"] == b"top secret"
    with kms_error("AccessDeniedException"):
        alice.encrypt(KeyId=key, Plaintext=b"x")
    app.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=[g_app["GrantToken"]])
    assert bob.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "pay"})["Plaintext"] == b"top secret"
    assert bob.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key

    listed = kms_a.list_grants(KeyId=key)["Grants"]
    assert {g["GrantId"] for g in listed} == {g["GrantId"] for g in (g_alice, g_app, g_bob)}
    entry = next(g for g in listed if g["GrantId"] == g_bob["GrantId"])
    assert entry["GranteePrincipal"] == principals["bob_arn"]
    assert entry["IssuingAccount"] == f"arn:aws:iam::{A}:root"
    assert entry["KeyId"] == key and entry["Operations"] == ["Decrypt", "DescribeKey"]
    assert entry["CreationDate"].year >= 2024

    # Retire by token (the role session, whose grant lists RetireGrant), by id (bob, the
    # retiring principal, across accounts), and revoke (the key's account).
    app.retire_grant(GrantToken=g_app["GrantToken"])
    with kms_error("AccessDeniedException"):
        app.encrypt(KeyId=key, Plaintext=b"x")
    bob.retire_grant(KeyId=key, GrantId=g_bob["GrantId"])
    with kms_error("AccessDeniedException"):
        bob.describe_key(KeyId=key)
    with kms_error("AccessDeniedException"):
        alice.revoke_grant(KeyId=key, GrantId=g_alice["GrantId"])
    kms_a.revoke_grant(KeyId=key, GrantId=g_alice["GrantId"])
    with kms_error("AccessDeniedException"):
        alice.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "pay"})
    assert kms_a.list_grants(KeyId=key)["Grants"] == []


def test_constraints_limit_a_grant_to_matching_encryption_contexts(principals):
    kms_a, alice = principals["kms_a"], principals["alice"]
    key = kms_a.create_key()["KeyMetadata"]["Arn"]
    kms_a.create_grant(KeyId=key, GranteePrincipal=principals["alice_arn"], Operations=["Decrypt"],
                       Constraints={"EncryptionContextSubset": {"Department": "IT"}})
    it = kms_a.encrypt(KeyId=key, Plaintext=b"a", EncryptionContext={"Department": "IT", "x": "1"})["CiphertextBlob"]
    hr = kms_a.encrypt(KeyId=key, Plaintext=b"b", EncryptionContext={"Department": "HR"})["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=it, EncryptionContext={"Department": "IT", "x": "1"})["Plaintext"] == b"a"
    with kms_error("AccessDeniedException"):
        alice.decrypt(CiphertextBlob=hr, EncryptionContext={"Department": "HR"})
    listed = kms_a.list_grants(KeyId=key)["Grants"][0]
    assert listed["Constraints"] == {"EncryptionContextSubset": {"Department": "IT"}}


def test_list_retirable_grants_and_name_idempotency(principals):
    kms_a = principals["kms_a"]
    key = kms_a.create_key()["KeyMetadata"]["Arn"]
    retiring = f"arn:aws:iam::{A}:user/grants-retirer"
    first = kms_a.create_grant(KeyId=key, GranteePrincipal=principals["alice_arn"], Operations=["Decrypt"],
                               RetiringPrincipal=retiring, Name="nightly-job")
    again = kms_a.create_grant(KeyId=key, GranteePrincipal=principals["alice_arn"], Operations=["Decrypt"],
                               RetiringPrincipal=retiring, Name="nightly-job")
    assert again["GrantId"] == first["GrantId"] and again["GrantToken"] != first["GrantToken"]
    grants = kms_a.list_retirable_grants(RetiringPrincipal=retiring)["Grants"]
    assert [g["GrantId"] for g in grants] == [first["GrantId"]]
    assert grants[0]["Name"] == "nightly-job"
    paginator = kms_a.get_paginator("list_grants")
    pages = list(paginator.paginate(KeyId=key, PaginationConfig={"PageSize": 1}))
    assert sum(len(p["Grants"]) for p in pages) == 1


def test_grant_errors(principals):
    kms_a = principals["kms_a"]
    key = kms_a.create_key()["KeyMetadata"]["Arn"]
    grantee = principals["alice_arn"]
    with kms_error("ValidationException", message="Grants must not contain only the CreateGrant operation."):
        kms_a.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["CreateGrant"])
    with kms_error("ValidationException", contains="operations.1.member"):
        kms_a.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Teleport"])
    signing = kms_a.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    with kms_error("ValidationException"):
        kms_a.create_grant(KeyId=signing, GranteePrincipal=grantee, Operations=["GenerateDataKey"])
    with kms_error("DryRunOperationException",
                   message="The request would have succeeded, but the DryRun option is set."):
        kms_a.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Decrypt"], DryRun=True)
    with kms_error("InvalidGrantTokenException"):
        kms_a.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=["not-a-token"])
    with kms_error("InvalidGrantTokenException"):
        kms_a.retire_grant(GrantToken="not-a-token")
    with kms_error("InvalidGrantIdException"):
        kms_a.revoke_grant(KeyId=key, GrantId="not-an-id")
    with kms_error("NotFoundException"):
        kms_a.revoke_grant(KeyId=key, GrantId="0" * 64)
    kms_a.disable_key(KeyId=key)
    with kms_error("DisabledException"):
        kms_a.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Decrypt"])


def test_aws_cli_create_list_retire_grant(aws, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    grantee = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/cli-grantee"
    created = aws("create-grant", "--key-id", key, "--grantee-principal", grantee,
                  "--operations", "Decrypt", "Encrypt", "--retiring-principal", grantee,
                  "--constraints", "EncryptionContextSubset={purpose=test}", "--name", "cli-grant").data
    assert len(created["GrantId"]) == 64 and created["GrantToken"]
    listed = aws("list-grants", "--key-id", key).data["Grants"]
    assert listed[0]["GrantId"] == created["GrantId"]
    assert listed[0]["Operations"] == ["Decrypt", "Encrypt"]
    assert listed[0]["KeyId"] == key_arn(key)
    assert listed[0]["Constraints"] == {"EncryptionContextSubset": {"purpose": "test"}}
    retirable = aws("list-retirable-grants", "--retiring-principal", grantee).data["Grants"]
    assert created["GrantId"] in [g["GrantId"] for g in retirable]
    aws("retire-grant", "--grant-token", created["GrantToken"])
    assert aws("list-grants", "--key-id", key).data["Grants"] == []
    second = aws("create-grant", "--key-id", key, "--grantee-principal", grantee, "--operations", "Decrypt").data
    aws("retire-grant", "--key-id", key_arn(key), "--grant-id", second["GrantId"])
    third = aws("create-grant", "--key-id", key, "--grantee-principal", grantee, "--operations", "Decrypt").data
    aws("revoke-grant", "--key-id", key, "--grant-id", third["GrantId"])
    failed = aws("revoke-grant", "--key-id", key, "--grant-id", third["GrantId"], check=False)
    assert failed.returncode != 0 and "NotFoundException" in failed.stderr
