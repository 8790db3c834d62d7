// Package pkcs11 is the kms backend for hardware security modules: master
// keys are AES-256 objects generated inside a PKCS#11 token, and sealing
// and unsealing data keys (CKM_AES_GCM) run inside it. objstore never sees
// a master key.
//
// # Objects on the token
//
// Each master key version is one token object:
//
//	CKA_CLASS        CKO_SECRET_KEY     CKA_KEY_TYPE   CKK_AES, CKA_VALUE_LEN 32
//	CKA_LABEL        "<prefix><id>/v<N>" (e.g. "default/v2")
//	CKA_ID           8 bytes: creation time, big-endian Unix seconds
//	CKA_TOKEN        true (persistent)  CKA_PRIVATE     true (needs login)
//	CKA_SENSITIVE    true               CKA_EXTRACTABLE false
//	CKA_ENCRYPT      true               CKA_DECRYPT     true
//	CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_VERIFY, CKA_DERIVE, CKA_MODIFIABLE  false
//
// so the token refuses to export the key value (CKA_VALUE reads fail with
// CKR_ATTRIBUTE_SENSITIVE, tested) and the object can only encrypt and
// decrypt. Rotation generates the next version's object; old ones stay.
// The creation time sits in CKA_ID because SoftHSM2 2.6 cannot read back
// CKA_START_DATE.
//
// # Sealing
//
// A data key is sealed with C_EncryptInit(CKM_AES_GCM, iv, aad, 128-bit
// tag) + C_Encrypt on the version's object, with a random 96-bit IV (an
// HSM that replaces the IV with its own is supported: the IV it reports is
// the one stored). The additional data is the sealed-blob header and the
// caller's associated data (see package kms). A tag mismatch is
// CKR_ENCRYPTED_DATA_INVALID by the standard and CKR_GENERAL_ERROR in
// SoftHSM2; both are reported as kms.ErrSealed, with the HSM's code in the
// error text.
//
// # Sessions and lifetime
//
// Open loads the module, finds the token by label, opens Config.Sessions
// read-write sessions (a pool: PKCS#11 sessions are single-threaded) and
// logs in once (login is per application). Object handles are cached per
// key and refreshed when a version is missing, so rotations by another
// process are picked up on first use of the new version. Close waits for
// sessions in use, closes them and, if this HSM initialised the module,
// finalises it. PKCS#11 state is per process: open one HSM per module at
// a time. The package needs cgo; without it Open fails.
//
// Tests run against SoftHSM2 (Debian package softhsm2), with a token the
// test initialises itself with softhsm2-util in a temporary directory.
package pkcs11
