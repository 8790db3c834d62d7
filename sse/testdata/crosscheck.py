#!/usr/bin/env python3
"""Recompute the golden vectors in this directory from the format as doc.go
describes it, with an independent implementation (pyca/cryptography), to
show the description and the Go code agree. Not run by CI (it needs
python3-cryptography); run it by hand after a format change:

    cd sse/testdata && python3 crosscheck.py
"""
import hashlib
import struct

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 65536
KEY = bytes(range(32))
KEK = bytes(range(0xA0, 0xC0))
SALT = bytes(range(0x40, 0x60))
ASSOC = [b"bucket", b"photos/a.jpg", b"version-1"]
META = b"x-amz-meta-colour: blue\n"


def hkdf(secret, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def hkdf_expand(prk, info):  # one block: HMAC(prk, info || 0x01)
    h = hmac.HMAC(prk, hashes.SHA256())
    h.update(info + b"\x01")
    return h.finalize()


def aead(cipher, key):
    return AESGCM(key) if cipher == 1 else ChaCha20Poly1305(key)


def pattern(n):
    return bytes((i * 31 + (i >> 8) + (i >> 16)) & 0xFF for i in range(n))


def stream(cipher, part, size):
    a = aead(cipher, hkdf_expand(KEY, b"objstore sse v1 stream" + bytes([cipher]) + struct.pack(">I", part)))
    pt, n = pattern(size), max(1, -(-size // P))
    out = b""
    for i in range(n):
        nonce = bytes([1 if i == n - 1 else 0, 0, 0, 0]) + struct.pack(">Q", i)
        out += a.encrypt(nonce, pt[i * P:(i + 1) * P], None)
    return out


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


checked = 0
cur = None
for line in open("stream.golden"):
    f = line.split()
    if f and f[0] == "vector":
        cipher, part, size = (int(x.split("=")[1]) for x in (f[1], f[3], f[4]))
        cur = stream(cipher, part, size)
    elif f and f[0] == "ciphertext":
        assert cur.hex() == f[1], line
        checked += 1
    elif f and f[0] == "ciphertext-sha256":
        assert hashlib.sha256(cur).hexdigest() == f[1], line
        checked += 1

sealed = dict(l.split() for l in open("sealed.golden") if not l.startswith("#"))
for cipher in (1, 2):
    hdr = bytes([1, cipher]) + SALT
    ad = hdr + b"".join(uvarint(len(a)) + a for a in ASSOC)
    a = aead(cipher, hkdf(KEK, SALT, b"objstore sse v1 sealed object key"))
    assert (hdr + a.encrypt(bytes(12), KEY, ad)).hex() == sealed["sealed-key-%d" % cipher]
    a = aead(cipher, hkdf(KEY, SALT, b"objstore sse v1 metadata"))
    assert (hdr + a.encrypt(bytes(12), META, hdr)).hex() == sealed["sealed-metadata-%d" % cipher]
    checked += 2
assert (bytes([1]) + SALT + hkdf(KEK, SALT, b"objstore sse v1 client key check")).hex() == sealed["client-key-check"]
checked += 1
print("crosscheck: %d vectors agree with doc.go's description" % checked)
