//! Replication of multi-Region keys to other kms-server deployments ("peers").
//!
//! - [`Replication`]: the configured peers and this deployment's replication key.
//! - Key material travels sealed to the receiving peer: ephemeral X25519 with the peer's
//!   static replication key, HKDF-SHA256, AES-256-GCM, all bound to the receiving key's
//!   ARN and the material version ([`seal_for_peer`], [`Replication::open_from_peer`]).
//!   The static key is derived from the root key, so it needs no storage and changes only
//!   with the root key; `kms-server replication-key` prints its public half for peering.
//! - Requests between deployments carry an HMAC-SHA256 authenticator ([`MAC_HEADER`])
//!   under a key both derive from their static X25519 keys, over the request's
//!   `X-Amz-Date`, operation and body ([`Replication::request_mac`],
//!   [`Replication::authenticate`]): only a configured peer can make one, so the account
//!   credentials the request is signed with are not enough to plant key material or
//!   change a key set, and the receiver knows which deployment (Regions) sent it.
//! - [`messages`]: what one deployment asks of another, queued in the outbox in the same
//!   transaction as the local change.
//! - [`send`]: the job that delivers the outbox, in order per peer, with backoff.
//! - [`apply`]: the receiving side (`KmsInternal.*` operations), idempotent.

pub mod apply;
pub mod messages;
pub mod outgoing;
pub mod send;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use aws_lc_rs::{hmac, rand};
use kms_api::base64;
use zeroize::Zeroizing;

use crate::config::{PeerConfig, Secret};
use crate::keystore::{Keystore, KeystoreError};

/// Length of an X25519 public key.
pub const PUBLIC_KEY_LEN_BYTES: usize = 32;
/// What the replication key is derived for (HKDF `info` over the root key).
const KEY_PURPOSE: &[u8] = b"kms-server replication x25519 v1";
/// HKDF salt of the per-message key.
const WRAP_SALT: &[u8] = b"kms-server replication wrap v1";
/// HKDF salt of the key that authenticates requests between two deployments.
const MAC_SALT: &[u8] = b"kms-server replication request mac v1";
/// The header that carries a replication request's authenticator (base64 HMAC-SHA256).
pub const MAC_HEADER: &str = "x-kms-replication-mac";

/// A replication failure. Says nothing about which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicationError {
    /// Sealed material did not open: wrong recipient, key, version, or tampering.
    #[error("replicated key material failed to open")]
    Open,
    /// The random generator or a primitive failed.
    #[error("cryptographic failure")]
    Crypto,
}

/// A peer deployment and how to reach it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The Region it serves.
    pub region: String,
    /// Its endpoint, `http://host:port`.
    pub endpoint: String,
    /// The access key this server signs with there.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: Secret,
    /// The peer's replication public key.
    pub public_key: [u8; PUBLIC_KEY_LEN_BYTES],
}

/// The configured peers and this deployment's replication key.
pub struct Replication {
    peers: Vec<Peer>,
    /// The X25519 private key, derived from the root key.
    private: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replication").field("peers", &self.peers).finish_non_exhaustive()
    }
}

impl Replication {
    /// The replication state of a deployment with this keystore and these peers (peers
    /// whose public key does not decode are left out; `Config::parse` refuses them).
    ///
    /// # Errors
    /// [`KeystoreError`] if the key cannot be derived.
    pub fn new(keystore: &Keystore, peers: &[PeerConfig]) -> Result<Self, KeystoreError> {
        let private = keystore.derive_secret(KEY_PURPOSE)?;
        let peers = peers
            .iter()
            .filter_map(|p| {
                let bytes = base64::decode(p.public_key.trim()).ok()?;
                Some(Peer {
                    region: p.region.clone(),
                    endpoint: p.endpoint.trim_end_matches('/').to_owned(),
                    access_key_id: p.access_key_id.clone(),
                    secret_access_key: p.secret_access_key.clone(),
                    public_key: bytes.try_into().ok()?,
                })
            })
            .collect();
        Ok(Self { peers, private })
    }

    /// The peer serving `region`, if any.
    pub fn peer(&self, region: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.region == region)
    }

    /// Every peer.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// This deployment's replication public key (what peers put in their configuration).
    ///
    /// # Errors
    /// [`ReplicationError::Crypto`] if the key cannot be used.
    pub fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN_BYTES], ReplicationError> {
        let private = PrivateKey::from_private_key(&X25519, self.private.as_slice())
            .map_err(|_| ReplicationError::Crypto)?;
        let public = private.compute_public_key().map_err(|_| ReplicationError::Crypto)?;
        public.as_ref().try_into().map_err(|_| ReplicationError::Crypto)
    }

    /// The authenticator of a request this deployment sends to `peer`: HMAC-SHA256 over
    /// the request's `X-Amz-Date`, internal operation and body, under a key derived from
    /// X25519 between this deployment's static key and the peer's.
    ///
    /// # Errors
    /// [`ReplicationError::Crypto`] if a primitive fails.
    pub fn request_mac(
        &self,
        peer_public: &[u8; PUBLIC_KEY_LEN_BYTES],
        amz_date: &str,
        operation: &str,
        body: &[u8],
    ) -> Result<String, ReplicationError> {
        let own = self.public_key()?;
        let key = self.pair_key(peer_public, &own, peer_public, ReplicationError::Crypto)?;
        let tag = hmac::sign(&key, &mac_input(amz_date, operation, body));
        Ok(base64::encode(tag.as_ref()))
    }

    /// The public key of the configured peer deployment that made `mac` (see
    /// [`Replication::request_mac`]) for this deployment, or `None` if no peer did.
    /// Compared in constant time.
    pub fn authenticate(
        &self,
        mac: &str,
        amz_date: &str,
        operation: &str,
        body: &[u8],
    ) -> Option<[u8; PUBLIC_KEY_LEN_BYTES]> {
        let tag = base64::decode(mac.trim()).ok()?;
        let own = self.public_key().ok()?;
        let input = mac_input(amz_date, operation, body);
        self.peers.iter().map(|p| p.public_key).find(|sender| {
            self.pair_key(sender, sender, &own, ())
                .is_ok_and(|key| hmac::verify(&key, &input, &tag).is_ok())
        })
    }

    /// Whether the peer deployment with public key `sender` serves `region`.
    pub fn sender_serves(&self, sender: &[u8; PUBLIC_KEY_LEN_BYTES], region: &str) -> bool {
        self.peers.iter().any(|p| &p.public_key == sender && p.region == region)
    }

    /// The HMAC key of requests from `sender` to `recipient`, one of which is this
    /// deployment and the other `peer_public`.
    fn pair_key<E: Copy>(
        &self,
        peer_public: &[u8; PUBLIC_KEY_LEN_BYTES],
        sender: &[u8; PUBLIC_KEY_LEN_BYTES],
        recipient: &[u8; PUBLIC_KEY_LEN_BYTES],
        error: E,
    ) -> Result<hmac::Key, E> {
        let private =
            PrivateKey::from_private_key(&X25519, self.private.as_slice()).map_err(|_| error)?;
        agreement::agree(&private, UnparsedPublicKey::new(&X25519, peer_public), error, |shared| {
            let prk = Salt::new(HKDF_SHA256, MAC_SALT).extract(shared);
            let info = [sender.as_slice(), recipient.as_slice()];
            let okm = prk.expand(&info, hmac::HMAC_SHA256).map_err(|_| error)?;
            Ok(hmac::Key::from(okm))
        })
    }

    /// Opens material a peer sealed for this deployment's key `key_arn`, version `version`.
    ///
    /// # Errors
    /// [`ReplicationError::Open`] if it was sealed for another recipient, key or version, or
    /// was changed.
    pub fn open_from_peer(
        &self,
        key_arn: &str,
        version: u32,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ReplicationError> {
        let (ephemeral, rest) =
            sealed.split_at_checked(PUBLIC_KEY_LEN_BYTES).ok_or(ReplicationError::Open)?;
        let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN).ok_or(ReplicationError::Open)?;
        let recipient = self.public_key()?;
        let private = PrivateKey::from_private_key(&X25519, self.private.as_slice())
            .map_err(|_| ReplicationError::Crypto)?;
        let aead = agreement::agree(
            &private,
            UnparsedPublicKey::new(&X25519, ephemeral),
            ReplicationError::Open,
            |shared| message_key(shared, &recipient, ephemeral, key_arn, version),
        )?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ReplicationError::Open)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = aead
            .open_in_place(nonce, Aad::from(binding(key_arn, version)), buf.as_mut_slice())
            .map_err(|_| ReplicationError::Open)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Seals `material` for the peer with public key `recipient`, bound to the receiving key's
/// ARN and the material version: `ephemeral public key ‖ nonce ‖ AES-256-GCM(material)`.
///
/// # Errors
/// [`ReplicationError::Crypto`] if a primitive fails or the public key is unusable.
pub fn seal_for_peer(
    recipient: &[u8; PUBLIC_KEY_LEN_BYTES],
    key_arn: &str,
    version: u32,
    material: &[u8],
) -> Result<Vec<u8>, ReplicationError> {
    let ephemeral = PrivateKey::generate(&X25519).map_err(|_| ReplicationError::Crypto)?;
    let ephemeral_public = ephemeral.compute_public_key().map_err(|_| ReplicationError::Crypto)?;
    let aead = agreement::agree(
        &ephemeral,
        UnparsedPublicKey::new(&X25519, recipient),
        ReplicationError::Crypto,
        |shared| message_key(shared, recipient, ephemeral_public.as_ref(), key_arn, version),
    )?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).map_err(|_| ReplicationError::Crypto)?;
    // Room for the tag up front, so the plaintext is never left behind in a reallocation;
    // zeroized on drop in case sealing fails midway.
    let mut buf = Zeroizing::new(Vec::with_capacity(material.len() + AES_256_GCM.tag_len()));
    buf.extend_from_slice(material);
    aead.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(binding(key_arn, version)),
        &mut *buf,
    )
    .map_err(|_| ReplicationError::Crypto)?;
    let mut out = ephemeral_public.as_ref().to_vec();
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// The AES-256-GCM key of one message: HKDF-SHA256 over the X25519 shared secret, with
/// both public keys, the key ARN and the version in `info`.
fn message_key(
    shared: &[u8],
    recipient: &[u8],
    ephemeral: &[u8],
    key_arn: &str,
    version: u32,
) -> Result<LessSafeKey, ReplicationError> {
    let prk = Salt::new(HKDF_SHA256, WRAP_SALT).extract(shared);
    let binding = binding(key_arn, version);
    let info = [recipient, ephemeral, binding.as_slice()];
    let okm = prk.expand(&info, HKDF_SHA256).map_err(|_| ReplicationError::Crypto)?;
    let mut key = Zeroizing::new([0u8; 32]);
    okm.fill(key.as_mut_slice()).map_err(|_| ReplicationError::Crypto)?;
    let unbound =
        UnboundKey::new(&AES_256_GCM, key.as_slice()).map_err(|_| ReplicationError::Crypto)?;
    Ok(LessSafeKey::new(unbound))
}

/// What a request authenticator covers: date, operation and body, each delimited.
fn mac_input(amz_date: &str, operation: &str, body: &[u8]) -> Vec<u8> {
    let mut out = b"kms-server replication request v1\0".to_vec();
    out.extend_from_slice(amz_date.as_bytes());
    out.push(0);
    out.extend_from_slice(operation.as_bytes());
    out.push(0);
    out.extend_from_slice(body);
    out
}

fn binding(key_arn: &str, version: u32) -> Vec<u8> {
    let mut out = b"kms-server replicated material v1\0".to_vec();
    out.extend_from_slice(key_arn.as_bytes());
    out.push(0);
    out.extend_from_slice(&version.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replication(root: u8) -> Replication {
        Replication::new(&Keystore::from_bytes(&[root; 32]).unwrap(), &[]).unwrap()
    }

    fn peered(root: u8, peers: &[(&str, u8)]) -> Replication {
        let peers: Vec<PeerConfig> = peers
            .iter()
            .map(|(region, peer_root)| PeerConfig {
                region: (*region).to_owned(),
                endpoint: "http://127.0.0.1:1".to_owned(),
                access_key_id: "k".to_owned(),
                secret_access_key: Secret::new("s".to_owned()),
                public_key: base64::encode(replication(*peer_root).public_key().unwrap()),
            })
            .collect();
        Replication::new(&Keystore::from_bytes(&[root; 32]).unwrap(), &peers).unwrap()
    }

    #[test]
    fn request_macs_name_the_sending_peer_and_cover_date_operation_and_body() {
        let home = peered(1, &[("eu-west-1", 2)]);
        let away = peered(2, &[("us-east-1", 1), ("us-west-2", 1), ("ap-south-1", 3)]);
        let to_away = home
            .request_mac(&away.public_key().unwrap(), "20261205T000000Z", "ApplyReplica", b"{}")
            .unwrap();
        let sender = away.authenticate(&to_away, "20261205T000000Z", "ApplyReplica", b"{}");
        assert_eq!(sender, Some(home.public_key().unwrap()));
        let sender = sender.unwrap();
        assert!(
            away.sender_serves(&sender, "us-east-1") && away.sender_serves(&sender, "us-west-2")
        );
        assert!(!away.sender_serves(&sender, "ap-south-1"));
        for (date, operation, body) in [
            ("20261205T000001Z", "ApplyReplica", &b"{}"[..]),
            ("20261205T000000Z", "ReplicaDeleted", b"{}"),
            ("20261205T000000Z", "ApplyReplica", b"{ }"),
        ] {
            assert_eq!(away.authenticate(&to_away, date, operation, body), None);
        }
        // Not valid in the other direction, nor for a deployment that is not the recipient.
        assert_eq!(home.authenticate(&to_away, "20261205T000000Z", "ApplyReplica", b"{}"), None);
        let third = peered(3, &[("us-east-1", 1)]);
        assert_eq!(third.authenticate(&to_away, "20261205T000000Z", "ApplyReplica", b"{}"), None);
        // Anyone else (knowing every public key) cannot make one.
        let outsider = peered(4, &[("eu-west-1", 2)]);
        let forged = outsider
            .request_mac(&away.public_key().unwrap(), "20261205T000000Z", "ApplyReplica", b"{}")
            .unwrap();
        assert_eq!(away.authenticate(&forged, "20261205T000000Z", "ApplyReplica", b"{}"), None);
        assert_eq!(
            away.authenticate("not base64!", "20261205T000000Z", "ApplyReplica", b"{}"),
            None
        );
    }

    #[test]
    fn sealed_material_opens_only_for_its_recipient_key_and_version() {
        let receiver = replication(1);
        let other = replication(2);
        let public = receiver.public_key().unwrap();
        assert_eq!(public, replication(1).public_key().unwrap(), "derived, so stable");
        assert_ne!(public, other.public_key().unwrap());
        let arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-00112233445566778899aabbccddeeff";
        let sealed = seal_for_peer(&public, arn, 3, b"thirty-two bytes of key material").unwrap();
        let opened = receiver.open_from_peer(arn, 3, &sealed).unwrap();
        assert_eq!(opened.as_slice(), b"thirty-two bytes of key material");
        assert_eq!(other.open_from_peer(arn, 3, &sealed), Err(ReplicationError::Open));
        assert_eq!(receiver.open_from_peer(arn, 4, &sealed), Err(ReplicationError::Open));
        let elsewhere = arn.replace("eu-west-1", "eu-west-2");
        assert_eq!(receiver.open_from_peer(&elsewhere, 3, &sealed), Err(ReplicationError::Open));
        for at in [0, 40, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[at] ^= 1;
            assert!(receiver.open_from_peer(arn, 3, &tampered).is_err(), "byte {at}");
        }
        assert!(receiver.open_from_peer(arn, 3, &sealed[..20]).is_err());
    }
}
