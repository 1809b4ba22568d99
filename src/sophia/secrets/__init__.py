"""Secrets: references resolved at use, the encrypted local vault, and a scanner for committed credentials.

A secret setting holds a reference (`env:NAME`, `secret:NAME`, `file:/path`, `vault:PATH#KEY`,
`esc:PROJECT/ENV#KEY`), never the value.
The vault key is 32 random bytes written as urlsafe base64 (44 characters): in SOPHIA_MASTER_KEY, or in a
key file (default SOPHIA_HOME/vault.key, created on first use with mode 0600).
"""

from sophia.secrets._backend import SecretBackend
from sophia.secrets._keys import MASTER_KEY_ENV, decode_key, encode_key, generate_key
from sophia.secrets._refs import RemoteSecrets, SecretResolver, is_secret_ref
from sophia.secrets._remote import HashiCorpVault, PulumiEsc
from sophia.secrets._scan import Finding, scan_path, scan_text, shannon_entropy
from sophia.secrets._vault import Vault, check_name

__all__ = [
    "MASTER_KEY_ENV",
    "Finding",
    "HashiCorpVault",
    "PulumiEsc",
    "RemoteSecrets",
    "SecretBackend",
    "SecretResolver",
    "Vault",
    "check_name",
    "decode_key",
    "encode_key",
    "generate_key",
    "is_secret_ref",
    "scan_path",
    "scan_text",
    "shannon_entropy",
]
