// Package kmip is the kms backend for KMIP key servers: master keys are
// AES-256 objects created on the server, and data keys are sealed and
// unsealed by the server's Encrypt and Decrypt operations (AES-GCM), so
// objstore never holds a master key.
//
// It carries its own small KMIP 1.4 client (no maintained Go KMIP library
// could be had): the TTLV encoding, one batch item per request, over
// mutual TLS with kept-alive connections. Only the operations objstore
// needs are implemented: Create, Activate, Destroy (to clean up a failed
// activation), Locate, Get Attributes, Encrypt and Decrypt.
//
// # TTLV
//
// Every item is a tag, a type, a length and a value padded to 8 bytes:
//
//	 0        3      4             8                    8+pad8(len)
//	+--------+------+-------------+--------------------+
//	| tag    | type | length u32  | value, zero padded |
//	| 0x42xx |      | big endian  | to a multiple of 8 |
//	+--------+------+-------------+--------------------+
//
// Structures hold items; integers and enumerations are 4 bytes (+4 of
// padding), long integers, booleans and date-times 8, strings their
// length. The decoder accepts only canonical encodings (zero padding,
// exact fixed lengths, booleans 0 or 1, UTF-8 text), bounds nesting and
// message size, and is fuzzed (FuzzDecodeTTLV): what it accepts encodes
// back to the same bytes. The KMIP specification's own encoding examples
// are its test vectors.
//
// # Keys on the server
//
// Each master key version is one Symmetric Key object, AES, 256 bits,
// usage mask Encrypt|Decrypt, named "<prefix><id>/v<N>" (prefix default
// "objstore/") in the Object Group "<prefix without the slash>", created
// and then activated. Versions are found with Locate by Name (v1, v2, ...
// until one is missing) and cached with their unique identifiers.
//
// # Sealing
//
// Encrypt with Cryptographic Parameters {GCM, AES, tag length 16}, a
// random 96-bit IV, and the sealed-blob header plus the caller's
// associated data as the Authenticated Encryption Additional Data; the
// ciphertext stored is Data || Authenticated Encryption Tag. Decrypt
// sends them back. A tag mismatch is Result Reason Cryptographic Failure
// by the standard and General Failure in PyKMIP; both are reported as
// kms.ErrSealed, with the server's text in the error. Item Not Found is
// kms.ErrKeyNotFound; anything else, and any network or TLS failure, is
// kms.ErrBackend.
//
// Tests start the PyKMIP server from Debian's python3-pykmip with
// certificates they generate (a CA, a server certificate for 127.0.0.1, a
// client certificate), on a free loopback port, and stop it by its
// process group id.
package kmip
