"""Pagination: ListKeys, ListAliases, ListResourceTags, ListKeyRotations (Limit, Truncated,
NextMarker), boto3 paginators, and bad markers.

Each test works in a Region of its own, so the set of keys and aliases it lists is exactly
the set it made, regardless of other tests on the shared server."""

from __future__ import annotations

import pytest

from kms_helpers import kms_error, unique_alias

GARBAGE_MARKERS = ["garbage-marker", "!!!not base64!!!", "Z2FyYmFnZQ"]


def walk(call, result_key, limit, **params):
    """Follows NextMarker by hand; returns (items, pages) and checks the page shapes."""
    items, pages, marker = [], 0, None
    while True:
        kwargs = dict(params, Limit=limit)
        if marker is not None:
            kwargs["Marker"] = marker
        page = call(**kwargs)
        pages += 1
        assert len(page[result_key]) <= limit
        if page["Truncated"]:
            assert page["NextMarker"]
            marker = page["NextMarker"]
            items.extend(page[result_key])
        else:
            assert "NextMarker" not in page
            items.extend(page[result_key])
            return items, pages
        assert pages < 1000, "pagination does not terminate"


@pytest.fixture
def regional(client_factory, request):
    """A client in a Region used only by this test."""
    regions = {
        "test_list_keys_pages": "ap-southeast-3",
        "test_list_aliases_pages": "ap-southeast-4",
        "test_list_resource_tags_pages": "ca-west-1",
        "test_list_key_rotations_pages": "il-central-1",
    }
    return client_factory(region=regions.get(request.node.originalname, "me-central-1"))


def test_list_keys_pages(regional):
    created = [regional.create_key()["KeyMetadata"]["KeyId"] for _ in range(7)]
    items, pages = walk(regional.list_keys, "Keys", 3)
    assert sorted(k["KeyId"] for k in items) == sorted(created)
    assert pages == 3
    one, _ = walk(regional.list_keys, "Keys", 1)
    assert [k["KeyId"] for k in one] == [k["KeyId"] for k in items]
    everything = regional.list_keys(Limit=1000)
    assert everything["Truncated"] is False and len(everything["Keys"]) == 7
    paged = [k["KeyId"] for p in regional.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}) for k in p["Keys"]]
    assert sorted(paged) == sorted(created)
    # MaxItems stops early and hands back a resume token that works.
    paginator = regional.get_paginator("list_keys")
    first = paginator.paginate(PaginationConfig={"PageSize": 2, "MaxItems": 3}).build_full_result()
    assert len(first["Keys"]) == 3 and first.get("NextToken")
    rest = paginator.paginate(PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}).build_full_result()
    assert sorted(k["KeyId"] for k in first["Keys"] + rest["Keys"]) == sorted(created)


def test_list_aliases_pages(regional):
    key_id = regional.create_key()["KeyMetadata"]["KeyId"]
    other = regional.create_key()["KeyMetadata"]["KeyId"]
    names = {unique_alias("page") for _ in range(5)}
    for name in names:
        regional.create_alias(AliasName=name, TargetKeyId=key_id)
    regional.create_alias(AliasName=unique_alias("page-other"), TargetKeyId=other)
    items, pages = walk(regional.list_aliases, "Aliases", 2, KeyId=key_id)
    assert {a["AliasName"] for a in items} == names and len(items) == 5 and pages == 3
    everything, _ = walk(regional.list_aliases, "Aliases", 4)
    assert len(everything) == 6 and len({a["AliasName"] for a in everything}) == 6
    paged = [a for p in regional.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 1}) for a in p["Aliases"]]
    assert len(paged) == 6


def test_list_resource_tags_pages(regional):
    key_id = regional.create_key()["KeyMetadata"]["KeyId"]
    tags = [{"TagKey": f"key-{i}", "TagValue": f"value-{i}"} for i in range(7)]
    regional.tag_resource(KeyId=key_id, Tags=tags)
    items, pages = walk(regional.list_resource_tags, "Tags", 3, KeyId=key_id)
    assert sorted(items, key=lambda t: t["TagKey"]) == tags and pages == 3
    paged = [
        t
        for p in regional.get_paginator("list_resource_tags").paginate(KeyId=key_id, PaginationConfig={"PageSize": 2})
        for t in p["Tags"]
    ]
    assert sorted(paged, key=lambda t: t["TagKey"]) == tags
    # Exactly one full page: not truncated.
    exact = regional.list_resource_tags(KeyId=key_id, Limit=7)
    assert exact["Truncated"] is False and len(exact["Tags"]) == 7


def test_list_key_rotations_pages(regional):
    key_id = regional.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(5):
        regional.rotate_key_on_demand(KeyId=key_id)
    items, pages = walk(regional.list_key_rotations, "Rotations", 2, KeyId=key_id)
    assert len(items) == 5 and len({r["KeyMaterialId"] for r in items}) == 5 and pages == 3
    paged = [
        r
        for p in regional.get_paginator("list_key_rotations").paginate(KeyId=key_id, PaginationConfig={"PageSize": 2})
        for r in p["Rotations"]
    ]
    assert [r["KeyMaterialId"] for r in paged] == [r["KeyMaterialId"] for r in items]
    with_original, _ = walk(regional.list_key_rotations, "Rotations", 4, KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert len(with_original) == 6


@pytest.mark.parametrize("marker", GARBAGE_MARKERS)
def test_garbage_marker_is_invalid_marker(kms, key_id, marker):
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])
    kms.rotate_key_on_demand(KeyId=key_id)
    for call in (
        lambda: kms.list_keys(Marker=marker),
        lambda: kms.list_aliases(Marker=marker),
        lambda: kms.list_resource_tags(KeyId=key_id, Marker=marker),
        lambda: kms.list_key_rotations(KeyId=key_id, Marker=marker),
    ):
        with kms_error("InvalidMarkerException"):
            call()


def test_limit_out_of_range(kms, key_id):
    cases = [
        (lambda n: kms.list_keys(Limit=n), 1000),
        (lambda n: kms.list_aliases(Limit=n), 100),
        (lambda n: kms.list_resource_tags(KeyId=key_id, Limit=n), 50),
        (lambda n: kms.list_key_rotations(KeyId=key_id, Limit=n), 1000),
        (lambda n: kms.list_key_policies(KeyId=key_id, Limit=n), 1000),
    ]
    for call, maximum in cases:
        with kms_error(
            "ValidationException",
            message="1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ):
            call(0)
        with kms_error(
            "ValidationException",
            message=f"1 validation error detected: Value '{maximum + 1}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {maximum}",
        ):
            call(maximum + 1)
        call(maximum)
