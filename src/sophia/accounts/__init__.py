"""Users, roles and API keys: who may call Sophia, and proof that they are who they say."""

from sophia.accounts._keys import KEY_PATTERN, generate_key, hash_key, parse_prefix
from sophia.accounts._models import ALL_SCOPES, ApiKeyInfo, Principal, Role, UserInfo, UserStatus
from sophia.accounts._service import AccountService

__all__ = [
    "ALL_SCOPES",
    "KEY_PATTERN",
    "AccountService",
    "ApiKeyInfo",
    "Principal",
    "Role",
    "UserInfo",
    "UserStatus",
    "generate_key",
    "hash_key",
    "parse_prefix",
]
