"""Who may make a principal an integrated service's, and who may give a session tags: the
`kms-server:aws-service` tag is the account root's alone (whatever IAM allows), tag requests
are decided with aws:RequestTag/aws:TagKeys, and role chaining carries transitive tags only
into roles whose trust policy allows sts:TagSession."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kms_helpers import ACCOUNT_A, kms_error, make_client, service_client
from kms_helpers import policy_doc as doc

A = ACCOUNT_A["id"]
ROOT_TRUST = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": ["sts:AssumeRole", "sts:TagSession"]})
EC2 = [{"Key": "kms-server:aws-service", "Value": "ec2.amazonaws.com"}]


@pytest.fixture(scope="module")
def endpoint(two_account_server):
    return two_account_server.endpoint


@pytest.fixture(scope="module")
def iam(endpoint):
    return service_client("iam", endpoint, ACCOUNT_A["access_key"], ACCOUNT_A["secret"])


@pytest.fixture(scope="module")
def sts_root(endpoint):
    return service_client("sts", endpoint, ACCOUNT_A["access_key"], ACCOUNT_A["secret"])


def code_of(info):
    return info.value.response["Error"]["Code"]


def user_with(iam, endpoint, name, *statements):
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return lambda service: service_client(service, endpoint, k["AccessKeyId"], k["SecretAccessKey"])


def clients(endpoint, creds):
    args = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    kms = make_client(endpoint, access_key=args[0], secret_key=args[1], session_token=args[2])
    return kms, service_client("sts", endpoint, *args)


def assume(sts, role, **kwargs):
    return sts.assume_role(RoleArn=f"arn:aws:iam::{A}:role/{role}", RoleSessionName="sec", **kwargs)["Credentials"]


def test_only_the_account_root_sets_or_removes_the_service_tag(endpoint, iam, sts_root):
    dev = user_with(iam, endpoint, "dev", {"Effect": "Allow", "Action": ["iam:CreateRole", "iam:TagRole", "iam:UntagRole", "sts:AssumeRole"], "Resource": "*"})
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/dev"}, "Action": "sts:AssumeRole"})
    with pytest.raises(ClientError) as info:
        dev("iam").create_role(RoleName="evil", AssumeRolePolicyDocument=trust, Tags=EC2)
    assert code_of(info) == "AccessDenied" and "kms-server:" in str(info.value)
    dev("iam").create_role(RoleName="evil", AssumeRolePolicyDocument=trust)
    with pytest.raises(ClientError) as info:
        dev("iam").tag_role(RoleName="evil", Tags=EC2)
    assert code_of(info) == "AccessDenied"
    # The root may; then the role's sessions use alias/aws/ebs, until the root removes the tag.
    kms_root = make_client(endpoint, access_key=ACCOUNT_A["access_key"], secret_key=ACCOUNT_A["secret"])
    kms_root.describe_key(KeyId="alias/aws/ebs")
    iam.tag_role(RoleName="evil", Tags=EC2)
    with pytest.raises(ClientError) as info:
        dev("iam").untag_role(RoleName="evil", TagKeys=["kms-server:aws-service"])
    assert code_of(info) == "AccessDenied"
    kms, _ = clients(endpoint, assume(dev("sts"), "evil"))
    blob = kms.encrypt(KeyId="alias/aws/ebs", Plaintext=b"v")["CiphertextBlob"]
    iam.untag_role(RoleName="evil", TagKeys=["KMS-SERVER:AWS-SERVICE", "absent"])
    assert "Tags" not in iam.get_role(RoleName="evil")["Role"] or iam.get_role(RoleName="evil")["Role"]["Tags"] == []
    kms, _ = clients(endpoint, assume(dev("sts"), "evil"))
    with kms_error("AccessDeniedException"):
        kms.decrypt(CiphertextBlob=blob)


def test_the_service_tag_must_name_a_service(iam):
    for value in ("EC2.amazonaws.com", "ec2", "ec2.evil.example", ""):
        with pytest.raises(ClientError) as info:
            iam.create_role(RoleName="bad-service", AssumeRolePolicyDocument=ROOT_TRUST,
                            Tags=[{"Key": "kms-server:aws-service", "Value": value}])
        assert code_of(info) == "ValidationError", value


def test_tagging_is_decided_with_request_tags(endpoint, iam):
    tagger = user_with(
        iam, endpoint, "tagger",
        {"Effect": "Allow", "Action": ["iam:CreateRole", "iam:TagRole"], "Resource": "*"},
        {"Effect": "Deny", "Action": ["iam:TagRole", "iam:CreateRole"], "Resource": "*",
         "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": "cost*"}}},
    )
    with pytest.raises(ClientError) as info:
        tagger("iam").create_role(RoleName="t1", AssumeRolePolicyDocument=ROOT_TRUST, Tags=[{"Key": "costcenter", "Value": "1"}])
    assert code_of(info) == "AccessDenied"
    tagger("iam").create_role(RoleName="t1", AssumeRolePolicyDocument=ROOT_TRUST, Tags=[{"Key": "team", "Value": "1"}])
    with pytest.raises(ClientError) as info:
        tagger("iam").tag_role(RoleName="t1", Tags=[{"Key": "team2", "Value": "2"}, {"Key": "cost-2", "Value": "2"}])
    assert code_of(info) == "AccessDenied"
    # Creating with tags is tagging too: CreateRole alone is not enough.
    creator = user_with(iam, endpoint, "creator", {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*"})
    with pytest.raises(ClientError) as info:
        creator("iam").create_role(RoleName="t2", AssumeRolePolicyDocument=ROOT_TRUST, Tags=[{"Key": "team", "Value": "1"}])
    assert code_of(info) == "AccessDenied"
    creator("iam").create_role(RoleName="t2", AssumeRolePolicyDocument=ROOT_TRUST)
    # Tag characters as IAM allows them.
    for bad in ("a*b", "tab\there", "new\nline"):
        with pytest.raises(ClientError) as info:
            iam.tag_role(RoleName="t2", Tags=[{"Key": "k", "Value": bad}])
        assert code_of(info) == "ValidationError"


def test_chained_sessions_get_transitive_tags_only_where_tag_session_is_allowed(endpoint, iam, sts_root):
    key = make_client(endpoint, access_key=ACCOUNT_A["access_key"], secret_key=ACCOUNT_A["secret"]).create_key()["KeyMetadata"]["KeyId"]
    iam.create_role(RoleName="e1", AssumeRolePolicyDocument=ROOT_TRUST)
    iam.put_role_policy(RoleName="e1", PolicyName="p", PolicyDocument=doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
    e1 = f"arn:aws:iam::{A}:role/e1"
    abac = doc({"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/project": "alpha"}}})
    iam.create_role(RoleName="e2", AssumeRolePolicyDocument=doc({"Effect": "Allow", "Principal": {"AWS": e1}, "Action": "sts:AssumeRole"}),
                    Tags=[{"Key": "project", "Value": "beta"}])
    iam.put_role_policy(RoleName="e2", PolicyName="abac", PolicyDocument=abac)
    iam.create_role(RoleName="e3", AssumeRolePolicyDocument=doc({"Effect": "Allow", "Principal": {"AWS": e1}, "Action": ["sts:AssumeRole", "sts:TagSession"]}),
                    Tags=[{"Key": "project", "Value": "beta"}])
    iam.put_role_policy(RoleName="e3", PolicyName="abac", PolicyDocument=abac)
    # TransitiveTagKeys listed twice (in two cases) count once.
    _, sts1 = clients(endpoint, assume(sts_root, "e1", Tags=[{"Key": "project", "Value": "alpha"}], TransitiveTagKeys=["project", "PROJECT"]))
    with pytest.raises(ClientError) as info:
        assume(sts1, "e2")
    assert code_of(info) == "AccessDenied" and "sts:TagSession" in str(info.value)
    kms3, sts3 = clients(endpoint, assume(sts1, "e3"))
    kms3.encrypt(KeyId=key, Plaintext=b"x")
    # Further down the chain the tag is still carried, once, and cannot be passed again.
    iam.put_role_policy(RoleName="e3", PolicyName="chain", PolicyDocument=doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
    e3 = f"arn:aws:iam::{A}:role/e3"
    iam.create_role(RoleName="e4", AssumeRolePolicyDocument=doc({"Effect": "Allow", "Principal": {"AWS": e3}, "Action": ["sts:AssumeRole", "sts:TagSession"]}))
    iam.put_role_policy(RoleName="e4", PolicyName="abac", PolicyDocument=abac)
    kms4, _ = clients(endpoint, assume(sts3, "e4"))
    kms4.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(ClientError) as info:
        assume(sts3, "e4", Tags=[{"Key": "Project", "Value": "gamma"}])
    assert code_of(info) == "ValidationError"


def test_trust_policies_see_request_tags_for_both_actions(iam, sts_root):
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
                 "Condition": {"StringEquals": {"aws:RequestTag/ns": "prod"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["ns"]}}})
    iam.create_role(RoleName="f1", AssumeRolePolicyDocument=trust)
    assume(sts_root, "f1", Tags=[{"Key": "ns", "Value": "prod"}])
    for tags in ([{"Key": "ns", "Value": "dev"}], [{"Key": "ns", "Value": "prod"}, {"Key": "x", "Value": "1"}], []):
        with pytest.raises(ClientError) as info:
            assume(sts_root, "f1", Tags=tags)
        assert code_of(info) == "AccessDenied", tags
    iam.create_role(RoleName="f2", AssumeRolePolicyDocument=doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"ForAllValues:StringEquals": {"sts:TransitiveTagKeys": ["ns"]}}}))
    assume(sts_root, "f2", Tags=[{"Key": "ns", "Value": "1"}, {"Key": "x", "Value": "1"}], TransitiveTagKeys=["ns"])
    with pytest.raises(ClientError) as info:
        assume(sts_root, "f2", Tags=[{"Key": "ns", "Value": "1"}, {"Key": "x", "Value": "1"}], TransitiveTagKeys=["x"])
    assert code_of(info) == "AccessDenied"


def test_session_tag_limits(iam, sts_root):
    iam.create_role(RoleName="lim", AssumeRolePolicyDocument=ROOT_TRUST)
    assume(sts_root, "lim", Tags=[{"Key": "k" * 128, "Value": "v" * 256}])
    for bad in ([{"Key": "k" * 129, "Value": "v"}], [{"Key": "k", "Value": "v" * 257}],
                [{"Key": "k", "Value": "1\t2"}], [{"Key": "k*", "Value": "1"}]):
        with pytest.raises(ClientError) as info:
            assume(sts_root, "lim", Tags=bad)
        assert code_of(info) == "ValidationError"
    with pytest.raises(ClientError) as info:
        assume(sts_root, "lim", Tags=[{"Key": "k", "Value": "1"}], TransitiveTagKeys=[f"k{i}" for i in range(51)])
    assert code_of(info) == "ValidationError"
