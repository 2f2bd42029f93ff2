"""IAM identities and STS through boto3 (query protocol on the KMS endpoint), and how they
meet key policies: the "Alice" example, roles assumed with sts:ExternalId, and three
principals in two accounts."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from kms_helpers import ACCOUNT_A, ACCOUNT_B, key_arn, kms_error, make_client, service_client
from kms_helpers import policy_doc as doc

A, B = ACCOUNT_A["id"], ACCOUNT_B["id"]


def code_of(info):
    return info.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def endpoint(two_account_server):
    return two_account_server.endpoint


@pytest.fixture(scope="module")
def iam_a(endpoint):
    return service_client("iam", endpoint, ACCOUNT_A["access_key"], ACCOUNT_A["secret"])


@pytest.fixture(scope="module")
def iam_b(endpoint):
    return service_client("iam", endpoint, ACCOUNT_B["access_key"], ACCOUNT_B["secret"])


@pytest.fixture(scope="module")
def kms_a(endpoint):
    return make_client(endpoint, access_key=ACCOUNT_A["access_key"], secret_key=ACCOUNT_A["secret"])


def new_user(iam, name):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key


def test_user_lifecycle(iam_a):
    out = iam_a.create_user(UserName="lifecycle", Tags=[{"Key": "team", "Value": "blue"}])["User"]
    assert out["Arn"] == f"arn:aws:iam::{A}:user/lifecycle"
    assert out["UserId"].startswith("AIDA")
    with pytest.raises(ClientError) as info:
        iam_a.create_user(UserName="lifecycle")
    assert code_of(info) == "EntityAlreadyExists"
    assert iam_a.get_user(UserName="lifecycle")["User"]["Tags"] == [{"Key": "team", "Value": "blue"}]
    assert "lifecycle" in [u["UserName"] for u in iam_a.list_users()["Users"]]
    key = iam_a.create_access_key(UserName="lifecycle")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    listed = iam_a.list_access_keys(UserName="lifecycle")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]
    policy = doc({"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"})
    iam_a.put_user_policy(UserName="lifecycle", PolicyName="enc", PolicyDocument=policy)
    got = iam_a.get_user_policy(UserName="lifecycle", PolicyName="enc")
    assert got["PolicyDocument"] == json.loads(policy)
    iam_a.tag_user(UserName="lifecycle", Tags=[{"Key": "team", "Value": "red"}, {"Key": "x", "Value": "1"}])
    assert iam_a.get_user(UserName="lifecycle")["User"]["Tags"] == [
        {"Key": "team", "Value": "red"},
        {"Key": "x", "Value": "1"},
    ]
    with pytest.raises(ClientError) as info:
        iam_a.delete_user(UserName="lifecycle")
    assert code_of(info) == "DeleteConflict"
    iam_a.delete_access_key(UserName="lifecycle", AccessKeyId=key["AccessKeyId"])
    iam_a.delete_user_policy(UserName="lifecycle", PolicyName="enc")
    iam_a.delete_user(UserName="lifecycle")
    with pytest.raises(ClientError) as info:
        iam_a.get_user(UserName="lifecycle")
    assert code_of(info) == "NoSuchEntity"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_users_paginates(iam_b):
    names = [f"page-{i:02}" for i in range(5)]
    for name in names:
        iam_b.create_user(UserName=name, Path="/paged/")
    seen = []
    for page in iam_b.get_paginator("list_users").paginate(PathPrefix="/paged/", PaginationConfig={"PageSize": 2}):
        assert len(page["Users"]) <= 2
        seen.extend(u["UserName"] for u in page["Users"])
    assert seen == names


def test_malformed_identity_policy_is_refused(iam_a):
    iam_a.create_user(UserName="malformed")
    with pytest.raises(ClientError) as info:
        iam_a.put_user_policy(
            UserName="malformed",
            PolicyName="p",
            PolicyDocument=doc({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
        )
    assert code_of(info) == "MalformedPolicyDocument"
    assert "must not specify a Principal" in info.value.response["Error"]["Message"]


def test_alice_is_denied_by_default_and_allowed_by_an_iam_policy(endpoint, iam_a, kms_a):
    key_id = kms_a.create_key()["KeyMetadata"]["KeyId"]
    arn = key_arn(key_id, account=A)
    creds = new_user(iam_a, "alice")
    alice = make_client(endpoint, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"])
    sts = service_client("sts", endpoint, creds["AccessKeyId"], creds["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{A}:user/alice"

    message = (
        f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: kms:Encrypt on resource: {arn} "
        "because no identity-based policy allows the kms:Encrypt action"
    )
    with kms_error("AccessDeniedException", message=message):
        alice.encrypt(KeyId=arn, Plaintext=b"x")
    with kms_error("AccessDeniedException", contains="kms:CreateKey on resource: *"):
        alice.create_key()

    policy = doc({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": arn})
    iam_a.put_user_policy(UserName="alice", PolicyName="use-key", PolicyDocument=policy)
    blob = alice.encrypt(KeyId=arn, Plaintext=b"hello")["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hello"
    with kms_error("AccessDeniedException"):
        alice.schedule_key_deletion(KeyId=arn)

    iam_a.delete_user_policy(UserName="alice", PolicyName="use-key")
    with kms_error("AccessDeniedException"):
        alice.encrypt(KeyId=arn, Plaintext=b"x")


def test_three_principals_in_two_accounts(endpoint, iam_a, iam_b, kms_a):
    # Account A: a key whose policy also trusts account B, and a role B may assume with an external id.
    shared = kms_a.create_key(
        Policy=doc(
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": B}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
        )
    )["KeyMetadata"]["Arn"]
    iam_a.create_role(
        RoleName="partner",
        AssumeRolePolicyDocument=doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "xyz-123"}},
            }
        ),
    )
    iam_a.put_role_policy(
        RoleName="partner",
        PolicyName="decrypt",
        PolicyDocument=doc({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": shared}),
    )
    role_arn = iam_a.get_role(RoleName="partner")["Role"]["Arn"]
    assert role_arn == f"arn:aws:iam::{A}:role/partner"

    # Account B: bob, allowed by IAM to use the shared key and to assume the role.
    bob_creds = new_user(iam_b, "bob")
    iam_b.put_user_policy(
        UserName="bob",
        PolicyName="cross",
        PolicyDocument=doc(
            {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": shared},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn},
        ),
    )
    bob = make_client(endpoint, access_key=bob_creds["AccessKeyId"], secret_key=bob_creds["SecretAccessKey"])
    blob = bob.encrypt(KeyId=shared, Plaintext=b"from B")["CiphertextBlob"]
    # A user of B without an IAM policy is denied despite the key policy naming account B.
    carol_creds = new_user(iam_b, "carol")
    carol = make_client(endpoint, access_key=carol_creds["AccessKeyId"], secret_key=carol_creds["SecretAccessKey"])
    with kms_error("AccessDeniedException", contains="no identity-based policy"):
        carol.decrypt(CiphertextBlob=blob)

    # The trust policy needs the external id (confused-deputy protection).
    sts_bob = service_client("sts", endpoint, bob_creds["AccessKeyId"], bob_creds["SecretAccessKey"])
    with pytest.raises(ClientError) as info:
        sts_bob.assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert code_of(info) == "AccessDenied"
    with pytest.raises(ClientError) as info:
        sts_bob.assume_role(RoleArn=role_arn, RoleSessionName="s1", ExternalId="wrong")
    assert code_of(info) == "AccessDenied"
    out = sts_bob.assume_role(RoleArn=role_arn, RoleSessionName="s1", ExternalId="xyz-123", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/partner/s1"
    # carol has no IAM permission for sts:AssumeRole.
    sts_carol = service_client("sts", endpoint, carol_creds["AccessKeyId"], carol_creds["SecretAccessKey"])
    with pytest.raises(ClientError) as info:
        sts_carol.assume_role(RoleArn=role_arn, RoleSessionName="s2", ExternalId="xyz-123")
    assert code_of(info) == "AccessDenied"

    # The role session (a principal of account A) decrypts with the role's policy.
    session = make_client(
        endpoint,
        access_key=creds["AccessKeyId"],
        secret_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    sts_session = service_client(
        "sts", endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    assert sts_session.get_caller_identity()["Arn"] == f"arn:aws:sts::{A}:assumed-role/partner/s1"
    assert session.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from B"
    with kms_error("AccessDeniedException"):
        session.create_key()
    # The session token is required and checked.
    tampered = make_client(
        endpoint,
        access_key=creds["AccessKeyId"],
        secret_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"][:-4] + "AAAA",
    )
    with kms_error("UnrecognizedClientException"):
        tampered.decrypt(CiphertextBlob=blob)
    no_token = make_client(endpoint, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"])
    with kms_error("UnrecognizedClientException"):
        no_token.decrypt(CiphertextBlob=blob)


def test_users_cannot_manage_iam_without_permission(endpoint, iam_a):
    creds = new_user(iam_a, "intern")
    intern = service_client("iam", endpoint, creds["AccessKeyId"], creds["SecretAccessKey"])
    with pytest.raises(ClientError) as info:
        intern.create_user(UserName="sneaky")
    assert code_of(info) == "AccessDenied"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    iam_a.put_user_policy(
        UserName="intern",
        PolicyName="self",
        PolicyDocument=doc({"Effect": "Allow", "Action": "iam:GetUser", "Resource": f"arn:aws:iam::{A}:user/intern"}),
    )
    assert intern.get_user()["User"]["UserName"] == "intern"


def test_aws_cli_iam_and_sts(endpoint):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from kms_helpers import ISOLATED_AWS_ENV

    beside = Path(sys.executable).parent / "aws"
    executable = str(beside) if beside.exists() else shutil.which("aws")
    if not executable:
        pytest.skip("the AWS CLI is not installed")

    def aws(*args, access_key=ACCOUNT_A["access_key"], secret_key=ACCOUNT_A["secret"], token=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(ISOLATED_AWS_ENV)
        env.update({"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key, "AWS_DEFAULT_REGION": "us-east-1"})
        if token:
            env["AWS_SESSION_TOKEN"] = token
        proc = subprocess.run(
            [executable, *args, "--endpoint-url", endpoint, "--output", "json"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    user = aws("iam", "create-user", "--user-name", "cli-user")["User"]
    assert user["Arn"] == f"arn:aws:iam::{A}:user/cli-user"
    key = aws("iam", "create-access-key", "--user-name", "cli-user")["AccessKey"]
    me = aws("sts", "get-caller-identity", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert me["Arn"] == user["Arn"] and me["Account"] == A
    trust = doc({"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole"})
    aws("iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document", trust)
    creds = aws(
        "sts", "assume-role", "--role-arn", f"arn:aws:iam::{A}:role/cli-role", "--role-session-name", "cli",
        access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"],
    )["Credentials"]
    me = aws("sts", "get-caller-identity", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert me["Arn"] == f"arn:aws:sts::{A}:assumed-role/cli-role/cli"


def test_a_role_tagged_as_an_integrated_service_uses_the_aws_managed_key(endpoint, iam_a, kms_a):
    """kms:ViaService from real calls: a role tagged kms-server:aws-service=ec2.amazonaws.com
    calls as EC2 does for EBS, so alias/aws/ebs (whose policy allows the account only through
    ec2.<region>.amazonaws.com) works for it and not for an untagged role; CloudTrail's
    LookupEvents names the service in userIdentity.invokedBy."""
    kms_a.describe_key(KeyId="alias/aws/ebs")  # creates the AWS managed key
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"})
    sts_root = service_client("sts", endpoint, ACCOUNT_A["access_key"], ACCOUNT_A["secret"])

    def session_of(role, tags):
        iam_a.create_role(RoleName=role, AssumeRolePolicyDocument=trust, Tags=tags)
        creds = sts_root.assume_role(RoleArn=f"arn:aws:iam::{A}:role/{role}", RoleSessionName="vol")["Credentials"]
        return make_client(
            endpoint,
            access_key=creds["AccessKeyId"],
            secret_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
        )

    ebs = session_of("ebs-service", [{"Key": "kms-server:aws-service", "Value": "ec2.amazonaws.com"}])
    blob = ebs.encrypt(KeyId="alias/aws/ebs", Plaintext=b"volume key")["CiphertextBlob"]
    assert ebs.decrypt(CiphertextBlob=blob)["Plaintext"] == b"volume key"
    other = session_of("s3-service", [{"Key": "kms-server:aws-service", "Value": "s3.amazonaws.com"}])
    with kms_error("AccessDeniedException"):
        other.decrypt(CiphertextBlob=blob)
    plain = session_of("app-role", [])
    with kms_error("AccessDeniedException"):
        plain.encrypt(KeyId="alias/aws/ebs", Plaintext=b"x")

    trail = service_client("cloudtrail", endpoint, ACCOUNT_A["access_key"], ACCOUNT_A["secret"])
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}])["Events"]
    by_role = [json.loads(e["CloudTrailEvent"]) for e in events if "assumed-role/" in json.loads(e["CloudTrailEvent"])["userIdentity"].get("arn", "")]
    invoked = {e["userIdentity"]["arn"].split("/")[1]: e["userIdentity"].get("invokedBy") for e in by_role}
    assert invoked.get("ebs-service") == "ec2.amazonaws.com"
    assert invoked.get("s3-service") == "s3.amazonaws.com"


def test_session_tags_become_principal_tags(endpoint, iam_a, kms_a):
    """AssumeRole Tags: need sts:TagSession in the trust policy, override the role's own tags
    in aws:PrincipalTag, are checked against AWS's limits, and transitive ones carry over to
    a chained session, which may not pass them again."""
    key = kms_a.create_key()["KeyMetadata"]["KeyId"]
    root = f"arn:aws:iam::{A}:root"
    abac = doc(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/project": "alpha"}}},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{A}:role/abac-*"},
    )
    both = doc({"Effect": "Allow", "Principal": {"AWS": root}, "Action": ["sts:AssumeRole", "sts:TagSession"]})
    iam_a.create_role(RoleName="abac-1", AssumeRolePolicyDocument=both, Tags=[{"Key": "Project", "Value": "beta"}])
    iam_a.put_role_policy(RoleName="abac-1", PolicyName="abac", PolicyDocument=abac)
    no_tagging = doc({"Effect": "Allow", "Principal": {"AWS": root}, "Action": "sts:AssumeRole"})
    iam_a.create_role(RoleName="abac-untaggable", AssumeRolePolicyDocument=no_tagging)
    chained_trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:role/abac-1"},
                         "Action": ["sts:AssumeRole", "sts:TagSession"]})
    iam_a.create_role(RoleName="abac-2", AssumeRolePolicyDocument=chained_trust)
    iam_a.put_role_policy(RoleName="abac-2", PolicyName="abac", PolicyDocument=abac)
    sts_root = service_client("sts", endpoint, ACCOUNT_A["access_key"], ACCOUNT_A["secret"])

    def clients(creds):
        args = (endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return make_client(args[0], access_key=args[1], secret_key=args[2], session_token=args[3]), service_client("sts", *args)

    def assume(sts, role, **kwargs):
        return sts.assume_role(RoleArn=f"arn:aws:iam::{A}:role/{role}", RoleSessionName="abac", **kwargs)["Credentials"]

    # The role's own tag says beta: denied. A session tag (keys are case-insensitive) overrides it.
    plain, _ = clients(assume(sts_root, "abac-1"))
    with kms_error("AccessDeniedException"):
        plain.encrypt(KeyId=key, Plaintext=b"x")
    tagged, sts_tagged = clients(assume(
        sts_root, "abac-1", Tags=[{"Key": "project", "Value": "alpha"}], TransitiveTagKeys=["project"]))
    tagged.encrypt(KeyId=key, Plaintext=b"x")

    # Tagging needs sts:TagSession; limits and duplicate keys are refused.
    with pytest.raises(ClientError) as info:
        assume(sts_root, "abac-untaggable", Tags=[{"Key": "project", "Value": "alpha"}])
    assert code_of(info) == "AccessDenied" and "sts:TagSession" in str(info.value)
    assume(sts_root, "abac-untaggable")
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    for bad in (too_many, [{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}], [{"Key": "aws:x", "Value": "1"}],
                # A session cannot make itself an integrated service's principal.
                [{"Key": "KMS-Server:aws-service", "Value": "ec2.amazonaws.com"}]):
        with pytest.raises(ClientError) as info:
            assume(sts_root, "abac-1", Tags=bad)
        assert code_of(info) == "ValidationError"
    with pytest.raises(ClientError) as info:
        assume(sts_root, "abac-1", Tags=[{"Key": "a", "Value": "1"}], TransitiveTagKeys=["b"])
    assert code_of(info) == "ValidationError"

    # Role chaining: the transitive tag carries over and cannot be passed again.
    chained, _ = clients(assume(sts_tagged, "abac-2"))
    chained.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(ClientError) as info:
        assume(sts_tagged, "abac-2", Tags=[{"Key": "Project", "Value": "gamma"}])
    assert code_of(info) == "ValidationError"
    # A session of the untagged chain has no such tag.
    unchained, _ = clients(assume(clients(assume(sts_root, "abac-1"))[1], "abac-2"))
    with kms_error("AccessDeniedException"):
        unchained.encrypt(KeyId=key, Plaintext=b"x")
