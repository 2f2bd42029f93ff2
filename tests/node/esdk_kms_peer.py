"""The AWS Encryption SDK for Python with its strict AWS KMS master key provider, as a peer of
kms-wasm's KMS keyring: `esdk_kms_peer.py encrypt|decrypt KEY_ARN < input > output`.

botocore reaches kms-server through AWS_ENDPOINT_URL_KMS; credentials come from the environment.
`encrypt` binds the context {"origin": "python", "Ünï": "✓"}.
"""

import sys

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import CommitmentPolicy


def main() -> None:
    mode, key_arn = sys.argv[1], sys.argv[2]
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn])
    data = sys.stdin.buffer.read()
    if mode == "encrypt":
        context = {"origin": "python", "Ünï": "✓"}
        out, _header = client.encrypt(source=data, key_provider=provider, encryption_context=context)
    else:
        out, _header = client.decrypt(source=data, key_provider=provider)
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
