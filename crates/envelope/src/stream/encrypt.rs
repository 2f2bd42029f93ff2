//! Streaming encryption (spec `client-apis/encrypt.md`).

use zeroize::{Zeroize, Zeroizing};

use super::external::{ContentKeyBytes, FrameCallback, FrameParams, SEALED_OVERHEAD_BYTES};
use crate::client::EncryptConfig;
use crate::cmm::{CryptographicMaterialsManager, EncryptionMaterialsRequest};
use crate::codec::Codec;
use crate::crypto::{derive_keys, fill_random, ContentKey, SignatureHasher};
use crate::error::Error;
use crate::format::frame::{encode_frame_prefix, frame_iv, BodyAad, BodyAadContent};
use crate::format::{serialize_encryption_context, ContentType, Footer, MessageHeader, MessageId};
use crate::materials::{EncryptionContext, EncryptionMaterials, SigningKey};
use crate::suite::{AlgorithmSuite, MessageFormatVersion, IV_LEN_BYTES, TAG_LEN_BYTES};

/// The prefix of encryption context keys reserved for the SDK.
const RESERVED_PREFIX: &str = "aws-crypto-";
/// Buffer at most this much of a frame up front; larger frames grow as data arrives.
const PENDING_PREALLOC_MAX_BYTES: usize = 1 << 20;

/// Encrypts one message incrementally.
///
/// Created from a materials manager; [`Encryptor::update`] writes the header and then
/// each frame as soon as it is full, and [`Encryptor::finish`] writes the final frame and
/// the footer. Memory holds at most one frame of plaintext.
pub struct Encryptor {
    header: MessageHeader,
    header_bytes: Option<Vec<u8>>,
    encryption_context: EncryptionContext,
    writer: FrameWriter,
    frame_length: usize,
    pending: Zeroizing<Vec<u8>>,
    plaintext_len: u64,
    plaintext_length_bound: Option<u64>,
    /// The derived key as bytes, until an external AES-GCM takes it.
    external_key: Option<ContentKeyBytes>,
    /// The final frame has been handed out to an external AES-GCM.
    final_issued: bool,
    failed: bool,
}

/// Where [`Encryptor`] sends the frames it cuts: sealed here into the output, or handed
/// out to an external AES-GCM.
enum Sink<'s, 'f> {
    Seal(&'s mut Vec<u8>),
    External(&'s mut FrameCallback<'f>),
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("header", &self.header)
            .field("next_sequence_number", &self.writer.next_sequence_number)
            .field("plaintext_len", &self.plaintext_len)
            .finish_non_exhaustive()
    }
}

impl Encryptor {
    /// Gets materials from `cmm` and prepares the header.
    ///
    /// # Errors
    /// [`Error::EncryptionContext`] if a key starts with `aws-crypto-` or a required key
    /// is missing, [`Error::CommitmentPolicy`] if the requested or returned suite breaks
    /// the policy, [`Error::TooManyEncryptedDataKeys`], [`Error::ApiMisuse`] for a frame
    /// length of 0 or a maximum of 0 keys, [`Error::Random`], and any error of `cmm`.
    pub async fn new(
        cmm: &dyn CryptographicMaterialsManager,
        encryption_context: EncryptionContext,
        config: &EncryptConfig,
    ) -> Result<Self, Error> {
        if config.frame_length == 0 {
            return Err(Error::ApiMisuse("the frame length must be at least 1".into()));
        }
        if config.max_encrypted_data_keys == Some(0) {
            return Err(Error::ApiMisuse("the maximum number of encrypted data keys is 0".into()));
        }
        if let Some(suite) = config.suite {
            if !config.commitment_policy.allows_encrypt(suite) {
                return Err(Error::CommitmentPolicy(suite.id));
            }
        }
        if let Some(key) = encryption_context.keys().find(|k| k.starts_with(RESERVED_PREFIX)) {
            return Err(Error::EncryptionContext(format!(
                "the key \"{key}\" uses the reserved prefix \"{RESERVED_PREFIX}\""
            )));
        }
        let materials = cmm
            .get_encryption_materials(EncryptionMaterialsRequest {
                encryption_context,
                commitment_policy: config.commitment_policy,
                suite: config.suite,
                max_plaintext_length: config.plaintext_length_bound,
                required_encryption_context_keys: Vec::new(),
            })
            .await?;
        Self::from_materials(materials, config)
    }

    fn from_materials(
        materials: EncryptionMaterials,
        config: &EncryptConfig,
    ) -> Result<Self, Error> {
        let EncryptionMaterials {
            suite,
            encryption_context,
            required_encryption_context_keys,
            encrypted_data_keys,
            plaintext_data_key,
            signing_key,
        } = materials;
        if !config.commitment_policy.allows_encrypt(suite) {
            return Err(Error::CommitmentPolicy(suite.id));
        }
        if encrypted_data_keys.is_empty() {
            return Err(Error::Keyring("the materials hold no encrypted data key".into()));
        }
        if let Some(max) = config.max_encrypted_data_keys {
            if encrypted_data_keys.len() > max {
                return Err(Error::TooManyEncryptedDataKeys(max));
            }
        }
        let data_key = plaintext_data_key
            .ok_or_else(|| Error::Keyring("the materials hold no plaintext data key".into()))?;
        let signer = match (suite.signature, signing_key) {
            (None, None) => None,
            (Some(alg), Some(key)) if signing_key_matches(&key, alg) => {
                Some((SignatureHasher::new(alg), key))
            }
            _ => {
                return Err(Error::InvalidKey(
                    "the signing key in the materials does not match the suite".into(),
                ))
            }
        };

        // Pairs listed as required are authenticated but not stored.
        let mut stored = encryption_context.clone();
        let mut required_only = EncryptionContext::new();
        for key in &required_encryption_context_keys {
            let value = stored.remove(key).ok_or_else(|| {
                Error::EncryptionContext(format!(
                    "the required key \"{key}\" is not in the context"
                ))
            })?;
            required_only.insert(key.clone(), value);
        }

        let message_id = random_message_id(suite)?;
        let keys = derive_keys(suite, data_key.expose_secret(), message_id.as_bytes())?;
        drop(data_key);
        let mut header = MessageHeader {
            suite,
            message_id,
            encryption_context: stored,
            encrypted_data_keys,
            content_type: ContentType::Framed,
            frame_length: config.frame_length,
            commitment: keys.commitment.as_deref().copied(),
            header_iv: [0; IV_LEN_BYTES],
            header_tag: [0; TAG_LEN_BYTES],
        };
        let mut header_bytes = Vec::new();
        header.encode_body(&mut header_bytes)?;
        let body_len = header_bytes.len();
        header_bytes.extend_from_slice(&serialize_encryption_context(&required_only)?);
        header.header_tag = keys.content.header_tag(&header.header_iv, &header_bytes)?;
        header_bytes.truncate(body_len);
        header.encode_auth(&mut header_bytes);

        Ok(Self {
            header_bytes: Some(header_bytes),
            writer: FrameWriter {
                key: keys.content,
                message_id: header.message_id.clone(),
                signer,
                next_sequence_number: 1,
                next_to_issue: 1,
                final_written: false,
            },
            external_key: Some(keys.content_bytes),
            final_issued: false,
            header,
            encryption_context,
            frame_length: usize::try_from(config.frame_length).unwrap_or(usize::MAX),
            pending: Zeroizing::new(Vec::new()),
            plaintext_len: 0,
            plaintext_length_bound: config.plaintext_length_bound,
            failed: false,
        })
    }

    /// The message header (its tag already computed).
    pub fn header(&self) -> &MessageHeader {
        &self.header
    }

    /// The algorithm suite the materials manager chose.
    pub fn suite(&self) -> &'static AlgorithmSuite {
        self.header.suite
    }

    /// The key that signs the footer (signed suites), unless
    /// [`Encryptor::detach_signature`] took it.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.writer.signer.as_ref().map(|(_, key)| key)
    }

    /// Leaves the footer to the caller, for a caller that holds the whole message and signs
    /// it elsewhere (kms-wasm: WebCrypto signs `header || body` in one call, hashing it
    /// natively). From here the message is hashed nowhere and [`Encryptor::finish`] writes
    /// no footer: the caller signs every byte written (header and frames) with the
    /// returned key's algorithm and appends the footer
    /// ([`crate::signature::footer_from_fixed`] builds it); a message without it does not
    /// decrypt. Returns the signing key, or `None` for a suite that does not sign.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] once the header has been written (the bytes already out would
    /// be hashed by neither side), or if an earlier call failed.
    pub fn detach_signature(&mut self) -> Result<Option<SigningKey>, Error> {
        self.check_usable()?;
        if self.header_bytes.is_none() {
            return Err(Error::ApiMisuse(
                "the signature can only be detached before the header is written".into(),
            ));
        }
        Ok(self.writer.signer.take().map(|(_, key)| key))
    }

    /// The full encryption context the message is bound to, including pairs that are
    /// authenticated but not stored.
    pub fn encryption_context(&self) -> &EncryptionContext {
        &self.encryption_context
    }

    /// An upper estimate of the message length for `plaintext_len` more bytes, to size
    /// output buffers.
    pub fn ciphertext_len_estimate(&self, plaintext_len: usize) -> usize {
        let frames = plaintext_len / self.frame_length.max(1) + 1;
        let header = self.header_bytes.as_ref().map_or(0, Vec::len);
        let footer = if self.writer.signer.is_some() { 2 + 104 } else { 0 };
        plaintext_len
            .saturating_add(frames.saturating_mul(4 + 4 + IV_LEN_BYTES + 4 + TAG_LEN_BYTES))
            .saturating_add(header + footer)
    }

    /// Encrypts more plaintext, appending the header (first call) and every frame
    /// that is complete. A full frame is kept back until more plaintext or
    /// [`Encryptor::finish`] shows whether it is the final one.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the plaintext grows past the declared length bound, the
    /// message would need more than 2^32 - 1 frames, or an earlier call failed.
    pub fn update(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.check_usable()?;
        let result = self
            .check_no_frames_out()
            .and_then(|()| self.update_inner(plaintext, &mut Sink::Seal(out)));
        self.fail_on(result)
    }

    /// Writes the final frame (unless [`Encryptor::finish_external`] handed it out and
    /// [`Encryptor::write_sealed`] wrote it) and, for signed suites, the footer.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if an earlier call failed or a frame handed out was not written
    /// back; [`Error::InvalidKey`] if signing fails.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.check_usable()?;
        if self.final_issued {
            if !self.writer.final_written {
                return Err(Error::ApiMisuse("the final frame was not written back".into()));
            }
        } else {
            self.check_no_frames_out()?;
            self.write_header(out);
            self.writer.write_frame(&self.pending, true, out)?;
        }
        if let Some((hasher, key)) = self.writer.signer.take() {
            let signature = hasher.sign(&key)?;
            Footer { signature: &signature }.encode(out)?;
        }
        Ok(())
    }

    /// The message's derived content key, for an external AES-GCM (see
    /// [`super::external`]). Returns it once; `None` afterwards.
    pub fn take_content_key(&mut self) -> Option<ContentKeyBytes> {
        self.external_key.take()
    }

    /// Plaintext bytes received but not yet handed out or encrypted (at most one frame).
    pub fn buffered_len(&self) -> usize {
        self.pending.len()
    }

    /// As [`Encryptor::update`], but every complete frame goes to `seal` (in order) instead
    /// of being encrypted here; give each one back, sealed, to [`Encryptor::write_sealed`].
    /// The header is written with the first sealed frame.
    ///
    /// # Errors
    /// As [`Encryptor::update`], and any error of `seal`.
    pub fn update_external(
        &mut self,
        plaintext: &[u8],
        seal: &mut FrameCallback<'_>,
    ) -> Result<(), Error> {
        self.check_usable()?;
        let result = if self.final_issued {
            Err(Error::ApiMisuse("the final frame was already handed out".into()))
        } else {
            self.update_inner(plaintext, &mut Sink::External(seal))
        };
        self.fail_on(result)
    }

    /// Hands the final frame to `seal`; write it back with [`Encryptor::write_sealed`],
    /// then call [`Encryptor::finish`] for the footer.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if an earlier call failed or the final frame was already handed
    /// out, and any error of `seal`.
    pub fn finish_external(&mut self, seal: &mut FrameCallback<'_>) -> Result<(), Error> {
        self.check_usable()?;
        let result = if self.final_issued {
            Err(Error::ApiMisuse("the final frame was already handed out".into()))
        } else {
            self.final_issued = true;
            self.writer.issue_frame(&self.pending, true, seal)
        };
        self.fail_on(result)
    }

    /// Writes a frame handed out by [`Encryptor::update_external`] or
    /// [`Encryptor::finish_external`], sealed (`ciphertext || tag`, as AES-GCM APIs such
    /// as WebCrypto return it), preceded by the header if it is the first. Frames must
    /// come back in the order they were handed out.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if `frame` is not the next frame of this message to write or
    /// `sealed` has the wrong length, or an earlier call failed.
    pub fn write_sealed(
        &mut self,
        frame: &FrameParams,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check_usable()?;
        let result = self.writer.check_sealed(frame, sealed).map(|()| {
            self.write_header(out);
            self.writer.write_sealed(frame, sealed, out);
        });
        self.fail_on(result)
    }

    /// As [`Encryptor::write_sealed`] for a caller that keeps the sealed frame outside (in
    /// JavaScript memory, say) and assembles the message itself: checks `frame` (the next
    /// handed out, sealed to `sealed_len` bytes) and appends what precedes it — the header
    /// if it is the first, then the frame's own prefix. The caller writes the sealed frame
    /// right after. Only for suites that do not sign: a signature covers the sealed bytes,
    /// which must then go through [`Encryptor::write_sealed`].
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the suite signs, `frame` is not the next frame of this
    /// message to write, `sealed_len` is wrong, or an earlier call failed.
    pub fn write_sealed_prefix(
        &mut self,
        frame: &FrameParams,
        sealed_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check_usable()?;
        let result = if self.writer.signer.is_some() {
            Err(Error::ApiMisuse("a signed message needs the sealed bytes".into()))
        } else {
            self.writer.check_sealed_len(frame, sealed_len).map(|()| {
                self.write_header(out);
                self.writer.write_sealed_prefix(frame, out);
            })
        };
        self.fail_on(result)
    }

    fn check_no_frames_out(&self) -> Result<(), Error> {
        if self.writer.next_to_issue != self.writer.next_sequence_number || self.final_issued {
            return Err(Error::ApiMisuse("frames handed out were not written back".into()));
        }
        Ok(())
    }

    fn fail_on(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        if result.is_err() {
            self.fail();
        }
        result
    }

    fn check_usable(&self) -> Result<(), Error> {
        if self.failed {
            Err(Error::ApiMisuse("the encryptor already failed".into()))
        } else {
            Ok(())
        }
    }

    fn fail(&mut self) {
        self.failed = true;
        self.pending.zeroize();
        self.external_key = None;
    }

    fn update_inner(&mut self, plaintext: &[u8], sink: &mut Sink<'_, '_>) -> Result<(), Error> {
        self.plaintext_len = self.plaintext_len.saturating_add(plaintext.len() as u64);
        if let Some(bound) = self.plaintext_length_bound {
            if self.plaintext_len > bound {
                return Err(Error::ApiMisuse(
                    "the plaintext is longer than the declared length bound".into(),
                ));
            }
        }
        if let Sink::Seal(out) = sink {
            self.write_header(out);
        }
        let frame = self.frame_length;
        let mut input = plaintext;
        while !input.is_empty() {
            if self.pending.len() == frame {
                self.writer.emit(&self.pending, sink)?;
                // Reuse the buffer; `Zeroizing` wipes its whole capacity on drop.
                self.pending.clear();
            }
            if self.pending.is_empty() && input.len() > frame {
                // Whole frames straight from the input, without copying into `pending`;
                // the last full frame stays back in case it is the final one.
                self.writer.emit(&input[..frame], sink)?;
                input = &input[frame..];
                continue;
            }
            if self.pending.capacity() == 0 {
                self.pending.reserve(frame.min(PENDING_PREALLOC_MAX_BYTES));
            }
            let take = (frame - self.pending.len()).min(input.len());
            crate::crypto::extend_secret(&mut self.pending, &input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if let Some(header) = self.header_bytes.take() {
            if let Some((hasher, _)) = &mut self.writer.signer {
                hasher.update(&header);
            }
            out.extend_from_slice(&header);
        }
    }
}

/// Encrypts (or hands out) and serialises frames, and feeds them to the signature.
struct FrameWriter {
    key: ContentKey,
    message_id: MessageId,
    signer: Option<(SignatureHasher, SigningKey)>,
    /// The next frame to write to the output.
    next_sequence_number: u32,
    /// The next frame to hand out to an external AES-GCM; equal to `next_sequence_number`
    /// when no frame is out.
    next_to_issue: u32,
    final_written: bool,
}

/// Fails if frame `seq` cannot be in a message: numbers run from 1 to 2^32 - 1, and
/// 2^32 - 1 reads as the final-frame marker, so only the final frame may use it.
fn check_sequence_number(seq: u32, is_final: bool) -> Result<(), Error> {
    if seq == 0 || (!is_final && seq == u32::MAX) {
        return Err(Error::ApiMisuse("a message holds at most 2^32 - 1 frames".into()));
    }
    Ok(())
}

impl FrameWriter {
    /// A non-final frame, to whichever side runs AES-GCM.
    fn emit(&mut self, plaintext: &[u8], sink: &mut Sink<'_, '_>) -> Result<(), Error> {
        match sink {
            Sink::Seal(out) => self.write_frame(plaintext, false, out),
            Sink::External(seal) => self.issue_frame(plaintext, false, seal),
        }
    }

    fn params(&self, seq: u32, is_final: bool, len: usize) -> FrameParams {
        let content = if is_final { BodyAadContent::FinalFrame } else { BodyAadContent::Frame };
        FrameParams {
            sequence_number: seq,
            is_final,
            iv: frame_iv(seq),
            aad: BodyAad::new(self.message_id.as_bytes(), content, seq, len as u64),
            len,
        }
    }

    /// Hands frame `next_to_issue` out to `seal`.
    fn issue_frame(
        &mut self,
        plaintext: &[u8],
        is_final: bool,
        seal: &mut FrameCallback<'_>,
    ) -> Result<(), Error> {
        let seq = self.next_to_issue;
        check_sequence_number(seq, is_final)?;
        seal(&self.params(seq, is_final, plaintext.len()), plaintext)?;
        // As in `write_frame`: wrapping after the final frame stops any further frame.
        self.next_to_issue = seq.wrapping_add(1);
        Ok(())
    }

    /// Checks that `frame` is the next one to write and `sealed` fits it.
    fn check_sealed(&self, frame: &FrameParams, sealed: &[u8]) -> Result<(), Error> {
        self.check_sealed_len(frame, sealed.len())
    }

    /// Checks that `frame` is the next one to write, sealed to `sealed_len` bytes.
    fn check_sealed_len(&self, frame: &FrameParams, sealed_len: usize) -> Result<(), Error> {
        let out_of_order = frame.sequence_number != self.next_sequence_number
            || self.next_sequence_number == self.next_to_issue
            || self.final_written
            || !frame.belongs_to(self.message_id.as_bytes());
        if out_of_order {
            return Err(Error::ApiMisuse("not the next frame handed out by this encryptor".into()));
        }
        if sealed_len != frame.len + SEALED_OVERHEAD_BYTES {
            return Err(Error::ApiMisuse("a sealed frame has the wrong length".into()));
        }
        Ok(())
    }

    /// Writes the prefix of a frame checked by `check_sealed_len` (unsigned suites only:
    /// nothing is hashed).
    fn write_sealed_prefix(&mut self, frame: &FrameParams, out: &mut Vec<u8>) {
        encode_frame_prefix(out, frame.sequence_number, frame.is_final, frame.len);
        self.final_written = frame.is_final;
        self.next_sequence_number = frame.sequence_number.wrapping_add(1);
    }

    /// Writes a frame checked by `check_sealed`.
    fn write_sealed(&mut self, frame: &FrameParams, sealed: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        encode_frame_prefix(out, frame.sequence_number, frame.is_final, frame.len);
        out.extend_from_slice(sealed);
        if let Some((hasher, _)) = &mut self.signer {
            hasher.update(&out[start..]);
        }
        self.final_written = frame.is_final;
        self.next_sequence_number = frame.sequence_number.wrapping_add(1);
    }

    fn write_frame(
        &mut self,
        plaintext: &[u8],
        is_final: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let seq = self.next_sequence_number;
        check_sequence_number(seq, is_final)?;
        let start = out.len();
        encode_frame_prefix(out, seq, is_final, plaintext.len());
        let content_start = out.len();
        out.extend_from_slice(plaintext);
        let content = if is_final { BodyAadContent::FinalFrame } else { BodyAadContent::Frame };
        let aad = BodyAad::new(self.message_id.as_bytes(), content, seq, plaintext.len() as u64);
        match self.key.encrypt_in_place(&frame_iv(seq), aad.as_bytes(), &mut out[content_start..]) {
            Ok(tag) => out.extend_from_slice(&tag),
            Err(e) => {
                out[start..].zeroize();
                out.truncate(start);
                return Err(e);
            }
        }
        if let Some((hasher, _)) = &mut self.signer {
            hasher.update(&out[start..]);
        }
        // After the final frame the counter is never used again; wrapping to 0 there
        // makes any further frame fail the check above.
        self.next_sequence_number = seq.wrapping_add(1);
        self.next_to_issue = self.next_sequence_number;
        self.final_written = is_final;
        Ok(())
    }
}

fn signing_key_matches(key: &SigningKey, alg: crate::suite::SignatureAlgorithm) -> bool {
    key.algorithm() == alg
}

fn random_message_id(suite: &AlgorithmSuite) -> Result<MessageId, Error> {
    let fill = fill_random;
    Ok(match suite.message_format {
        MessageFormatVersion::V1 => {
            let mut id = [0u8; 16];
            fill(&mut id)?;
            MessageId::V1(id)
        }
        MessageFormatVersion::V2 => {
            let mut id = [0u8; 32];
            fill(&mut id)?;
            MessageId::V2(id)
        }
    })
}
