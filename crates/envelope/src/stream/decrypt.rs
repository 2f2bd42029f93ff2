//! Streaming decryption (spec `client-apis/decrypt.md`).

use std::sync::Arc;

use zeroize::{Zeroize, Zeroizing};

use super::external::{ContentKeyBytes, FrameCallback, FrameParams, Release};
use super::MessageInfo;
use crate::client::DecryptConfig;
use crate::cmm::{CryptographicMaterialsManager, DecryptMaterialsRequest};
use crate::codec::{invalid, Codec, ReadError, Reader};
use crate::crypto::{derive_keys, verify_commitment, ContentKey, SignatureHasher};
use crate::error::{Error, Malformed};
use crate::format::{
    serialize_encryption_context, ContentType, Footer, FrameSequence, HeaderLimits, MessageHeader,
    NonFramedBody, ParsedHeader,
};
use crate::materials::{DecryptionMaterials, EncryptionContext, VerifyingKey};

/// Decrypts one message incrementally.
///
/// Feed ciphertext in chunks of any size to [`Decryptor::update`]; once the header is
/// complete it calls the materials manager and verifies key commitment and the header
/// tag. Each frame's plaintext is appended to the output only after its tag verifies.
/// For signed suites the final frame's plaintext (or a non-framed body's) is held back
/// until [`Decryptor::finish`], which runs after the signature has been verified.
/// Memory holds at most one frame (or one non-framed body), never the whole message.
///
/// For signed suites, plaintext released before [`Decryptor::finish`] succeeds is not
/// yet known to be signed: discard it if `finish` fails.
pub struct Decryptor<'a> {
    cmm: CmmRef<'a>,
    config: DecryptConfig,
    state: State,
    session: Option<Box<Session>>,
    /// Input not consumed yet: at most one unit (header, frame, body or footer).
    buf: Vec<u8>,
    /// `buf` must reach this length before parsing is worth retrying.
    need: usize,
    failed: bool,
    /// The caller verifies the signature itself ([`Decryptor::detach_signature`]).
    detached: bool,
}

/// A signed message's footer, left to the caller by [`Decryptor::detach_signature`]: the
/// DER `signature` over every byte of the message before the footer (`header || body`),
/// to verify with `key` and the suite's hash.
#[derive(Debug, Clone)]
pub struct DetachedSignature {
    /// The verification key from the materials (`aws-crypto-public-key`).
    pub key: VerifyingKey,
    /// The footer's DER ECDSA signature.
    pub signature: Vec<u8>,
}

/// The materials manager, borrowed or shared.
enum CmmRef<'a> {
    Borrowed(&'a dyn CryptographicMaterialsManager),
    Shared(Arc<dyn CryptographicMaterialsManager>),
}

impl CmmRef<'_> {
    fn get(&self) -> &dyn CryptographicMaterialsManager {
        match self {
            CmmRef::Borrowed(cmm) => *cmm,
            CmmRef::Shared(cmm) => cmm.as_ref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Body,
    Footer,
    Done,
}

/// Everything known once the header is verified.
struct Session {
    header: MessageHeader,
    encryption_context: EncryptionContext,
    key: ContentKey,
    verifier: Option<(SignatureHasher, VerifyingKey)>,
    frames: Option<FrameSequence>,
    /// The configured limit on a non-framed body's length.
    max_body_size: Option<u64>,
    /// Plaintext held back until the signature verifies.
    held: Zeroizing<Vec<u8>>,
    /// The derived key as bytes, until an external AES-GCM takes it.
    external_key: Option<ContentKeyBytes>,
    /// Whether the suite signs: the final plaintext waits for the signature.
    verifier_expected: bool,
    /// The verification key, when the caller verifies (detached): nothing is hashed here.
    detached_key: Option<VerifyingKey>,
    /// The footer read in detached mode.
    detached_footer: Option<DetachedSignature>,
    /// The next frame whose plaintext goes out (1 for a non-framed body).
    next_release: u32,
    /// Frames handed out to an external AES-GCM whose plaintext has not come back.
    unreleased: u32,
}

/// Where the decryptor sends each frame it reads: opened here into the output, or
/// handed out to an external AES-GCM.
enum Sink<'s, 'f> {
    Open(&'s mut Vec<u8>),
    External(&'s mut FrameCallback<'f>),
}

impl std::fmt::Debug for Decryptor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryptor")
            .field("state", &self.state)
            .field("header", &self.header())
            .field("buffered", &self.buf.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<'a> Decryptor<'a> {
    /// A decryptor that will ask `cmm` for materials once the header has arrived.
    pub fn new(cmm: &'a dyn CryptographicMaterialsManager, config: &DecryptConfig) -> Self {
        Self::with_cmm(CmmRef::Borrowed(cmm), config)
    }

    fn with_cmm(cmm: CmmRef<'a>, config: &DecryptConfig) -> Self {
        Self {
            cmm,
            config: config.clone(),
            state: State::Header,
            session: None,
            buf: Vec::new(),
            need: 1,
            failed: false,
            detached: false,
        }
    }

    /// Leaves the signature check to the caller, for a caller that holds the whole message
    /// and verifies it elsewhere (kms-wasm: WebCrypto hashes and verifies `header || body`
    /// in one call). Nothing is hashed here; [`Decryptor::finish`] then refuses signed
    /// messages and [`Decryptor::finish_detached`] returns the footer with the plaintext
    /// held back for it. Plaintext is not authenticated by the signature until the caller
    /// has verified it: release nothing before.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] once the header has been read.
    pub fn detach_signature(&mut self) -> Result<(), Error> {
        if self.state != State::Header || self.session.is_some() {
            return Err(Error::ApiMisuse(
                "the signature can only be detached before the header is read".into(),
            ));
        }
        self.detached = true;
        Ok(())
    }

    /// A decryptor that owns a share of `cmm`, so it can outlive the caller's borrow (for
    /// example inside a JavaScript stream).
    pub fn new_shared(
        cmm: Arc<dyn CryptographicMaterialsManager>,
        config: &DecryptConfig,
    ) -> Decryptor<'static> {
        Decryptor::with_cmm(CmmRef::Shared(cmm), config)
    }

    /// The header, once it has been verified.
    pub fn header(&self) -> Option<&MessageHeader> {
        self.session.as_ref().map(|s| &s.header)
    }

    /// The authenticated encryption context (stored plus reproduced pairs), once the
    /// header has been verified. For signed suites it is not known to be signed until
    /// [`Decryptor::finish`] succeeds.
    pub fn encryption_context(&self) -> Option<&EncryptionContext> {
        self.session.as_ref().map(|s| &s.encryption_context)
    }

    /// Consumes the next chunk of the message, appending any plaintext that is ready.
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] for any cryptographic failure, [`Error::Malformed`]
    /// for bad bytes (including bytes after the end of the message),
    /// [`Error::CommitmentPolicy`], [`Error::TooManyEncryptedDataKeys`],
    /// [`Error::UnsupportedSuite`], errors of the materials manager, and
    /// [`Error::ApiMisuse`] if an earlier call failed. After an error the decryptor is
    /// unusable.
    pub async fn update(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.check_usable()?;
        let result = match self.check_no_frames_out() {
            Ok(()) => self.update_inner(chunk, &mut Sink::Open(out)).await,
            Err(e) => Err(e),
        };
        self.fail_on(result)
    }

    /// As [`Decryptor::update`], but every frame (or a non-framed body) goes to `open`, in
    /// order, as `ciphertext || tag`, instead of being decrypted here. Open each with the
    /// key from [`Decryptor::take_content_key`] and give the plaintext back, only once its
    /// tag has verified, to [`Decryptor::write_opened`]. If a frame fails to open, drop
    /// the decryptor: the message is not authentic.
    ///
    /// # Errors
    /// As [`Decryptor::update`], and any error of `open`.
    pub async fn update_external(
        &mut self,
        chunk: &[u8],
        open: &mut FrameCallback<'_>,
    ) -> Result<(), Error> {
        self.check_usable()?;
        let result = self.update_inner(chunk, &mut Sink::External(open)).await;
        self.fail_on(result)
    }

    /// The message's derived content key, for an external AES-GCM, once the header has
    /// been verified (see [`super::external`]). Returns it once; `None` before and after.
    pub fn take_content_key(&mut self) -> Option<ContentKeyBytes> {
        self.session.as_mut().and_then(|s| s.external_key.take())
    }

    /// Takes back the plaintext of a frame handed out by [`Decryptor::update_external`],
    /// which the caller has opened and whose tag has verified, in the order they were
    /// handed out. Appends it to `out`, or, for the final piece of a signed message, holds
    /// it until [`Decryptor::finish`].
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if `frame` is not the next frame of this message to come back,
    /// `plaintext` has the wrong length, or an earlier call failed.
    pub fn write_opened(
        &mut self,
        frame: &FrameParams,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check_usable()?;
        let result = match self.session.as_deref_mut() {
            Some(session) => session.write_opened(frame, plaintext, out),
            None => Err(Error::ApiMisuse("no header yet".into())),
        };
        self.fail_on(result)
    }

    /// As [`Decryptor::write_opened`] for a caller that keeps the opened plaintext outside
    /// (in JavaScript memory, say): checks that `frame` is the next to come back and says
    /// when its plaintext may be released. [`Release::AfterFinish`] (the final piece of a
    /// signed message) means: only once [`Decryptor::finish`] has succeeded, never before.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if `frame` is not the next frame of this message to come back,
    /// or an earlier call failed.
    pub fn release_opened(&mut self, frame: &FrameParams) -> Result<Release, Error> {
        self.check_usable()?;
        let result = match self.session.as_deref_mut() {
            Some(session) => session.release_opened(frame),
            None => Err(Error::ApiMisuse("no header yet".into())),
        };
        if result.is_err() {
            self.fail();
        }
        result
    }

    fn check_no_frames_out(&self) -> Result<(), Error> {
        match &self.session {
            Some(s) if s.unreleased > 0 => {
                Err(Error::ApiMisuse("frames handed out were not given back".into()))
            }
            _ => Ok(()),
        }
    }

    fn fail_on(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        if result.is_err() {
            self.fail();
        }
        result
    }

    /// Ends the message: fails if it is incomplete, otherwise releases any plaintext
    /// held back for the signature and returns what was learned about the message.
    ///
    /// # Errors
    /// [`Error::Malformed`] with [`Malformed::Truncated`] if the message is incomplete;
    /// [`Error::ApiMisuse`] if an earlier call failed.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<MessageInfo, Error> {
        // A detached footer is the caller's to verify: refused before anything is released
        // (the held final plaintext is wiped when the decryptor drops).
        if self.session.as_ref().is_some_and(|s| s.detached_footer.is_some()) {
            return Err(Error::ApiMisuse("a detached signature: use finish_detached".into()));
        }
        match self.finish_detached(out)? {
            (info, None) => Ok(info),
            (_, Some(_)) => {
                Err(Error::ApiMisuse("a detached signature: use finish_detached".into()))
            }
        }
    }

    /// As [`Decryptor::finish`], after [`Decryptor::detach_signature`]: also returns the
    /// footer of a signed message, which the caller must verify before releasing any of
    /// the plaintext (including what this appends to `out`).
    ///
    /// # Errors
    /// As [`Decryptor::finish`].
    pub fn finish_detached(
        mut self,
        out: &mut Vec<u8>,
    ) -> Result<(MessageInfo, Option<DetachedSignature>), Error> {
        self.check_usable()?;
        self.check_no_frames_out()?;
        match (self.state, self.session.take()) {
            (State::Done, Some(mut session)) => {
                let detached = session.detached_footer.take();
                crate::crypto::extend_secret(out, &session.held);
                session.held.zeroize();
                let Session { header, encryption_context, .. } = *session;
                Ok((MessageInfo { suite: header.suite, encryption_context, header }, detached))
            }
            _ => Err(Malformed::Truncated.into()),
        }
    }

    fn check_usable(&self) -> Result<(), Error> {
        if self.failed {
            Err(Error::ApiMisuse("the decryptor already failed".into()))
        } else {
            Ok(())
        }
    }

    fn fail(&mut self) {
        self.failed = true;
        self.session = None;
        self.buf = Vec::new();
    }

    async fn update_inner(&mut self, chunk: &[u8], sink: &mut Sink<'_, '_>) -> Result<(), Error> {
        let mut chunk = chunk;
        if self.state == State::Header && !self.read_header(&mut chunk).await? {
            return Ok(());
        }
        // Body and footer. Complete units are read straight from `chunk`; `buf` only
        // ever holds the start of one unit, topped up to the length it needs.
        loop {
            if self.buf.is_empty() {
                let consumed = self.process(chunk, sink)?;
                self.buf.extend_from_slice(&chunk[consumed..]);
                return Ok(());
            }
            let take = self.need.saturating_sub(self.buf.len()).max(1).min(chunk.len());
            self.buf.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.buf.len() < self.need {
                return Ok(());
            }
            let buf = std::mem::take(&mut self.buf);
            let consumed = self.process(&buf, sink)?;
            self.buf = buf;
            self.buf.drain(..consumed);
            if chunk.is_empty() {
                return Ok(());
            }
        }
    }

    /// Reads the header from `buf` and `chunk` (advancing `chunk` past what it used) and
    /// verifies it. Returns `false` if more bytes are needed.
    async fn read_header(&mut self, chunk: &mut &[u8]) -> Result<bool, Error> {
        let limits = HeaderLimits { max_encrypted_data_keys: self.config.max_encrypted_data_keys };
        if self.config.max_encrypted_data_keys == Some(0) {
            return Err(Error::ApiMisuse("the maximum number of encrypted data keys is 0".into()));
        }
        // Fast path: the whole header is in this chunk. Otherwise it is gathered in `buf`.
        let in_chunk = self.buf.is_empty();
        let parsed = if in_chunk {
            match MessageHeader::parse(chunk, &limits) {
                Ok(parsed) => parsed,
                Err(ReadError::Incomplete { needed }) => {
                    self.buf.extend_from_slice(chunk);
                    self.need = needed;
                    *chunk = &[];
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            loop {
                if self.buf.len() < self.need {
                    if chunk.is_empty() {
                        return Ok(false);
                    }
                    // Grow geometrically so a long header is not re-parsed once per field.
                    let want = (self.need - self.buf.len()).max(self.buf.len());
                    let take = want.min(chunk.len());
                    self.buf.extend_from_slice(&chunk[..take]);
                    *chunk = &chunk[take..];
                    continue;
                }
                match MessageHeader::parse(&self.buf, &limits) {
                    Ok(parsed) => break parsed,
                    Err(ReadError::Incomplete { needed }) => self.need = needed,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        // One await for both paths (each await is a state of its own).
        let len = parsed.len;
        let header_bytes = if in_chunk { &chunk[..len] } else { &self.buf[..len] };
        let session = start_session(self.cmm.get(), &self.config, header_bytes, parsed).await?;
        self.begin_body(session);
        if in_chunk {
            *chunk = &chunk[len..];
        } else {
            self.buf.drain(..len);
            self.need = self.buf.len().max(1);
        }
        Ok(true)
    }

    fn begin_body(&mut self, mut session: Session) {
        if self.detached {
            session.detached_key = session.verifier.take().map(|(_, key)| key);
        }
        self.session = Some(Box::new(session));
        self.state = State::Body;
    }

    /// Processes as many whole units of `input` as there are; returns how many bytes
    /// were used and sets `need` for the unit that is incomplete.
    fn process(&mut self, input: &[u8], sink: &mut Sink<'_, '_>) -> Result<usize, Error> {
        let Some(session) = self.session.as_deref_mut() else {
            return Err(Error::ApiMisuse("no header yet".into()));
        };
        let mut at = 0;
        loop {
            let rest = &input[at..];
            if self.state == State::Done {
                return if rest.is_empty() { Ok(at) } else { Err(Malformed::TrailingBytes.into()) };
            }
            if rest.is_empty() {
                self.need = 1;
                return Ok(at);
            }
            let mut r = Reader::new(rest);
            let step = match self.state {
                State::Body => session.read_body_unit(&mut r, sink),
                State::Footer => session.read_footer(&mut r),
                State::Header | State::Done => return Err(Error::ApiMisuse("bad state".into())),
            };
            match step {
                Ok(next) => {
                    at += r.position();
                    self.state = next;
                }
                Err(UnitError::Incomplete(needed)) => {
                    self.need = needed;
                    return Ok(at);
                }
                Err(UnitError::Fatal(e)) => return Err(e),
            }
        }
    }
}

/// Why a unit could not be processed.
enum UnitError {
    Incomplete(usize),
    Fatal(Error),
}

impl From<ReadError> for UnitError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Incomplete { needed } => UnitError::Incomplete(needed),
            other => UnitError::Fatal(other.into()),
        }
    }
}

impl From<Error> for UnitError {
    fn from(e: Error) -> Self {
        UnitError::Fatal(e)
    }
}

impl Session {
    /// Reads and decrypts one frame (or the non-framed body); returns the next state.
    fn read_body_unit(
        &mut self,
        r: &mut Reader<'_>,
        sink: &mut Sink<'_, '_>,
    ) -> Result<State, UnitError> {
        let message_id = self.header.message_id.as_bytes();
        let signed = self.verifier_expected;
        let (seq, iv, aad, ciphertext, tag, is_last) = match &mut self.frames {
            Some(frames) => {
                let frame = frames.read_next(r)?;
                let aad = frame.aad(message_id);
                (frame.sequence_number, frame.iv, aad, frame.ciphertext, frame.tag, frame.is_final)
            }
            None => {
                if let Some(max) = self.max_body_size {
                    let mut peek = r.clone();
                    peek.bytes(crate::suite::IV_LEN_BYTES)?;
                    if peek.u64()? > max {
                        return Err(UnitError::Fatal(
                            invalid("content length (over the configured maximum body size)")
                                .into(),
                        ));
                    }
                }
                let body = NonFramedBody::read(r)?;
                (1, body.iv, body.aad(message_id), body.ciphertext, body.tag, true)
            }
        };
        match sink {
            Sink::Open(out) => {
                // Signed suites hold the last piece back until the signature verifies.
                let target: &mut Vec<u8> = if signed && is_last { &mut self.held } else { out };
                let start = target.len();
                // `target` may already hold plaintext: its growth must not leave a copy.
                crate::crypto::extend_secret(target, ciphertext);
                let opened =
                    self.key.decrypt_in_place(&iv, aad.as_bytes(), &mut target[start..], &tag);
                if let Err(e) = opened {
                    target.truncate(start);
                    return Err(e.into());
                }
                self.next_release = seq.wrapping_add(1);
            }
            Sink::External(open) => {
                // The tag follows the ciphertext in a frame and in a non-framed body.
                let consumed = r.consumed();
                let start = consumed.len().saturating_sub(ciphertext.len() + tag.len());
                let sealed = consumed.get(start..).unwrap_or_default();
                let params = FrameParams {
                    sequence_number: seq,
                    is_final: is_last,
                    iv,
                    aad,
                    len: ciphertext.len(),
                };
                open(&params, sealed)?;
                self.unreleased += 1;
            }
        }
        if let Some((hasher, _)) = &mut self.verifier {
            hasher.update(r.consumed());
        }
        Ok(match (is_last, signed) {
            (false, _) => State::Body,
            (true, true) => State::Footer,
            (true, false) => State::Done,
        })
    }

    /// Takes back an opened frame: see [`Decryptor::write_opened`].
    fn write_opened(
        &mut self,
        frame: &FrameParams,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if plaintext.len() != frame.len {
            return Err(Error::ApiMisuse("an opened frame has the wrong length".into()));
        }
        let target: &mut Vec<u8> = match self.release_opened(frame)? {
            Release::Now => out,
            Release::AfterFinish => &mut self.held,
        };
        crate::crypto::extend_secret(target, plaintext);
        Ok(())
    }

    /// Checks the order of an opened frame and counts it as back: see
    /// [`Decryptor::release_opened`].
    fn release_opened(&mut self, frame: &FrameParams) -> Result<Release, Error> {
        if self.unreleased == 0
            || frame.sequence_number != self.next_release
            || !frame.belongs_to(self.header.message_id.as_bytes())
        {
            return Err(Error::ApiMisuse("not the next frame handed out by this decryptor".into()));
        }
        self.unreleased -= 1;
        self.next_release = frame.sequence_number.wrapping_add(1);
        Ok(if self.verifier_expected && frame.is_final {
            Release::AfterFinish
        } else {
            Release::Now
        })
    }

    /// Reads the footer and verifies the signature.
    fn read_footer(&mut self, r: &mut Reader<'_>) -> Result<State, UnitError> {
        let footer = Footer::read(r)?;
        if let Some(key) = self.detached_key.take() {
            let signature = footer.signature.to_vec();
            self.detached_footer = Some(DetachedSignature { key, signature });
            return Ok(State::Done);
        }
        let Some((hasher, key)) = self.verifier.take() else {
            return Err(Error::ApiMisuse("no signature expected".into()).into());
        };
        hasher.verify(&key, footer.signature)?;
        Ok(State::Done)
    }
}

/// Checks the policy, gets decryption materials, derives the keys, checks the key
/// commitment and then the header tag.
async fn start_session(
    cmm: &dyn CryptographicMaterialsManager,
    config: &DecryptConfig,
    header_bytes: &[u8],
    parsed: ParsedHeader,
) -> Result<Session, Error> {
    let ParsedHeader { header, body_len, .. } = parsed;
    let suite = header.suite;
    if !config.commitment_policy.allows_decrypt(suite) {
        return Err(Error::CommitmentPolicy(suite.id));
    }
    if config.forbid_signed_suites && suite.is_signed() {
        return Err(Error::UnsupportedSuite(suite.id));
    }
    if let Some(max) = config.max_body_size {
        if u64::from(header.frame_length) > max {
            return Err(invalid("frame length (over the configured maximum body size)").into());
        }
    }
    let materials = cmm
        .decrypt_materials(DecryptMaterialsRequest {
            suite,
            commitment_policy: config.commitment_policy,
            encrypted_data_keys: &header.encrypted_data_keys,
            encryption_context: header.encryption_context.clone(),
            reproduced_encryption_context: config.reproduced_encryption_context.clone(),
        })
        .await?;
    open_session(config, header_bytes, header, body_len, materials)
}

/// Checks the materials against the header, derives the keys, checks the key commitment
/// and the header tag. Plain code, kept out of the async body: nothing in it lives across
/// an await (the wasm client measured smaller).
#[inline(never)]
fn open_session(
    config: &DecryptConfig,
    header_bytes: &[u8],
    header: MessageHeader,
    body_len: usize,
    materials: DecryptionMaterials,
) -> Result<Session, Error> {
    let suite = header.suite;
    if materials.suite.id != suite.id {
        return Err(Error::ApiMisuse(
            "the materials manager returned materials for another algorithm suite".into(),
        ));
    }
    let data_key = materials.plaintext_data_key.as_ref().ok_or(Error::NoDecryptableDataKey)?;
    let verifier = match (suite.signature, materials.verifying_key) {
        (None, None) => None,
        (Some(alg), Some(key)) if key.algorithm() == alg => Some((SignatureHasher::new(alg), key)),
        _ => {
            return Err(Error::InvalidKey(
                "the verification key in the materials does not match the suite".into(),
            ))
        }
    };
    let keys = derive_keys(suite, data_key.expose_secret(), header.message_id.as_bytes())?;

    // Key commitment first, then the header tag.
    if let Some(derived) = &keys.commitment {
        let stored = header.commitment.as_ref().ok_or(Error::DecryptionFailed)?;
        verify_commitment(derived, stored)?;
    }
    let mut required_only = EncryptionContext::new();
    for key in &materials.required_encryption_context_keys {
        let value = materials.encryption_context.get(key).ok_or_else(|| {
            Error::EncryptionContext(format!("the required key \"{key}\" is not in the context"))
        })?;
        required_only.insert(key.clone(), value.clone());
    }
    let mut aad = header_bytes[..body_len].to_vec();
    aad.extend_from_slice(&serialize_encryption_context(&required_only)?);
    keys.content.verify_header_tag(&header.header_iv, &aad, &header.header_tag)?;

    let mut verifier = verifier;
    if let Some((hasher, _)) = &mut verifier {
        hasher.update(header_bytes);
    }
    let frames = match header.content_type {
        ContentType::Framed => Some(FrameSequence::new(header.frame_length)),
        ContentType::NonFramed => None,
    };
    Ok(Session {
        encryption_context: materials.encryption_context,
        header,
        key: keys.content,
        verifier,
        frames,
        max_body_size: config.max_body_size,
        held: Zeroizing::new(Vec::new()),
        external_key: Some(keys.content_bytes),
        next_release: 1,
        unreleased: 0,
        verifier_expected: suite.is_signed(),
        detached_key: None,
        detached_footer: None,
    })
}
