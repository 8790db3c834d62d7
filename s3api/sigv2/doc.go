// Package sigv2 authenticates S3 requests signed with AWS Signature
// Version 2, the HMAC-SHA1 scheme that predates SigV4 and that older
// clients still use: minio-go with credentials.NewStaticV2, aws cli v1's
// `aws s3 presign`, s3cmd with signature_v2.
//
// Verifier.Verify checks the Authorization header or the presigned query
// and returns who signed. SigV2 never signs the body: the handler keeps
// reading the payload as it does for UNSIGNED-PAYLOAD (Content-MD5, when
// sent, is checked by the PUT path). An x-amz-content-sha256 header, being
// an x-amz-* header, is signed, so Auth.ContentSHA256 may be trusted.
//
// # Invariants
//
//   - Verify never reads the body and never panics, whatever the request.
//   - Signatures are compared with hmac.Equal; secrets and expected
//     signatures never appear in error texts, and Auth holds neither.
//   - Every element of the string to sign is taken from the request as it
//     will be served: the path the handler decodes, the sub-resources that
//     select the operation, the x-amz-* headers it reads. A request that
//     differs from the signed one in any of them fails.
//
// # Signature
//
//	Authorization: "AWS" " " AccessKeyId ":" base64(HMAC-SHA1(secret, StringToSign))
//
//	StringToSign = Method "\n"
//	               Content-MD5 "\n"            header value as sent, or ""
//	               Content-Type "\n"           header value as sent, or ""
//	               Date "\n"                   "" when x-amz-date is sent;
//	                                           Expires for presigned URLs
//	               CanonicalizedAmzHeaders     "name:value\n" per x-amz-* header
//	               CanonicalizedResource
//
//	CanonicalizedAmzHeaders: names lower-cased and sorted; the values of a
//	repeated header joined by ","; folded lines already unfolded by net/http.
//
//	CanonicalizedResource = ["/" bucket]          virtual-host style only
//	                        path                  URL-encoded, as sent
//	                        ["?" sub "=" value "&" ...]
//	                                              the sub-resources present in
//	                                              the query, sorted by name,
//	                                              values decoded; "=value" is
//	                                              left out when value is empty
//
// The sub-resources are the union of the AWS documentation's list and the
// lists minio-go and botocore sign (acl, cors, delete, encryption, location,
// partNumber, policy, uploadId, uploads, versionId, versioning, versions,
// the response-* overrides, ...; see isSubResource). A parameter that a
// client signs and the server does not, or the other way round, only makes
// the request fail, never lets one through: the union is the strict
// choice. The clients disagree on one sub-resource this server serves:
// botocore does not sign "encryption", so the bucket-encryption calls fail
// from an aws cli configured for SigV2 (its default, SigV4, works).
// Query parameters that select nothing (prefix, marker, max-keys) are not
// signed, as in AWS; nor are list-type and policyStatus, which postdate
// SigV2 and no client signs. policyStatus does select an operation: a
// signed GET of a bucket replayed with it becomes GetBucketPolicyStatus,
// which tells only whether the bucket is public.
//
// Limits of the protocol itself, which SigV4 does not have:
//   - Sub-resource values are signed decoded and joined with '&', so a
//     value holding '&' signs the same as two parameters. Requests with
//     such a value are refused, so an application's presigned URL with
//     a user-chosen file name containing '&' fails at once instead of
//     working; but a URL signed elsewhere can still be split by whoever
//     holds it. Applications that presign user-chosen response-*
//     values should use SigV4.
//   - A presigned URL may carry signed headers in its query (botocore
//     moves x-amz-*, Content-MD5 and Content-Type there);
//     PromoteQueryHeaders makes them headers again before the request is
//     routed, so what runs is what was signed, and refuses a name given
//     both ways with different values.
//   - The body is not signed: Content-MD5 (checked on every request with
//     a body) or x-amz-content-sha256 is what binds it.
//
// With x-amz-date, two readings of the Date line are accepted: the rule the
// AWS text states and clients implement (empty Date line, x-amz-date signed
// among the x-amz headers), and the form of the documentation's worked
// DELETE example (x-amz-date's value on the Date line, not repeated among
// the headers). Both read the same time from the same header.
//
// Two spellings of the path are accepted: the bytes the client sent, and
// the decoded path encoded the way minio-go and the AWS SDKs encode it
// (unreserved bytes and '/' kept, the rest %XX). Both decode to the same key,
// so accepting either widens nothing.
//
// # Presigned URLs
//
//	GET /bucket/key?AWSAccessKeyId=AKIA...&Expires=1175139620&Signature=NpgC...%3D
//
// The Date line of the string to sign is Expires (Unix seconds) as sent.
// A URL is refused once the server's clock passes Expires (ErrExpiredPresign).
// SigV2 has no signing time, so unlike SigV4 there is no bound on how far
// ahead Expires may lie. botocore moves x-amz-* headers, Content-MD5 and
// Content-Type it signed into the query; for presigned URLs those query
// parameters stand in for the headers.
//
// # Time
//
// Header-authenticated requests must carry x-amz-date or Date (RFC 1123,
// with a zone name or a numeric offset, RFC 850, ANSI C, or ISO 8601 basic)
// within MaxSkew (15 minutes by default) of the server's clock.
package sigv2
