"""The arithmetic of COMPUTE DIGITAL SIGNATURE (docs/jpki.md §1 "Signing", §6.7).

The card receives a DigestInfo (or, through PKCS#11's CKM_RSA_PKCS, whatever bytes the caller
chose), pads it as EMSA-PKCS1-v1_5 block type 1 (RFC 8017 §9.2 steps 3-5) and applies the RSA
private-key primitive RSASP1 (RFC 8017 §5.2.1). There is no MSE: the selected key EF is the key.

Why not ``RSAPrivateKey.sign``: cryptography offers PKCS#1 v1.5 only as "hash this message" or,
with ``Prehashed``, "wrap this digest in the DigestInfo of a hash algorithm I know". Neither signs
the caller's bytes as they are, which is what the card does and what PKCS#11's raw CKM_RSA_PKCS
mechanism relies on (OpenSC sends the DigestInfo it built, or the caller's raw input, unchanged).
So the block is built here and the primitive is ``pow`` with the key's CRT numbers. For a
DigestInfo of a known hash the result is byte-for-byte what ``sign(..., PKCS1v15(), Prehashed)``
gives (a test checks it). Python's ``pow`` is not constant-time: fine for a sandbox card, whose
keys guard nothing.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

PKCS1_V15_OVERHEAD = 11
"""``00 01``, at least eight ``FF``, ``00`` (RFC 8017 §9.2 step 3)."""
MAX_DIGEST_INFO = 256 - PKCS1_V15_OVERHEAD
"""245 bytes for RSA-2048: the longest input the card signs (docs/jpki.md §1)."""


def emsa_pkcs1_v15(digest_info: bytes, k: int) -> bytes:
    """``00 01 FF..FF 00 || T`` of k bytes (RFC 8017 §9.2 steps 3-5)."""
    if len(digest_info) > k - PKCS1_V15_OVERHEAD:
        raise ValueError("intended encoded message length too short")
    padding = b"\xff" * (k - len(digest_info) - 3)
    return b"\x00\x01" + padding + b"\x00" + digest_info


def sign_digest_info(key: rsa.RSAPrivateKey, digest_info: bytes) -> bytes:
    """The k-byte signature of ``digest_info`` as a JPKI card computes it."""
    numbers = key.private_numbers()
    public = numbers.public_numbers
    k = (public.n.bit_length() + 7) // 8
    m = int.from_bytes(emsa_pkcs1_v15(digest_info, k), "big")
    # RSASP1 with the CRT (RFC 8017 §5.1.2, second form).
    s1 = pow(m, numbers.dmp1, numbers.p)
    s2 = pow(m, numbers.dmq1, numbers.q)
    h = numbers.iqmp * (s1 - s2) % numbers.p
    s = s2 + numbers.q * h
    if pow(s, public.e, public.n) != m:  # a card checks its result before sending it
        raise ArithmeticError("RSA signature self-check failed")
    return s.to_bytes(k, "big")
