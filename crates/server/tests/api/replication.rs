//! Replication between two deployments, each a real server on a loopback port with its
//! own store, root key and injected clock: a replica created at the peer through the
//! outbox, ciphertext across deployments, rotation reaching the peer, a peer that is down
//! while the change is made, idempotent apply, and replica deletion reported back.
//! Delivery runs when the test calls it (`replication::send::deliver`), never on a timer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kms_api::base64;
use kms_server::clock::{ManualClock, DAY_MS};
use kms_server::config::Config;
use kms_server::jobs::run_due;
use kms_server::keystore::{Keystore, RootKeySource};
use kms_server::replication::send::deliver;
use kms_server::replication::Replication;
use kms_server::state::AppState;
use serde_json::json;
use tokio::sync::oneshot;

use crate::common::{mac_here_verify_there, rotations, sign_here_verify_there, Client, Harness};

const HOME: &str = "us-east-1";
const AWAY: &str = "eu-west-1";

/// One deployment: its state, clock and (while serving) the handle that stops it.
struct Deployment {
    h: Harness,
    state: Arc<AppState>,
    clock: Arc<ManualClock>,
    address: SocketAddr,
    stop: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>)>,
}

impl Deployment {
    fn new(h: Harness, address: SocketAddr) -> Self {
        Self { state: Arc::clone(&h.state), clock: Arc::clone(&h.clock), h, address, stop: None }
    }

    fn client(&self, region: &str) -> Client {
        self.h.client_as("test", "test", region)
    }

    async fn serve(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.address).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(kms_server::launch_with_listener(
            listener,
            Arc::clone(&self.state),
            Duration::from_secs(3600),
            async {
                let _ = stopped.await;
            },
        ));
        self.stop = Some((stop, server));
    }

    async fn shut_down(&mut self) {
        if let Some((stop, server)) = self.stop.take() {
            let _ = stop.send(());
            server.await.unwrap().unwrap();
        }
    }
}

/// A free loopback address (bound, then released for the deployment to take).
async fn free_address() -> SocketAddr {
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    probe.local_addr().unwrap()
}

fn public_key(dir: &std::path::Path) -> String {
    let keystore = Keystore::open(&RootKeySource::DataDir(dir.to_owned())).unwrap();
    let public = Replication::new(&keystore, &[]).unwrap().public_key().unwrap();
    base64::encode(public)
}

fn config(serves: &str, peer: &str, peer_address: SocketAddr, peer_key: &str) -> Config {
    Config::parse(&format!(
        r#"
        regions = ["{serves}"]
        [[accounts]]
        id = "000000000000"
        root_access_key_id = "test"
        root_secret_access_key = "test"
        [[peers]]
        region = "{peer}"
        endpoint = "http://{peer_address}"
        access_key_id = "test"
        secret_access_key = "test"
        public_key = "{peer_key}"
        "#
    ))
    .unwrap()
}

/// Two peered deployments; `home` serves us-east-1, `away` eu-west-1. Neither serves yet.
async fn pair() -> (Deployment, Deployment) {
    let (home_dir, away_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (home_key, away_key) = (public_key(home_dir.path()), public_key(away_dir.path()));
    let (home_address, away_address) = (free_address().await, free_address().await);
    let home = Harness::in_dir(home_dir, config(HOME, AWAY, away_address, &away_key)).await;
    let away = Harness::in_dir(away_dir, config(AWAY, HOME, home_address, &home_key)).await;
    let (home, away) = (Deployment::new(home, home_address), Deployment::new(away, away_address));
    (home, away)
}

#[tokio::test]
async fn replicas_at_a_peer_deployment_follow_their_primary() {
    let (mut home, mut away) = pair().await;
    home.serve().await;
    let us = home.client(HOME);
    let eu = away.client(AWAY);
    // Each deployment serves only its own Region.
    home.client(AWAY).call("ListKeys", json!({})).await.err("InvalidSignatureException");

    let out = us.call("CreateKey", json!({"MultiRegion": true})).await.ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let before = us.encrypt(&id, b"made before the replica", json!({"k": "v"})).await;

    // The peer is down while the replica is requested: the request still succeeds.
    let out = us
        .call(
            "ReplicateKey",
            json!({"KeyId": id, "ReplicaRegion": AWAY, "Description": "far away",
                                     "Tags": [{"TagKey": "site", "TagValue": "eu"}]}),
        )
        .await
        .ok();
    assert_eq!(out["ReplicaKeyMetadata"]["KeyState"], "Creating");
    assert_eq!(
        out["ReplicaKeyMetadata"]["Arn"],
        format!("arn:aws:kms:{AWAY}:000000000000:key/{id}")
    );
    let config = us.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"]
        ["MultiRegionConfiguration"]
        .clone();
    assert_eq!(config["ReplicaKeys"][0]["Region"], AWAY);
    let report = deliver(&home.state, false).await.unwrap();
    assert_eq!((report.delivered, report.failed, report.pending), (0, 1, 1));
    // Not due again until the backoff has passed.
    let report = deliver(&home.state, false).await.unwrap();
    assert_eq!((report.delivered, report.failed, report.pending), (0, 0, 1));
    eu.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");

    away.serve().await;
    home.clock.advance_ms(1_000);
    let report = deliver(&home.state, false).await.unwrap();
    assert_eq!((report.delivered, report.pending), (1, 0));
    let meta = eu.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone();
    assert_eq!(meta["KeyState"], "Enabled");
    assert_eq!(meta["Description"], "far away");
    assert_eq!(meta["MultiRegionConfiguration"]["MultiRegionKeyType"], "REPLICA");
    assert_eq!(meta["MultiRegionConfiguration"]["PrimaryKey"]["Region"], HOME);
    let tags = eu.call("ListResourceTags", json!({"KeyId": id})).await.ok();
    assert_eq!(tags["Tags"], json!([{"TagKey": "site", "TagValue": "eu"}]));

    // Ciphertext crosses deployments both ways.
    let out = eu.decrypt(&before, json!({"k": "v"})).await.ok();
    assert_eq!(
        crate::common::unb64(out["Plaintext"].as_str().unwrap()),
        b"made before the replica"
    );
    let there = eu.encrypt(&id, b"made at the peer", json!({})).await;
    us.decrypt(&there, json!({})).await.ok();

    // Rotation at the primary reaches the peer with the next delivery.
    us.call("RotateKeyOnDemand", json!({"KeyId": id})).await.ok();
    us.call("EnableKeyRotation", json!({"KeyId": id, "RotationPeriodInDays": 100})).await.ok();
    assert_eq!(deliver(&home.state, false).await.unwrap().delivered, 2);
    assert_eq!(rotations(&eu, &id).await, rotations(&us, &id).await);
    let status = eu.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(status["RotationPeriodInDays"], 100);
    let rotated = us.encrypt(&id, b"new material", json!({})).await;
    eu.decrypt(&rotated, json!({})).await.ok();
    // The replica refuses rotation; it is managed at the primary.
    eu.call("RotateKeyOnDemand", json!({"KeyId": id})).await.err("UnsupportedOperationException");
    // Moving the primary to another deployment is not built.
    us.call("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": AWAY}))
        .await
        .err("UnsupportedOperationException");

    // Applying the same message twice changes nothing.
    us.call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "a", "TagValue": "b"}]}))
        .await
        .ok();
    assert_eq!(
        home.state.store.list_meta("outbox/", 10).await.unwrap().len(),
        0,
        "tags are per key"
    );
    us.call("DisableKeyRotation", json!({"KeyId": id})).await.ok();
    let queued = home.state.store.list_meta("outbox/", 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(deliver(&home.state, false).await.unwrap().delivered, 1);
    let replica_key = kms_server::model::KeyRef {
        account: "000000000000".into(),
        region: AWAY.into(),
        key_id: id.clone(),
    };
    let revision = away.state.store.get_key(&replica_key).await.unwrap().unwrap().revision;
    home.state.store.put_meta(&queued[0].0, &queued[0].1).await.unwrap();
    assert_eq!(deliver(&home.state, false).await.unwrap().delivered, 1);
    let again = away.state.store.get_key(&replica_key).await.unwrap().unwrap();
    assert_eq!(again.revision, revision);
    assert!(!again.rotation.enabled);

    // The primary waits for its replica; the replica's deletion is reported back.
    let out = us.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 7})).await;
    assert_eq!(out.ok()["KeyState"], "PendingReplicaDeletion");
    eu.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 7})).await.ok();
    away.clock.advance_ms(7 * DAY_MS);
    assert_eq!(run_due(&away.state).await.unwrap().deleted, 1);
    eu.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
    // (SigV4 needs the two clocks to agree.)
    home.clock.advance_ms(7 * DAY_MS);
    assert_eq!(deliver(&away.state, false).await.unwrap().delivered, 1);
    let meta = us.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone();
    assert_eq!(meta["KeyState"], "PendingDeletion");
    assert_eq!(meta["MultiRegionConfiguration"]["ReplicaKeys"], json!([]));
    let due = kms_server::clock::Clock::now_ms(&*home.clock) + 7 * DAY_MS;
    assert_eq!(meta["DeletionDate"].as_f64().unwrap(), due as f64 / 1000.0);

    home.shut_down().await;
    away.shut_down().await;
}

/// `KmsInternal.<operation>` at `to` as the deployment `from` sends it: with the account
/// root's credentials and `from`'s authenticator over `mac_date` (the request's own date
/// unless given).
async fn internal(
    from: &Deployment,
    to: &Deployment,
    region: &str,
    operation: &str,
    body: &serde_json::Value,
    mac_date: Option<&str>,
) -> crate::common::Reply {
    let body = serde_json::to_vec(body).unwrap();
    let date = kms_api::sigv4::format_amz_date(kms_server::clock::Clock::now_ms(&*to.clock) / 1000);
    let peer_public = to.state.replication.public_key().unwrap();
    let mac = from
        .state
        .replication
        .request_mac(&peer_public, mac_date.unwrap_or(&date), operation, &body)
        .unwrap();
    to.client(region)
        .raw_with(
            &format!("KmsInternal.{operation}"),
            body,
            None,
            &[(kms_server::replication::MAC_HEADER, &mac)],
        )
        .await
}

/// An `ApplyReplica` message for `id` at the away deployment, its primary at home, with
/// material version `version` sealed (correctly) for the away deployment's replication key.
fn apply_message(away: &Deployment, id: &str, version: u32, material: &[u8]) -> serde_json::Value {
    let arn = format!("arn:aws:kms:{AWAY}:000000000000:key/{id}");
    let public = away.state.replication.public_key().unwrap();
    let sealed = kms_server::replication::seal_for_peer(&public, &arn, version, material).unwrap();
    json!({
        "KeyArn": arn,
        "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS",
        "PrimaryRegion": HOME, "ReplicaRegions": [AWAY], "ConfigRevision": 1000,
        "Rotation": {"enabled": false, "period_days": null, "next_rotation_ms": null},
        "Materials": [{"Version": version, "MaterialId": "00", "CreatedMs": 0, "Origin": "Original",
                        "PublicKey": "", "Sealed": base64::encode(sealed)}],
        "ImportFingerprint": null,
        "Create": {"Policy": "{}", "Description": "", "Tags": []}
    })
}

#[tokio::test]
async fn a_peer_refuses_messages_it_cannot_trust() {
    let (mut home, mut away) = pair().await;
    away.serve().await;
    home.serve().await;
    let eu = away.client(AWAY);
    let id = "mrk-00112233445566778899aabbccddeeff";
    // The replication public key is public: the account root can seal material for it. Its
    // credentials are still not the peer: without the peer's authenticator nothing is applied.
    let planted = apply_message(&away, id, 1, &[9; 32]);
    for body in [b"{}".to_vec(), serde_json::to_vec(&planted).unwrap()] {
        let r = eu.raw("KmsInternal.ApplyReplica", body, None).await;
        assert!(r.err("AccessDeniedException").message().contains("not authenticated as a peer"));
    }
    eu.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
    let deleted =
        json!({"PrimaryArn": format!("arn:aws:kms:{AWAY}:000000000000:key/{id}"), "Region": HOME});
    let r = eu.raw("KmsInternal.ReplicaDeleted", serde_json::to_vec(&deleted).unwrap(), None).await;
    r.err("AccessDeniedException");
    // An authenticator over another date, operation or body does not count.
    let stale =
        internal(&home, &away, AWAY, "ApplyReplica", &planted, Some("20000101T000000Z")).await;
    stale.err("AccessDeniedException");

    // From the peer: the message is decoded and checked.
    let r = internal(&home, &away, AWAY, "ApplyReplica", &json!({}), None).await;
    assert!(r.err("SerializationException").message().contains("invalid replication message"));
    let mut garbage = planted.clone();
    garbage["Materials"][0]["Sealed"] = json!(base64::encode([7u8; 80]));
    // Material not sealed for this deployment's replication key is refused, nothing is created.
    internal(&home, &away, AWAY, "ApplyReplica", &garbage, None)
        .await
        .err("InvalidCiphertextException");
    eu.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
    // A key of another Region than the request's is refused.
    let mut elsewhere = planted.clone();
    elsewhere["KeyArn"] = json!(format!("arn:aws:kms:ap-south-1:000000000000:key/{id}"));
    internal(&home, &away, AWAY, "ApplyReplica", &elsewhere, None).await.err("ValidationException");
    // The peer speaks only for its own Regions.
    let mut unknown = planted.clone();
    unknown["PrimaryRegion"] = json!("ap-south-1");
    let r = internal(&home, &away, AWAY, "ApplyReplica", &unknown, None).await;
    assert_eq!(
        r.err("ValidationException").message(),
        "ap-south-1 is not a Region of the peer deployment that sent this message"
    );
    // Nor for a key here whose primary is not at the peer: a primary of this deployment.
    let local = eu.call("CreateKey", json!({"MultiRegion": true})).await.ok();
    let local_id = local["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let takeover = apply_message(&away, &local_id, 2, &[9; 32]);
    let r = internal(&home, &away, AWAY, "ApplyReplica", &takeover, None).await;
    assert!(r
        .err("AccessDeniedException")
        .message()
        .contains("not a replica of a primary key at the peer"));
    let meta = eu.call("DescribeKey", json!({"KeyId": local_id})).await.ok()["KeyMetadata"].clone();
    assert_eq!(meta["MultiRegionConfiguration"]["MultiRegionKeyType"], "PRIMARY");
    assert_eq!(rotations(&eu, &local_id).await.as_array().unwrap().len(), 1);

    // Internal operations need the account root's credentials even with the authenticator.
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let user = away.h.user_with_policy("almost-root", &admin, AWAY).await;
    let r = user.raw("KmsInternal.ApplyReplica", serde_json::to_vec(&planted).unwrap(), None).await;
    assert!(r.err("AccessDeniedException").message().contains("account root only"));
    user.raw("KmsInternal.FlushReplication", b"{}".to_vec(), None)
        .await
        .err("AccessDeniedException");
    // FlushReplication is for the account root only, and reports the outbox.
    let out = eu.raw("KmsInternal.FlushReplication", b"{}".to_vec(), None).await.ok();
    assert_eq!(out, json!({"Delivered": 0, "Failed": 0, "Pending": 0}));
    eu.raw("KmsInternal.NoSuchThing", b"{}".to_vec(), None).await.err("UnknownOperationException");
    home.shut_down().await;
    away.shut_down().await;
}

#[tokio::test]
async fn the_account_root_cannot_plant_material_in_a_replica() {
    let (mut home, mut away) = pair().await;
    home.serve().await;
    away.serve().await;
    let us = home.client(HOME);
    let eu = away.client(AWAY);
    let out = us.call("CreateKey", json!({"MultiRegion": true})).await.ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": AWAY})).await.ok();
    assert_eq!(deliver(&home.state, false).await.unwrap().delivered, 1);
    // A newer material version the root knows, sealed for the away deployment's public key.
    let mut planted = apply_message(&away, &id, 2, &[9; 32]);
    planted["Create"] = json!(null);
    let r = eu.raw("KmsInternal.ApplyReplica", serde_json::to_vec(&planted).unwrap(), None).await;
    r.err("AccessDeniedException");
    assert_eq!(rotations(&eu, &id).await, rotations(&us, &id).await);
    let meta = eu.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone();
    assert_eq!(meta["MultiRegionConfiguration"]["PrimaryKey"]["Region"], HOME);
    let there = eu.encrypt(&id, b"still the set's material", json!({})).await;
    us.decrypt(&there, json!({})).await.ok();
    home.shut_down().await;
    away.shut_down().await;
}

#[tokio::test]
async fn asymmetric_and_hmac_key_pairs_reach_the_peer() {
    let (mut home, mut away) = pair().await;
    home.serve().await;
    away.serve().await;
    let us = home.client(HOME);
    let eu = away.client(AWAY);
    let message = crate::common::b64(b"signed at home, verified abroad");
    for (spec, usage) in [("ECC_NIST_P384", "SIGN_VERIFY"), ("HMAC_384", "GENERATE_VERIFY_MAC")] {
        let out = us
            .call("CreateKey", json!({"MultiRegion": true, "KeySpec": spec, "KeyUsage": usage}))
            .await
            .ok();
        let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
        us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": AWAY})).await.ok();
        assert_eq!(deliver(&home.state, false).await.unwrap().delivered, 1);
        if usage == "SIGN_VERIFY" {
            sign_here_verify_there(&us, &eu, &id, &message, "ECDSA_SHA_384").await;
        } else {
            mac_here_verify_there(&eu, &us, &id, &message, "HMAC_SHA_384").await;
        }
    }
    home.shut_down().await;
    away.shut_down().await;
}

#[tokio::test]
async fn an_external_replica_at_the_peer_needs_the_same_material_imported() {
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
    let (mut home, mut away) = pair().await;
    home.serve().await;
    away.serve().await;
    let us = home.client(HOME);
    let eu = away.client(AWAY);
    let out = us.call("CreateKey", json!({"MultiRegion": true, "Origin": "EXTERNAL"})).await.ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let import = |c: Client, material: [u8; 32]| {
        let id = id.clone();
        async move {
            let params = c
                .call("GetParametersForImport", json!({"KeyId": id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}))
                .await
                .ok();
            let public = crate::common::unb64(params["PublicKey"].as_str().unwrap());
            let key = OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&public).unwrap())
                .unwrap();
            let mut out = vec![0u8; key.ciphertext_size()];
            let wrapped = key.encrypt(&OAEP_SHA256_MGF1SHA256, &material, &mut out, None).unwrap();
            c.call(
                "ImportKeyMaterial",
                json!({"KeyId": id, "ImportToken": params["ImportToken"],
                "EncryptedKeyMaterial": crate::common::b64(wrapped),
                "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
            )
            .await
        }
    };
    import(us.clone(), [3; 32]).await.ok();
    us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": AWAY})).await.ok();
    assert_eq!(deliver(&home.state, false).await.unwrap().delivered, 1);
    // No material travelled: the replica waits for its own import of the same material.
    assert_eq!(eu.state_of(&id).await, "PendingImport");
    import(eu.clone(), [4; 32]).await.err("IncorrectKeyMaterialException");
    import(eu.clone(), [3; 32]).await.ok();
    let blob = us.encrypt(&id, b"imported both sides", json!({})).await;
    eu.decrypt(&blob, json!({})).await.ok();
    home.shut_down().await;
    away.shut_down().await;
}
