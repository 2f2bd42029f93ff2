use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn alias_lifecycle_and_rules() {
    let h = Harness::new().await;
    let c = h.client();
    let a = c.create_key().await;
    let b = c.create_key().await;
    c.call("CreateAlias", json!({"AliasName": "alias/app", "TargetKeyId": a})).await.ok();
    let r = c
        .call("CreateAlias", json!({"AliasName": "alias/app", "TargetKeyId": b}))
        .await
        .err("AlreadyExistsException");
    assert_eq!(
        r.message(),
        "An alias with the name arn:aws:kms:us-east-1:000000000000:alias/app already exists"
    );
    let r = c
        .call("CreateAlias", json!({"AliasName": "app", "TargetKeyId": a}))
        .await
        .err("ValidationException");
    assert!(r.message().starts_with("Alias must start with the prefix \"alias/\"."));
    c.call("CreateAlias", json!({"AliasName": "alias/aws/s3", "TargetKeyId": a}))
        .await
        .err("InvalidAliasNameException");
    c.call("CreateAlias", json!({"AliasName": "alias/bad name", "TargetKeyId": a}))
        .await
        .err("ValidationException");
    c.call("CreateAlias", json!({"AliasName": "alias/x", "TargetKeyId": "alias/app"}))
        .await
        .err("InvalidArnException");

    c.call("UpdateAlias", json!({"AliasName": "alias/app", "TargetKeyId": b})).await.ok();
    let d = c.call("DescribeKey", json!({"KeyId": "alias/app"})).await.ok();
    assert_eq!(d["KeyMetadata"]["KeyId"], b.as_str());
    c.call("UpdateAlias", json!({"AliasName": "alias/none", "TargetKeyId": b}))
        .await
        .err("NotFoundException");

    c.call("CreateAlias", json!({"AliasName": "alias/second", "TargetKeyId": a})).await.ok();
    let all = c.call("ListAliases", json!({})).await.ok();
    let names: Vec<&str> = all["Aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["AliasName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alias/app", "alias/second"]);
    let of_a = c.call("ListAliases", json!({"KeyId": a})).await.ok();
    assert_eq!(of_a["Aliases"].as_array().unwrap().len(), 1);
    assert_eq!(of_a["Aliases"][0]["TargetKeyId"], a.as_str());
    let page = c.call("ListAliases", json!({"Limit": 1})).await.ok();
    assert_eq!(page["Truncated"], true);
    let rest = c.call("ListAliases", json!({"Limit": 1, "Marker": page["NextMarker"]})).await.ok();
    assert_eq!(rest["Aliases"][0]["AliasName"], "alias/second");
    assert_eq!(rest["Truncated"], false);

    c.call("DeleteAlias", json!({"AliasName": "alias/app"})).await.ok();
    c.call("DeleteAlias", json!({"AliasName": "alias/app"})).await.err("NotFoundException");
    c.call("DescribeKey", json!({"KeyId": "alias/app"})).await.err("NotFoundException");
}

#[tokio::test]
async fn alias_limit_per_key_is_fifty() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    for i in 0..50 {
        c.call("CreateAlias", json!({"AliasName": format!("alias/a{i}"), "TargetKeyId": id}))
            .await
            .ok();
    }
    c.call("CreateAlias", json!({"AliasName": "alias/a50", "TargetKeyId": id}))
        .await
        .err("LimitExceededException");
}

#[tokio::test]
async fn tags_add_replace_remove_and_limits() {
    let h = Harness::new().await;
    let c = h.client();
    let meta = c
        .call("CreateKey", json!({"Tags": [{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "team", "TagValue": "a"}]}))
        .await
        .ok();
    let id = meta["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    c.call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "cost", "TagValue": ""}]}))
        .await
        .ok();
    let tags = c.call("ListResourceTags", json!({"KeyId": id})).await.ok();
    assert_eq!(
        tags["Tags"],
        json!([{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "a"}, {"TagKey": "cost", "TagValue": ""}])
    );
    assert_eq!(tags["Truncated"], false);
    c.call("UntagResource", json!({"KeyId": id, "TagKeys": ["team", "absent"]})).await.ok();
    let tags = c.call("ListResourceTags", json!({"KeyId": id, "Limit": 1})).await.ok();
    assert_eq!(tags["Tags"], json!([{"TagKey": "env", "TagValue": "prod"}]));
    assert_eq!(tags["Truncated"], true);
    let rest =
        c.call("ListResourceTags", json!({"KeyId": id, "Marker": tags["NextMarker"]})).await.ok();
    assert_eq!(rest["Tags"], json!([{"TagKey": "cost", "TagValue": ""}]));

    let r = c
        .call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "aws:x", "TagValue": "1"}]}))
        .await
        .err("TagException");
    assert_eq!(r.message(), "Tags beginning with aws: are reserved");
    let dup = json!([{"TagKey": "k", "TagValue": "1"}, {"TagKey": "k", "TagValue": "2"}]);
    c.call("TagResource", json!({"KeyId": id, "Tags": dup})).await.err("TagException");
    let many: Vec<_> =
        (0..49).map(|i| json!({"TagKey": format!("k{i}"), "TagValue": "v"})).collect();
    let r = c.call("TagResource", json!({"KeyId": id, "Tags": many})).await.err("TagException");
    assert_eq!(r.message(), "Too many tags");
    let r = c
        .call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "", "TagValue": "v"}]}))
        .await
        .err("ValidationException");
    assert!(r.message().contains("'tags.1.member.tagKey'"));
}
