"""Password hashing (argon2id) and the rules a new password must follow."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 10
MAX_LENGTH = 256

# A real hash to verify against when no account matches, so timing does not reveal
# whether an e-mail has an account.
_DUMMY: dict[tuple[int, int], str] = {}


def _hasher() -> PasswordHasher:
    settings = current_app.config["ECOUTE"]
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; spends the same time when there is no hash."""
    hasher = _hasher()
    if password_hash is None:
        cost = (hasher.time_cost, hasher.memory_cost)
        if cost not in _DUMMY:
            _DUMMY[cost] = hasher.hash("not-a-password")
        dummy = _DUMMY[cost]
        try:
            hasher.verify(dummy, password + "x")
        except VerificationError:
            pass
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
