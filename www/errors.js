// Plain-words explanations of the package's KmsError codes.

/** A sentence a person can act on, for any error the page can meet. */
export function explain (error, endpoint) {
  const code = error?.code ?? ''
  const detail = error?.message ?? String(error)
  switch (code) {
    case 'NetworkError':
      return `Cannot reach kms-server at ${endpoint}. Is it running? Start it with scripts/run, then try again.`
    case 'AccessDeniedException':
      return 'Access denied: these credentials may not use this key or operation (check the key policy and IAM permissions).'
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'IncompleteSignatureException':
    case 'MissingAuthenticationTokenException':
      return 'Access denied: kms-server does not accept these credentials. The local test credentials are test / test.'
    case 'ExpiredTokenException':
      return 'The temporary credentials have expired. Reload the page for a new session.'
    case 'DisabledException':
      return 'The KMS key is disabled, so it cannot make or open data keys. Enable it to continue.'
    case 'KMSInvalidStateException':
      return 'The KMS key cannot be used in its current state (for example, pending deletion).'
    case 'NotFoundException':
      return 'The KMS key or alias does not exist.'
    case 'InvalidCiphertextException':
      return 'Decryption refused: the stored item does not verify. A signed attribute was changed, renamed, added or removed, or the header or footer was altered. Nothing was decrypted.'
    case 'NoDecryptableDataKeyException':
      return 'Decryption refused: no key could open this item\'s data key. Its encryption context (table, keys or context attributes) was changed, or it was written with another key.'
    case 'ValidationException':
      return `That input is not valid: ${detail}`
    case 'ThrottlingException':
    case 'LimitExceededException':
      return 'kms-server is asking the page to slow down. Wait a moment and try again.'
    default:
      return code ? `Something went wrong (${code}): ${detail}` : `Something went wrong: ${detail}`
  }
}
