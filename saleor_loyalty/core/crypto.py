"""Encryption at rest for secrets we must keep (Saleor app tokens).

Fernet (AES-128-CBC + HMAC) with ``MultiFernet`` so keys rotate: the first key in FIELD_ENCRYPTION_KEYS
encrypts, every key decrypts. Without configured keys a key is derived from SECRET_KEY so a first run works.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    derived = base64.urlsafe_b64encode(hashlib.sha256(b"saleor-loyalty:" + secret_key.encode()).digest())
    return MultiFernet([Fernet(derived)])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from exc
