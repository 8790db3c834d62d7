package s3api

import (
	"errors"
	"net/http"

	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/sse"
)

// Errors of server-side encryption, mapped by sseAPIError.
var (
	errInvalidEncryptionAlgorithm = errors.New("s3api: invalid encryption algorithm")
	errWrongCustomerKey           = errors.New("s3api: SSE-C key does not match the object's")
	errNoEncryptionConfig         = errors.New("s3api: no bucket encryption configuration")
)

// sseAPIError is the part of the error table for encryption; apiErrorFor
// consults it first. Which errors AWS returns, and why:
//
//   - a wrong SSE-C key: 403 AccessDenied (AWS does not say more);
//   - a KMS key that does not exist: 400 KMS.NotFoundException;
//   - a bucket key destroyed by ShredBucket: 400
//     KMS.KMSInvalidStateException, what AWS answers for an object whose
//     KMS key is disabled or pending deletion, with a message that says
//     the key was destroyed;
//   - a KMS key the KMS will not use (disabled, revoked): 400
//     KMS.DisabledException, not retryable;
//   - the KMS unreachable: 503 ServiceUnavailable (retryable);
//   - ciphertext or a sealed key that fails authentication with the
//     right keys: 500, like any data corrupt beyond repair.
func sseAPIError(err error) (apiError, bool) {
	switch {
	case errors.Is(err, errInvalidEncryptionAlgorithm):
		return apiError{"InvalidEncryptionAlgorithmError", http.StatusBadRequest, "The encryption algorithm specified is not valid."}, true
	case errors.Is(err, errWrongCustomerKey):
		return apiError{"AccessDenied", http.StatusForbidden, "Access Denied"}, true
	case errors.Is(err, errNoEncryptionConfig):
		return apiError{"ServerSideEncryptionConfigurationNotFoundError", http.StatusNotFound, "The server side encryption configuration was not found"}, true
	case errors.Is(err, encryption.ErrShredded):
		return apiError{"KMS.KMSInvalidStateException", http.StatusBadRequest, "The encryption key of this object was destroyed (crypto-shredded); it can no longer be read."}, true
	case errors.Is(err, encryption.ErrInvalidConfig):
		return apiError{"InvalidArgument", http.StatusBadRequest, "The server side encryption configuration is not valid."}, true
	case errors.Is(err, kms.ErrKeyDisabled):
		// KMIP's Permission Denied also covers a server not permitted to
		// use the key; either way a retry does not help, and the message
		// says both.
		return apiError{"KMS.DisabledException", http.StatusBadRequest, "The KMS refused to use the key: it is disabled or revoked, or this server is not permitted to use it."}, true
	case errors.Is(err, kms.ErrKeyNotFound), errors.Is(err, kms.ErrInvalidKeyID):
		return apiError{"KMS.NotFoundException", http.StatusBadRequest, "Invalid keyId: the KMS key does not exist."}, true
	case errors.Is(err, kms.ErrBackend), errors.Is(err, errNoKeys):
		return apiError{"ServiceUnavailable", http.StatusServiceUnavailable, "The key management service is unavailable. Please try again."}, true
	case errors.Is(err, kms.ErrSealed), errors.Is(err, sse.ErrAuthentication), errors.Is(err, sse.ErrFormat):
		return apiError{"InternalError", http.StatusInternalServerError, "The object's data or keys failed authentication: it is corrupt beyond repair."}, true
	}
	return apiError{}, false
}
