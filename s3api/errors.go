package s3api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/s3api/checksum"
	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// Errors raised by s3api itself. Each maps to one S3 code in apiErrorFor;
// wrap them with %w (or with detail, see withMessage) to add context.
var (
	errInvalidBucketName       = errors.New("s3api: invalid bucket name")
	errKeyTooLong              = errors.New("s3api: object key too long")
	errInvalidURI              = errors.New("s3api: invalid URI")
	errNotImplemented          = errors.New("s3api: not implemented")
	errSlowDown                = errors.New("s3api: too many requests at once")
	errChangesRefused          = errors.New("s3api: changes refused")
	errMethodNotAllowed        = errors.New("s3api: method not allowed")
	errIncompleteBody          = errors.New("s3api: the connection ended before the declared body")
	errRequestTimeout          = errors.New("s3api: the client sent nothing for too long")
	errMissingContentLength    = errors.New("s3api: missing content length")
	errEntityTooLarge          = errors.New("s3api: entity too large")
	errInvalidDigest           = errors.New("s3api: invalid Content-MD5")
	errBadDigest               = errors.New("s3api: Content-MD5 mismatch")
	errMalformedXML            = errors.New("s3api: malformed XML")
	errMaxMessageLength        = errors.New("s3api: request body too long")
	errInvalidArgument         = errors.New("s3api: invalid argument")
	errInvalidToken            = errors.New("s3api: security token not accepted")
	errInvalidRequest          = errors.New("s3api: invalid request")
	errInvalidRange            = errors.New("s3api: range not satisfiable")
	errNotModified             = errors.New("s3api: not modified")
	errMetadataTooLarge        = errors.New("s3api: metadata too large")
	errInvalidCopySource       = errors.New("s3api: invalid copy source")
	errIllegalSelfCopy         = errors.New("s3api: copy onto itself without changes")
	errMissingContentMD5       = errors.New("s3api: missing Content-MD5")
	errUserKeyMustBeSpecified  = errors.New("s3api: object key missing")
	errInvalidLocation         = errors.New("s3api: invalid location constraint")
	errInvalidPartNumber       = errors.New("s3api: invalid part number")
	errInvalidMaxKeys          = errors.New("s3api: invalid max-keys")
	errInvalidContinuation     = errors.New("s3api: invalid continuation token")
	errInvalidEncodingType     = errors.New("s3api: invalid encoding type")
	errMetadataDirective       = errors.New("s3api: invalid metadata directive")
	errCopySourceTooLarge      = errors.New("s3api: copy source too large")
	errInvalidCopySourceRange  = errors.New("s3api: invalid copy source range")
	errMissingChecksumTrailer  = errors.New("s3api: declared checksum trailer missing")
	errInvalidChecksumType     = errors.New("s3api: invalid checksum type")
	errInvalidPartChecksum     = errors.New("s3api: part checksum does not match")
	errInvalidStorageClassName = errors.New("s3api: invalid storage class")
	errPolicyViolation         = errors.New("s3api: POST policy violated")
	errMalformedPOSTRequest    = errors.New("s3api: malformed POST form")
	errEntityTooSmall          = errors.New("s3api: entity too small")
	errInvalidPolicyDocument   = errors.New("s3api: invalid POST policy document")
	errInvalidVersionID        = errors.New("s3api: malformed version id")
	errEmptyVersionID          = errors.New("s3api: empty version id")
	errPostPreDataTooLarge     = errors.New("s3api: POST form too large before its file")
)

// apiError is what the client sees for an error: the S3 code, the HTTP
// status and a message.
type apiError struct {
	Code    string
	Status  int
	Message string
}

// detailError carries a client-facing message for one of the sentinels
// above, where AWS words the message per case (InvalidArgument,
// InvalidRequest). The message must never hold secrets.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *detailError) Unwrap() error { return e.kind }

// withMessage wraps kind with the message the client will see.
func withMessage(kind error, msg string) error {
	return &detailError{kind: kind, msg: msg}
}

// rangeError is errInvalidRange with the object size, which the 416
// response reports in Content-Range.
type rangeError struct{ size int64 }

func (e *rangeError) Error() string {
	return "s3api: range not satisfiable for size " + strconv.FormatInt(e.size, 10)
}
func (e *rangeError) Unwrap() error { return errInvalidRange }

// copySourceError is a failure to open a copy's source: NoSuchKey and
// NoSuchBucket responses then name the source, as AWS's do, not the
// request's destination.
type copySourceError struct {
	bucket, key string
	err         error
}

func (e *copySourceError) Error() string {
	return fmt.Sprintf("s3api: copy source %s/%q: %v", e.bucket, e.key, e.err)
}
func (e *copySourceError) Unwrap() error { return e.err }

// notModifiedError is errNotModified with the validators a 304 repeats
// and the caching headers a 200 would have carried (RFC 9110 15.4.5
// requires them: a cache that revalidates an object keeps its freshness
// lifetime from them).
type notModifiedError struct {
	etag         string
	lastModified string
	cacheControl string
	expires      string
}

func (e *notModifiedError) Error() string { return errNotModified.Error() }
func (e *notModifiedError) Unwrap() error { return errNotModified }

// errInternal is the answer for anything the table does not know.
var errInternal = apiError{"InternalError", http.StatusInternalServerError,
	"We encountered an internal error. Please try again."}

// apiErrorFor is the one table from internal errors to S3 errors. The
// second result is false for errors it does not know, which the caller
// logs and answers with InternalError. The order matters only where one
// error wraps another: more specific entries come first.
func apiErrorFor(err error) (apiError, bool) {
	e := func(code string, status int, msg string) (apiError, bool) {
		var d *detailError
		if errors.As(err, &d) && d.msg != "" {
			msg = d.msg
		}
		return apiError{code, status, msg}, true
	}
	if ae, ok := sseAPIError(err); ok {
		return ae, true
	}
	var formRegion *formRegionError
	var region *sigv4.RegionError
	switch {
	// A request signed for another region than the one the operator
	// named, in AWS's words for each style; before the sentinels these
	// errors also match (errInvalidArgument, the malformed header and
	// query). writeError adds the expected region to the document.
	case errors.As(err, &formRegion):
		return e("InvalidArgument", 400, fmt.Sprintf("the region '%s' is wrong; expecting '%s'", formRegion.got, formRegion.want))
	case errors.As(err, &region) && region.Presigned:
		return e("AuthorizationQueryParametersError", 400, fmt.Sprintf("Error parsing the X-Amz-Credential parameter; the region '%s' is wrong; expecting '%s'", region.Got, region.Want))
	case errors.As(err, &region):
		return e("AuthorizationHeaderMalformed", 400, fmt.Sprintf("The authorization header is malformed; the region '%s' is wrong; expecting '%s'", region.Got, region.Want))
	case errors.Is(err, errIllegalLocation):
		return e("IllegalLocationConstraintException", 400, "The specified location constraint is incompatible for the region specific endpoint this request was sent to.")

	// s3api's own errors.
	case errors.Is(err, errInvalidBucketName):
		return e("InvalidBucketName", 400, "The specified bucket is not valid.")
	case errors.Is(err, errKeyTooLong):
		return e("KeyTooLongError", 400, "Your key is too long.")
	case errors.Is(err, errInvalidURI):
		return e("InvalidURI", 400, "Couldn't parse the specified URI.")
	case errors.Is(err, errNotImplemented):
		return e("NotImplemented", 501, "A header or query you provided implies functionality that is not implemented.")
	case errors.Is(err, errSlowDown):
		return e("SlowDown", 503, "Please reduce your request rate.")
	case errors.Is(err, errChangesRefused):
		return e("ServiceUnavailable", 503, "The server cannot record changes at the moment and refuses them. Please retry.")
	case errors.Is(err, errMethodNotAllowed):
		return e("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
	case errors.Is(err, errIncompleteBody):
		return e("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	case errors.Is(err, errRequestTimeout):
		return e("RequestTimeout", 400, "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.")
	case errors.Is(err, errMissingContentLength):
		return e("MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
	case errors.Is(err, errEntityTooLarge):
		return e("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size.")
	case errors.Is(err, errInvalidDigest):
		return e("InvalidDigest", 400, "The Content-MD5 you specified is not valid.")
	case errors.Is(err, errBadDigest):
		return e("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
	case errors.Is(err, errMalformedXML):
		return e("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema.")
	case errors.Is(err, errMaxMessageLength):
		return e("MaxMessageLengthExceeded", 400, "Your request was too big.")
	case errors.Is(err, errInvalidRange):
		return e("InvalidRange", 416, "The requested range is not satisfiable")
	case errors.Is(err, errNotModified):
		return e("NotModified", 304, "Not Modified")
	case errors.Is(err, errMetadataTooLarge):
		return e("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.")
	case errors.Is(err, errInvalidCopySource):
		return e("InvalidArgument", 400, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
	case errors.Is(err, errIllegalSelfCopy):
		return e("InvalidRequest", 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	case errors.Is(err, errMissingContentMD5):
		return e("InvalidRequest", 400, "Missing required header for this request: Content-MD5")
	case errors.Is(err, errUserKeyMustBeSpecified):
		return e("UserKeyMustBeSpecified", 400, "The delete request must specify a key for every object.")
	case errors.Is(err, errInvalidLocation):
		return e("InvalidLocationConstraint", 400, "The specified location constraint is not valid.")
	case errors.Is(err, errInvalidPartNumber):
		return e("InvalidArgument", 400, "Part number must be an integer between 1 and 10000, inclusive.")
	case errors.Is(err, errInvalidMaxKeys):
		return e("InvalidArgument", 400, "Provided max-keys not an integer or within integer range.")
	case errors.Is(err, errInvalidContinuation):
		return e("InvalidArgument", 400, "The continuation token provided is incorrect.")
	case errors.Is(err, errInvalidEncodingType):
		return e("InvalidArgument", 400, "Invalid Encoding Method specified in Request.")
	case errors.Is(err, errMetadataDirective):
		return e("InvalidArgument", 400, "Unknown metadata directive.")
	case errors.Is(err, errCopySourceTooLarge):
		return e("InvalidRequest", 400, "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120.")
	case errors.Is(err, errInvalidCopySourceRange):
		return e("InvalidArgument", 400, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy.")
	case errors.Is(err, errMissingChecksumTrailer):
		return e("InvalidRequest", 400, "The declared checksum trailer was not received.")
	case errors.Is(err, errInvalidChecksumType):
		return e("InvalidRequest", 400, "Value for x-amz-checksum-type header is invalid.")
	case errors.Is(err, errInvalidPartChecksum):
		return e("InvalidPart", 400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified checksum might not have matched the part's checksum.")
	case errors.Is(err, errInvalidStorageClassName):
		return e("InvalidStorageClass", 400, "The storage class you specified is not valid.")
	case errors.Is(err, errPolicyViolation):
		return e("AccessDenied", 403, "Invalid according to Policy")
	case errors.Is(err, errPostPreDataTooLarge):
		// AWS's code and wording, its misspelling included.
		return e("MaxPostPreDataLengthExceeded", 400, "Your POST request fields preceeding the upload file was too large.")
	case errors.Is(err, errMalformedPOSTRequest):
		return e("MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data.")
	case errors.Is(err, errInvalidPolicyDocument):
		return e("InvalidPolicyDocument", 400, "Invalid Policy: Invalid JSON.")
	case errors.Is(err, errInvalidVersionID):
		return e("InvalidArgument", 400, "Invalid version id specified")
	case errors.Is(err, errEmptyVersionID):
		return e("InvalidArgument", 400, "Version id cannot be the empty string")
	case errors.Is(err, errEntityTooSmall):
		return e("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
	case errors.Is(err, errQuotaExceeded):
		return e("QuotaExceeded", 403, "The bucket's quota does not leave room for this upload.")
	case errors.Is(err, errInvalidArgument):
		return e("InvalidArgument", 400, "Invalid Argument.")
	case errors.Is(err, errInvalidRequest):
		return e("InvalidRequest", 400, "Invalid Request.")

	// Authorization and bucket policies.
	case errors.Is(err, errAccessDenied):
		return e("AccessDenied", 403, "Access Denied")
	case errors.Is(err, errNoSuchBucketPolicy):
		return e("NoSuchBucketPolicy", 404, "The bucket policy does not exist")
	case errors.Is(err, iam.ErrMalformedPolicy):
		return e("MalformedPolicy", 400, "Policies must be valid JSON and the first byte must be '{'")

	// Authentication.
	case errors.Is(err, sigv4.ErrMissingAuth):
		return e("AccessDenied", 403, "Access Denied")
	case errors.Is(err, sigv4.ErrAuthorizationHeaderMalformed):
		return e("AuthorizationHeaderMalformed", 400, "The authorization header is malformed.")
	case errors.Is(err, sigv4.ErrSignatureDoesNotMatch):
		return e("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	case errors.Is(err, sigv4.ErrInvalidAccessKeyID):
		return e("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
	case errors.Is(err, sigv4.ErrRequestTimeTooSkewed):
		return e("RequestTimeTooSkewed", 403, "The difference between the request time and the server's time is too large.")
	case errors.Is(err, sigv4.ErrExpiredPresign):
		return e("AccessDenied", 403, "Request has expired")
	case errors.Is(err, sigv4.ErrPresignNotYetValid):
		return e("AccessDenied", 403, "Request is not yet valid")
	case errors.Is(err, sigv4.ErrHeadersNotSigned):
		return e("AccessDenied", 403, "There were headers present in the request which were not signed")
	case errors.Is(err, sigv4.ErrMissingContentSHA256):
		return e("InvalidRequest", 400, "Missing required header for this request: x-amz-content-sha256")
	case errors.Is(err, errInvalidToken):
		return e("InvalidToken", 400, "The provided token is malformed or otherwise invalid.")
	case errors.Is(err, sigv4.ErrMalformedPresign):
		return e("AuthorizationQueryParametersError", 400, "The query-string authentication parameters are malformed.")
	case errors.Is(err, sigv4.ErrInvalidExpires):
		return e("AuthorizationQueryParametersError", 400, "X-Amz-Expires must be a number of seconds between 1 and 604800.")
	case errors.Is(err, sigv4.ErrInvalidContentSHA256):
		return e("InvalidArgument", 400, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
	case errors.Is(err, sigv4.ErrContentSHA256Mismatch):
		return e("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	case errors.Is(err, sigv4.ErrMalformedChunk):
		return e("InvalidRequest", 400, "The aws-chunked body is malformed.")
	case errors.Is(err, sigv4.ErrIncompleteBody):
		return e("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	case errors.Is(err, sigv4.ErrMissingDate):
		return e("AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header.")
	case errors.Is(err, sigv4.ErrUnsupportedAlgorithm):
		return e("InvalidRequest", 400, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")

	// Checksums. AWS names the algorithm of a mismatch and the header of
	// a malformed value; an error without one keeps the general wording.
	case errors.Is(err, checksum.ErrBadDigest):
		if a := checksumAlgorithmOf(err); a != checksum.None {
			return e("BadDigest", 400, "The "+a.String()+" you specified did not match the calculated checksum.")
		}
		return e("BadDigest", 400, "The checksum you specified did not match the calculated checksum.")
	case errors.Is(err, checksum.ErrInvalidChecksum):
		if a := checksumAlgorithmOf(err); a != checksum.None {
			return e("InvalidRequest", 400, "Value for "+a.Header()+" header is invalid.")
		}
		return e("InvalidRequest", 400, "Value for x-amz-checksum header is invalid.")
	case errors.Is(err, checksum.ErrMultipleChecksums):
		return e("InvalidRequest", 400, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	case errors.Is(err, checksum.ErrNoChecksumValue):
		return e("InvalidRequest", 400, "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
	case errors.Is(err, checksum.ErrSDKAlgorithmMismatch), errors.Is(err, checksum.ErrUnknownAlgorithm):
		return e("InvalidRequest", 400, "Value for x-amz-sdk-checksum-algorithm header is invalid.")

	// The object layer.
	case errors.Is(err, storage.ErrBucketNotFound):
		return e("NoSuchBucket", 404, "The specified bucket does not exist")
	case errors.Is(err, storage.ErrBucketExists):
		return e("BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it.")
	case errors.Is(err, storage.ErrBucketNotEmpty):
		return e("BucketNotEmpty", 409, "The bucket you tried to delete is not empty")
	case errors.Is(err, storage.ErrObjectNotFound):
		return e("NoSuchKey", 404, "The specified key does not exist.")
	case errors.Is(err, storage.ErrVersionNotFound):
		return e("NoSuchVersion", 404, "The specified version does not exist.")
	case errors.Is(err, storage.ErrUploadNotFound):
		return e("NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
	case errors.Is(err, storage.ErrInvalidPart):
		return e("InvalidPart", 400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.")
	case errors.Is(err, storage.ErrInvalidPartOrder):
		return e("InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
	case errors.Is(err, storage.ErrPartTooSmall):
		return e("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
	case errors.Is(err, storage.ErrPreconditionFailed):
		return e("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
	case errors.Is(err, storage.ErrStorageFull):
		// 507, as MinIO: clients do not retry it, and a retry cannot
		// succeed until space is freed (a 503 made boto3 resend every
		// body).
		return e("InsufficientStorage", 507, "The drives are out of free space; the object cannot be stored until space is freed.")
	case errors.Is(err, storage.ErrWriteQuorum), errors.Is(err, storage.ErrReadQuorum):
		return e("ServiceUnavailable", 503, "Not enough drives are online to serve the request. Please retry.")
	case errors.Is(err, storage.ErrStorageShuttingDown):
		return e("ServiceUnavailable", 503, "The server is shutting down. Please retry.")
	case errors.Is(err, storage.ErrIncompleteBody):
		return e("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	case errors.Is(err, storage.ErrEntityTooLarge):
		return e("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size.")
	case errors.Is(err, storage.ErrConflict):
		// A 503, not AWS's 409 OperationAborted: aws cli, boto3 and
		// minio-go retry a 503 but abort a multipart upload whose
		// completion failed otherwise, dropping every part, while a
		// completion retried here is safe (one that happened is answered
		// as such).
		return e("ServiceUnavailable", 503, "A conflicting operation on this upload was in progress. Please retry.")
	case errors.Is(err, storage.ErrMetadataTooLarge):
		return e("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.")
	case errors.Is(err, storage.ErrTooManyParts):
		return e("InvalidArgument", 400, "Part number must be an integer between 1 and 10000, inclusive.")
	case errors.Is(err, storage.ErrNoSuchPlacement):
		return e("InvalidLocationConstraint", 400, "No erasure set satisfies the bucket's location constraint.")
	case errors.Is(err, storage.ErrInvalidArgument):
		return e("InvalidArgument", 400, "Invalid Argument.")

	// The request itself went away or ran out of time.
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return e("RequestTimeout", 400, "Your socket connection to the server was not read from or written to within the timeout period.")
	}
	return apiError{}, false
}

// checksumAlgorithmOf is the algorithm a checksum error names
// (checksum.AlgorithmError); None if it names none.
func checksumAlgorithmOf(err error) checksum.Algorithm {
	var ae *checksum.AlgorithmError
	if errors.As(err, &ae) {
		return ae.Algorithm
	}
	return checksum.None
}
