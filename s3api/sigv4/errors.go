package sigv4

import (
	"errors"
	"fmt"
)

// Sentinel errors. Verify, Body and Body.Read wrap them with context; match
// them with errors.Is. The texts never contain secrets or signatures.
var (
	// ErrMissingAuth: the request carries no authentication at all (anonymous).
	ErrMissingAuth = errors.New("sigv4: request carries no authentication")
	// ErrAuthorizationHeaderMalformed: the Authorization header (or its
	// credential scope, or its relation to the other headers) is malformed.
	ErrAuthorizationHeaderMalformed = errors.New("sigv4: authorization header malformed")
	// ErrSignatureDoesNotMatch: a request, chunk or trailer signature is wrong.
	ErrSignatureDoesNotMatch = errors.New("sigv4: signature does not match")
	// ErrInvalidAccessKeyID: the access key is unknown.
	ErrInvalidAccessKeyID = errors.New("sigv4: access key id does not exist")
	// ErrRequestTimeTooSkewed: the request time is too far from the server's clock.
	ErrRequestTimeTooSkewed = errors.New("sigv4: request time too skewed")
	// ErrExpiredPresign: a presigned request is past X-Amz-Date + X-Amz-Expires.
	ErrExpiredPresign = errors.New("sigv4: presigned request has expired")
	// ErrMalformedPresign: a presigned query is missing or has a malformed parameter.
	ErrMalformedPresign = errors.New("sigv4: malformed presigned query")
	// ErrContentSHA256Mismatch: the payload does not hash to x-amz-content-sha256.
	ErrContentSHA256Mismatch = errors.New("sigv4: x-amz-content-sha256 does not match the payload")
	// ErrInvalidContentSHA256: x-amz-content-sha256 is neither a hex SHA-256
	// nor a payload mode (S3 answers InvalidArgument, not a mismatch).
	ErrInvalidContentSHA256 = errors.New("sigv4: x-amz-content-sha256 is neither a SHA-256 nor a payload mode")
	// ErrMalformedChunk: the aws-chunked framing or its trailers are malformed,
	// or the body holds more data than x-amz-decoded-content-length.
	ErrMalformedChunk = errors.New("sigv4: malformed aws-chunked body")
	// ErrIncompleteBody: the body ended before its framing or declared length did.
	ErrIncompleteBody = errors.New("sigv4: incomplete body")
	// ErrMissingDate: neither a valid X-Amz-Date nor a valid Date header.
	ErrMissingDate = errors.New("sigv4: missing or invalid request date")
	// ErrUnsupportedAlgorithm: a signature scheme other than AWS4-HMAC-SHA256
	// (SigV2, SigV4a, an unknown Authorization type or streaming mode).
	ErrUnsupportedAlgorithm = errors.New("sigv4: unsupported signature algorithm")
	// ErrHeadersNotSigned: the request carries x-amz-* headers its
	// signature does not cover.
	ErrHeadersNotSigned = errors.New("sigv4: x-amz-* headers present in the request are not signed")
	// ErrMissingContentSHA256: a header-signed request lacks
	// x-amz-content-sha256 where the Verifier requires it (S3 does).
	ErrMissingContentSHA256 = errors.New("sigv4: missing x-amz-content-sha256")
	// ErrPresignNotYetValid: a presigned request's X-Amz-Date lies further
	// in the future than the allowed clock skew.
	ErrPresignNotYetValid = errors.New("sigv4: presigned request is not yet valid")
	// ErrInvalidExpires: X-Amz-Expires is not an integer in 1..604800.
	ErrInvalidExpires = errors.New("sigv4: X-Amz-Expires must be an integer from 1 to 604800")
	// ErrWrongRegion: the credential scope names another region than
	// Verifier.Region. Verify returns it as a *RegionError.
	ErrWrongRegion = errors.New("sigv4: credential scope names another region")
)

// RegionError is a credential scope naming region Got where the Verifier
// accepts only Want (Verifier.Region). It matches ErrWrongRegion and the
// sentinel of the request's authentication style: ErrMalformedPresign for
// a presigned request, ErrAuthorizationHeaderMalformed otherwise, as AWS
// answers a wrong region with AuthorizationQueryParametersError or
// AuthorizationHeaderMalformed. Got comes from the network: it is cut to
// 64 bytes, and may hold any bytes.
type RegionError struct {
	Got, Want string
	Presigned bool
}

func (e *RegionError) Error() string {
	return fmt.Sprintf("%v: the region %q is wrong; expecting %q", ErrWrongRegion, e.Got, e.Want)
}

func (e *RegionError) Unwrap() []error {
	if e.Presigned {
		return []error{ErrWrongRegion, ErrMalformedPresign}
	}
	return []error{ErrWrongRegion, ErrAuthorizationHeaderMalformed}
}

// wrapf wraps a sentinel with a reason: "sigv4: <sentinel text>: <reason>".
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
