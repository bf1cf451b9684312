"""W3C Bitstring Status List v1.0, the revocation list every credential points at:
pure functions, no database and no network, for the issuer and the verifier alike.

A list is a bitstring of :data:`LIST_SIZE` bits (the specification's minimum, 16 KB,
so one list hides which of many credentials a verifier asks about), bit 0 being the
most significant bit of the first byte. Published as ``encodedList``: the multibase
prefix ``u`` and the unpadded base64url of the GZIP-compressed bitstring. A set bit
means revoked. Decoding refuses anything that would inflate beyond the largest list
this app accepts (:data:`MAX_LIST_BYTES`), so a hostile list cannot exhaust memory.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib
from collections.abc import Iterable, Mapping

from apprentice.credentials.openbadges import VC_CONTEXT

LIST_SIZE = 131_072  # bits: 16 KB, the specification's minimum
PURPOSE = "revocation"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = ("VerifiableCredential", "BitstringStatusListCredential")
LIST_TYPE = "BitstringStatusList"
# A list from elsewhere may be longer than ours; beyond this it is refused unread.
MAX_LIST_BYTES = 16 * 1024 * 1024
MAX_ENCODED_CHARS = 4 * 1024 * 1024
# ASCII digits only: str.isdigit() also takes "²", which int() refuses.
DIGITS = re.compile(r"[0-9]{1,12}")


class BadStatusList(ValueError):
    """A status list (or a credential's entry in one) that cannot be read; says why."""


def entry(list_url: str, index: int) -> dict:
    """A credential's ``credentialStatus``: its place in the list at ``list_url``."""
    if not 0 <= index < LIST_SIZE:
        raise ValueError(f"a status index is between 0 and {LIST_SIZE - 1}")
    return {"id": f"{list_url}#{index}", "type": ENTRY_TYPE, "statusPurpose": PURPOSE,
            "statusListIndex": str(index), "statusListCredential": list_url}


def encode(revoked: Iterable[int], size: int = LIST_SIZE) -> str:
    """``encodedList`` for a list whose set bits are ``revoked``."""
    bits = bytearray(size // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list always encodes to the same text.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    """The bitstring in ``encodedList``, or :class:`BadStatusList` with the reason."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise BadStatusList("encodedList is not multibase base64url (it starts with 'u')")
    if len(encoded) > MAX_ENCODED_CHARS:
        raise BadStatusList("encodedList is too long to be read")
    text = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as problem:
        raise BadStatusList(f"encodedList is not base64url: {problem}") from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP
    try:
        bits = inflater.decompress(compressed, MAX_LIST_BYTES + 1)
    except zlib.error as problem:
        raise BadStatusList(f"encodedList is not GZIP data: {problem}") from None
    if len(bits) > MAX_LIST_BYTES or inflater.unconsumed_tail:
        raise BadStatusList("the status list is larger than any this app reads")
    if not inflater.eof:
        raise BadStatusList("the status list's GZIP data is cut short")
    if len(bits) * 8 < LIST_SIZE:
        raise BadStatusList("the status list is shorter than the 16 KB minimum")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise BadStatusList(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def index_of(status: Mapping) -> tuple[str, int]:
    """The list URL and index a credential's ``credentialStatus`` names, checked."""
    if not isinstance(status, Mapping) or status.get("type") != ENTRY_TYPE:
        raise BadStatusList(f"credentialStatus is not a {ENTRY_TYPE}")
    if status.get("statusPurpose") != PURPOSE:
        raise BadStatusList("credentialStatus is not for revocation")
    url, index = status.get("statusListCredential"), status.get("statusListIndex")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise BadStatusList("credentialStatus names no status list URL")
    if not isinstance(index, str) or not DIGITS.fullmatch(index):
        raise BadStatusList("statusListIndex is not a whole number")
    return url, int(index)


def list_credential(*, list_url: str, issuer: Mapping, valid_from: str, valid_until: str,
                    revoked: Iterable[int]) -> dict:
    """The BitstringStatusListCredential the issuer signs and publishes at ``list_url``;
    it expires at ``valid_until``, so a copy kept too long stops vouching for anything."""
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": list(LIST_CREDENTIAL_TYPE),
        "issuer": {"id": issuer["id"], "name": issuer["name"]},
        "validFrom": valid_from,
        "validUntil": valid_until,
        "credentialSubject": {"id": f"{list_url}#list", "type": LIST_TYPE,
                              "statusPurpose": PURPOSE, "encodedList": encode(revoked)},
    }
