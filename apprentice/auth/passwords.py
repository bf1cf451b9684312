"""Password hashing: argon2id at OWASP's recommended minimum parameters."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("apprentice: no such account")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches. With no hash it still does the work, so
    timing does not tell whether an account exists."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, min_length: int | None = None) -> list[str]:
    """What is wrong with a proposed new password (empty when it is acceptable).

    ``min_length`` defaults to the app's ``APPRENTICE_PASSWORD_MIN_LENGTH``.
    """
    if min_length is None:
        min_length = current_app.config["APPRENTICE_PASSWORD_MIN_LENGTH"]
    if len(password) < min_length:
        return [f"Use at least {min_length} characters. A short phrase is easy to remember."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    if not password.strip():
        return ["A password cannot be only spaces."]
    return []
