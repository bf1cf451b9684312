"""The issuer's Ed25519 signing keys, kept in a folder on the server and never served.

A key is made on first use; :func:`rotate` makes a new one that signs from then on,
while every older public key stays published (retired) so credentials it signed still
verify. The folder ``<instance>/apprentice-keys/`` (0700), or the one
``APPRENTICE_CREDENTIAL_KEYS_DIR`` names (shared by several app servers, on a file system
with working ``flock``, such as NFSv4), holds, for each key:

- ``<kid>.pem``: the private key, PKCS8 PEM, 0600, read only to sign;
- ``<kid>.json``: its public half and dates, all that the public pages ever read;

and ``current``, the kid that signs now. Files are created with ``O_EXCL`` and fsynced
before ``current`` names them, ``current`` is replaced by a rename (a reader never sees
half of it), and an exclusive lock on ``.lock`` serialises making the first key and
rotating, so gunicorn's workers starting at once agree on one key.

``kid`` is the key's JWK thumbprint (RFC 7638, SHA-256, base64url): stable, and
checkable by anyone holding the public key.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import current_app

from apprentice.config import instance_path

log = logging.getLogger(__name__)

KEY_FOLDER = "apprentice-keys"
CURRENT = "current"
LOCK = ".lock"
# A SHA-256 thumbprint in base64url without padding: 43 characters, nothing else, so a
# kid from a URL can never name another file.
KID = re.compile(r"[A-Za-z0-9_-]{43}")
KID_LENGTH = 43


class KeyStoreProblem(RuntimeError):
    """The key folder cannot be read as apprentice wrote it (edited, half-copied)."""


@dataclass(frozen=True)
class PublicKey:
    """A published key: what verifiers read (``public_jwk`` has no private part)."""

    kid: str
    public_jwk: dict
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def current(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True)
class IssuerKey:
    """The key that signs now. ``private_key`` stays in this process: it is left out of
    ``repr`` so no log line or error page can show it."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)
    public_jwk: dict
    created_at: datetime

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature of ``data`` (EdDSA, as JWS ``alg`` EdDSA means)."""
        return self.private_key.sign(data)


# -- JWK helpers (RFC 7517 / RFC 8037 / RFC 7638) ------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(x: str) -> str:
    """The RFC 7638 thumbprint of an Ed25519 JWK with public part ``x``: SHA-256 of its
    required members (crv, kty, x) in order, without spaces."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x},
                           separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk_of(public: Ed25519PublicKey) -> dict:
    """The public JWK as published: kid, kty, crv, x, use, alg, and nothing else."""
    x = b64url(public.public_bytes(serialization.Encoding.Raw,
                                   serialization.PublicFormat.Raw))
    return {"kid": thumbprint(x), "kty": "OKP", "crv": "Ed25519", "x": x,
            "use": "sig", "alg": "EdDSA"}


def ed25519_public_key(jwk: dict) -> Ed25519PublicKey:
    """The key a public JWK describes (a verifier's key file, a fetched JWK); ValueError
    for anything but an Ed25519 OKP key, or one holding a private part."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an Ed25519 key (kty OKP, crv Ed25519)")
    if "d" in jwk:
        raise ValueError("the key file holds a private key: give the public key only")
    x = jwk.get("x")
    if not isinstance(x, str) or not re.fullmatch(r"[A-Za-z0-9_-]{43}", x):
        raise ValueError("the key's x is not a 32-byte base64url value")
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))


# -- the folder -----------------------------------------------------------------------

def key_folder(app=None) -> Path:
    """``APPRENTICE_CREDENTIAL_KEYS_DIR`` (one folder every app server of an installation
    shares), else ``<instance>/apprentice-keys``."""
    app = app or current_app
    shared = app.config.get("APPRENTICE_CREDENTIAL_KEYS_DIR")
    return Path(shared) if shared else instance_path(app) / KEY_FOLDER


def _ensure_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o777 != 0o700:  # made by hand, or under a loose umask
        os.chmod(folder, 0o700)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Held while the first key is made or a rotation runs (released when closed, also
    if the process dies)."""
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (never an existing file) owner-only, and make it durable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_replacing(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` in one step: written beside it, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_new(temporary, data)
    os.replace(temporary, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- reading ----------------------------------------------------------------------------

def _current_kid(folder: Path) -> str | None:
    try:
        kid = (folder / CURRENT).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    if not KID.fullmatch(kid):
        raise KeyStoreProblem(f"{folder / CURRENT} does not name a key")
    return kid


def _read_meta(folder: Path, kid: str) -> dict | None:
    try:
        meta = json.loads((folder / f"{kid}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise KeyStoreProblem(f"{folder / kid}.json cannot be read: {exc}") from None
    if not isinstance(meta, dict) or meta.get("kid") != kid \
            or not isinstance(meta.get("public_jwk"), dict) or meta["public_jwk"].get("kid") != kid:
        raise KeyStoreProblem(f"{folder / kid}.json describes another key")
    return meta


def _public(meta: dict) -> PublicKey:
    return PublicKey(kid=meta["kid"], public_jwk=dict(meta["public_jwk"]),
                     created_at=_moment(meta["created_at"]),
                     retired_at=_moment(meta.get("retired_at")))


def _load(folder: Path, kid: str) -> IssuerKey:
    """The key ``kid`` with its private part, checked against its published half."""
    meta = _read_meta(folder, kid)
    try:
        pem = (folder / f"{kid}.pem").read_bytes()
    except FileNotFoundError:
        pem = None
    if meta is None or pem is None:
        raise KeyStoreProblem(f"the current key {kid} is missing from {folder}")
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        private = None  # reported below, without the file's content
    if not isinstance(private, Ed25519PrivateKey) or \
            public_jwk_of(private.public_key()) != meta["public_jwk"]:
        raise KeyStoreProblem(f"{folder / kid}.pem is not the key {kid}")
    return IssuerKey(kid=kid, private_key=private, public_jwk=dict(meta["public_jwk"]),
                     created_at=_moment(meta["created_at"]))


# -- making -----------------------------------------------------------------------------

def _make_key(folder: Path) -> IssuerKey:
    """A new key's two files, written before anything names it."""
    private = Ed25519PrivateKey.generate()
    jwk = public_jwk_of(private.public_key())
    kid = jwk["kid"]
    created = datetime.now(UTC)
    _write_new(folder / f"{kid}.pem", private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    meta = {"kid": kid, "public_jwk": jwk, "created_at": _stamp(created), "retired_at": None}
    _write_new(folder / f"{kid}.json", json.dumps(meta, indent=2).encode("utf-8"))
    _sync_folder(folder)
    return IssuerKey(kid=kid, private_key=private, public_jwk=dict(jwk), created_at=created)


def _ensure_current(folder: Path) -> str:
    """The current kid, making the first key if there is none (once, whoever races)."""
    kid = _current_kid(folder)
    if kid is not None:
        return kid
    _ensure_folder(folder)
    with _locked(folder):
        kid = _current_kid(folder)  # another worker may have made it while we waited
        if kid is None:
            kid = _make_key(folder).kid
            _write_replacing(folder / CURRENT, kid.encode("ascii"))
            log.info("Made the issuer's first signing key %s", kid)
    return kid


# -- the API ------------------------------------------------------------------------------

def current_key() -> IssuerKey:
    """The key that signs new credentials (made on first use)."""
    folder = key_folder()
    return _load(folder, _ensure_current(folder))


def public_keys() -> list[PublicKey]:
    """Every key ever made, oldest first: the current one and the retired ones. Reading
    makes no key: a verifier run as another user (root, say) must not leave a key file
    the web server cannot read; the first credential issued makes the first key."""
    folder = key_folder()
    current = _current_kid(folder) if folder.is_dir() else None
    if current is None:
        return []
    found = []
    for path in folder.glob("*.json"):
        if KID.fullmatch(path.stem):
            meta = _read_meta(folder, path.stem)
            if meta is not None:
                found.append(_public(meta))
    found.sort(key=lambda key: (key.created_at, key.kid))
    # A rotation stopped between naming the new key and dating the old one leaves an
    # old key undated: it stopped signing when the next one was made.
    for index, key in enumerate(found):
        if key.retired_at is None and key.kid != current:
            following = found[index + 1].created_at if index + 1 < len(found) else None
            found[index] = PublicKey(key.kid, key.public_jwk, key.created_at,
                                     following or key.created_at)
    return found


def public_key(kid: str) -> PublicKey | None:
    """The published key ``kid`` (current or retired); None for anything else, an id of
    the wrong shape included."""
    if not isinstance(kid, str) or not KID.fullmatch(kid):
        return None
    return next((key for key in public_keys() if key.kid == kid), None)


def rotate() -> IssuerKey:
    """Make a new key and let it sign from now on; the old one stays published, retired."""
    folder = key_folder()
    _ensure_folder(folder)
    with _locked(folder):
        old = _current_kid(folder)
        key = _make_key(folder)
        _write_replacing(folder / CURRENT, key.kid.encode("ascii"))
        if old is not None:
            meta = _read_meta(folder, old)
            if meta is not None and meta.get("retired_at") is None:
                meta["retired_at"] = _stamp(key.created_at)
                _write_replacing(folder / f"{old}.json",
                                 json.dumps(meta, indent=2).encode("utf-8"))
    log.info("Rotated the issuer's signing key: %s signs now, %s is retired", key.kid, old)
    return key


# -- backup and restore (``flask apprentice backup`` / ``restore``, apprentice/core/backup.py)

def copy_into(folder: Path) -> int:
    """Copy every key (both halves) and ``current`` into ``folder``, an empty folder the
    backup made: under the lock, so a rotation is never caught half done. How many keys
    were copied (0: this installation has not made one yet)."""
    source = key_folder()
    if not source.is_dir() or _current_kid(source) is None:
        return 0
    with _locked(source):
        kids = sorted(path.stem for path in source.glob("*.pem") if KID.fullmatch(path.stem))
        for kid in kids:
            _load(source, kid)  # both halves there, and one key: else KeyStoreProblem
            for suffix in (".pem", ".json"):
                _write_new(folder / f"{kid}{suffix}", (source / f"{kid}{suffix}").read_bytes())
        _write_new(folder / CURRENT, (source / CURRENT).read_bytes())
    _sync_folder(folder)
    return len(kids)


def take_back(folder: Path) -> str:
    """Bring the keys of a backup (``folder``, written by :func:`copy_into`) back into this
    installation, so what they signed verifies and the issuer signs as before; a sentence
    saying what happened.

    Every key in the backup is checked before anything is written, and added if missing;
    keys here are never removed or overwritten (one may have signed credentials since
    the backup). Which key signs afterwards: if this folder already holds the backup's
    signing key, it is the same installation and its own current key (newer, after a
    rotation since the backup, perhaps one made because a key leaked) goes on signing;
    otherwise (a new server, or one that made a key of its own) the backup's signing
    key signs again, and the key made here stays published, retired."""
    wanted = _current_kid(folder)
    if wanted is None:
        raise KeyStoreProblem(f"{folder} names no signing key: not a backup of issuer keys")
    kids = sorted(path.stem for path in folder.glob("*.pem") if KID.fullmatch(path.stem))
    if wanted not in kids:
        raise KeyStoreProblem(f"the backup's signing key {wanted} is missing from {folder}")
    for kid in kids:
        _load(folder, kid)
    target = key_folder()
    _ensure_folder(target)
    with _locked(target):
        live = _current_kid(target)
        same_installation = (target / f"{wanted}.pem").exists()
        added = [kid for kid in kids if not (target / f"{kid}.pem").exists()]
        for kid in added:
            for suffix in (".pem", ".json"):
                if not (target / f"{kid}{suffix}").exists():
                    _write_new(target / f"{kid}{suffix}", (folder / f"{kid}{suffix}").read_bytes())
        _sync_folder(target)
        signing = live if live is not None and same_installation else wanted
        if signing != live:
            _write_replacing(target / CURRENT, signing.encode("ascii"))
            meta = _read_meta(target, live) if live is not None else None
            if meta is not None and meta.get("retired_at") is None:
                meta["retired_at"] = _stamp(datetime.now(UTC))
                _write_replacing(target / f"{live}.json",
                                 json.dumps(meta, indent=2).encode("utf-8"))
    log.info("Took back %d issuer keys from %s (%d new); %s signs", len(kids), folder,
             len(added), signing)
    kept = "" if signing == wanted else " (this installation's newer key)"
    return (f"{len(kids)} issuer key{'s' if len(kids) != 1 else ''} in the backup, "
            f"{len(added)} added; key {signing} signs{kept}.")
