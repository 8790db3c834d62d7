#!/usr/bin/env python3
"""Re-derive kms/testdata/sealed-v1.json with pyca/cryptography, from the
format described in kms/sealed.go, independently of the Go code.

    python3 kms/testdata/crosscheck.py   (Debian: python3-cryptography)
"""
import json
import os
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

path = os.path.join(os.path.dirname(__file__), "sealed-v1.json")
ok = True
for v in json.load(open(path)):
    key_id = v["key_id"].encode()
    header = bytes([1, 1]) + v["version"].to_bytes(4, "big") + bytes([len(key_id)]) + key_id
    nonce = bytes.fromhex(v["nonce"])
    aad = header + v["associated"].encode()
    ct = AESGCM(bytes.fromhex(v["master_key"])).encrypt(nonce, bytes.fromhex(v["plaintext"]), aad)
    blob = header + bytes([len(nonce)]) + nonce + ct
    same = blob.hex() == v["sealed"]
    ok &= same
    print(v["name"], "ok" if same else "MISMATCH")
sys.exit(0 if ok else 1)
