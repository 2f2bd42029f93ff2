//! TypeScript declarations for the option objects and results, appended to the generated
//! `.d.ts` of every target.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

macro_rules! options_types {
    ($($name:ident),* $(,)?) => {
        #[wasm_bindgen]
        extern "C" {
            $(
                /// An options object (see its TypeScript declaration).
                #[wasm_bindgen(typescript_type = $name)]
                pub type $name;
            )*
        }
    };
}

options_types!(
    EncryptOptions,
    DecryptOptions,
    EncryptStreamOptions,
    DecryptStreamOptions,
    GenerateDataKeyOptions,
    KmsEncryptOptions,
    KmsDecryptOptions,
    GetPublicKeyOptions,
);

/// The options object, or `undefined` when the caller passed none.
pub(crate) fn options_or_undefined<T: Into<JsValue>>(options: Option<T>) -> JsValue {
    options.map_or(JsValue::UNDEFINED, Into::into)
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Any keyring of this package. */
export type Keyring = KmsKeyring | RawAesKeyring | RawRsaKeyring | MultiKeyring | KmsRsaKeyring;

/** What every failure of this package throws or rejects with. */
export interface KmsError extends Error {
  name: "KmsError";
  /** The AWS exception name (`AccessDeniedException`, ...) or a local code
   * (`ValidationException`, `DecryptionFailed`, `MalformedMessage`, `NetworkError`, ...). */
  code: string;
  /** The HTTP status of the KMS response; 0 when no HTTP exchange was involved. */
  status: number;
}

export interface KmsClientOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Tries per call, retries included (throttling and 5xx only). Default 3. */
  maxAttempts?: number;
  /** Base of the full-jitter exponential backoff, in ms. Default 100. */
  retryBaseDelayMs?: number;
}

export interface GenerateDataKeyOptions {
  /** 1 to 1024; or give keySpec. Default: keySpec AES_256. */
  numberOfBytes?: number;
  keySpec?: "AES_256" | "AES_128";
  encryptionContext?: Record<string, string>;
  grantTokens?: string[];
}

export interface KmsEncryptOptions {
  encryptionContext?: Record<string, string>;
  grantTokens?: string[];
  encryptionAlgorithm?: string;
}

export interface KmsDecryptOptions extends KmsEncryptOptions {
  keyId?: string;
}

export interface GetPublicKeyOptions {
  grantTokens?: string[];
}

export interface KmsKeyringOptions {
  client: KmsClient;
  generatorKeyId?: string;
  keyIds?: string[];
  grantTokens?: string[];
  discovery?: boolean;
  discoveryFilter?: { partition: string; accountIDs: string[] };
}

export type CommitmentPolicy =
  | "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"
  | "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
  | "FORBID_ENCRYPT_ALLOW_DECRYPT";

/** Which AES-GCM encrypts and decrypts the message body. `"auto"` (the default) uses
 * WebCrypto (`crypto.subtle`) for large pieces when it exists and Rust otherwise; `"rust"`
 * never uses WebCrypto; `"webcrypto"` uses it for every frame and fails where it is missing.
 * The message bytes are the same either way. */
export type BulkCrypto = "auto" | "rust" | "webcrypto";

export interface EncryptOptions {
  encryptionContext?: Record<string, string>;
  /** A suite id such as 0x0578 (the default) or its name. */
  suiteId?: number | string;
  /** Plaintext bytes per frame (default 4096). */
  frameLength?: number;
  commitmentPolicy?: CommitmentPolicy;
  maxEncryptedDataKeys?: number;
  bulkCrypto?: BulkCrypto;
}

export interface DecryptOptions {
  /** Pairs that must be in the message's encryption context. */
  encryptionContext?: Record<string, string>;
  commitmentPolicy?: CommitmentPolicy;
  maxEncryptedDataKeys?: number;
  /** Refuse frames (or a non-framed body) longer than this many bytes. */
  maxBodySize?: number;
  bulkCrypto?: BulkCrypto;
}

export interface EncryptStreamOptions extends EncryptOptions {
  /** The plaintext length or an upper bound; lets the caching materials manager reuse keys. */
  plaintextLength?: number;
  onMessageHeader?: (header: MessageHeader) => void;
}

export interface DecryptStreamOptions extends DecryptOptions {
  onMessageHeader?: (header: MessageHeader) => void;
}

export interface EncryptedDataKey {
  providerId: string;
  providerInfo: string;
  rawInfo: Uint8Array;
  encryptedDataKey: Uint8Array;
}

export interface MessageHeader {
  version: 1 | 2;
  suiteId: number;
  suiteName: string;
  messageId: Uint8Array;
  encryptionContext: Record<string, string>;
  encryptedDataKeys: EncryptedDataKey[];
  /** 1 non-framed, 2 framed. */
  contentType: 1 | 2;
  frameLength: number;
}
"#;
