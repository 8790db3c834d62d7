package sigv2

import (
	"errors"
	"fmt"
)

// Sentinel errors. Verify wraps them with context; match them with
// errors.Is. The texts never contain secrets or signatures.
var (
	// ErrMissingAuth: the request carries no Signature Version 2
	// authentication.
	ErrMissingAuth = errors.New("sigv2: request carries no signature version 2 authentication")
	// ErrAuthorizationHeaderMalformed: the Authorization header is not
	// "AWS AccessKeyId:Signature", or appears more than once, or comes
	// with presigned query parameters.
	ErrAuthorizationHeaderMalformed = errors.New("sigv2: authorization header malformed")
	// ErrSignatureDoesNotMatch: the signature is not the one the secret
	// gives for this request (or is not a base64 HMAC-SHA1 at all).
	ErrSignatureDoesNotMatch = errors.New("sigv2: signature does not match")
	// ErrInvalidAccessKeyID: the access key is unknown.
	ErrInvalidAccessKeyID = errors.New("sigv2: access key id does not exist")
	// ErrRequestTimeTooSkewed: Date or x-amz-date is too far from the
	// server's clock.
	ErrRequestTimeTooSkewed = errors.New("sigv2: request time too skewed")
	// ErrExpiredPresign: the server's clock is past a presigned URL's
	// Expires.
	ErrExpiredPresign = errors.New("sigv2: presigned request has expired")
	// ErrMalformedPresign: AWSAccessKeyId, Expires or Signature is
	// missing, repeated or malformed.
	ErrMalformedPresign = errors.New("sigv2: malformed presigned query")
	// ErrMissingDate: a header-authenticated request has neither a valid
	// x-amz-date nor a valid Date.
	ErrMissingDate = errors.New("sigv2: missing or invalid request date")
	// ErrUnsupportedPayload: x-amz-content-sha256 names a signed
	// aws-chunked mode, whose chunk signatures only SigV4 defines.
	ErrUnsupportedPayload = errors.New("sigv2: signed aws-chunked payloads need signature version 4")
)

// wrapf wraps a sentinel with a reason: "sigv2: <sentinel text>: <reason>".
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// truncate bounds the client-supplied text an error repeats.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
