"""Users, roles and API keys: who may call Sophia, proof that they are who they say, and how often they may."""

from sophia.accounts._keys import KEY_PATTERN, generate_key, hash_key, parse_prefix
from sophia.accounts._limits import Budget, KeyAdmission, KeyBudgets, LoginThrottle, RateLimited, RateLimiter
from sophia.accounts._models import ALL_SCOPES, ApiKeyInfo, Principal, Role, UserInfo, UserStatus
from sophia.accounts._rows import ApiKeyRow, UserRow
from sophia.accounts._service import AccountService
from sophia.accounts._verifier import MISSING_KEY, KeyVerifier, bearer_token

__all__ = [
    "ALL_SCOPES",
    "KEY_PATTERN",
    "MISSING_KEY",
    "AccountService",
    "ApiKeyInfo",
    "ApiKeyRow",
    "Budget",
    "KeyAdmission",
    "KeyBudgets",
    "KeyVerifier",
    "LoginThrottle",
    "Principal",
    "RateLimited",
    "RateLimiter",
    "Role",
    "UserInfo",
    "UserRow",
    "UserStatus",
    "bearer_token",
    "generate_key",
    "hash_key",
    "parse_prefix",
]
