// Package sigv4 authenticates S3 requests signed with AWS Signature Version 4
// and decodes their payloads.
//
// Every byte that arrives from the network passes through this package
// before a handler sees it: Verifier.Verify checks the signature of the
// request line and headers (Authorization header or presigned query), and
// Auth.Body returns the reader through which the handler must consume the
// payload, which verifies x-amz-content-sha256 or decodes and verifies the
// aws-chunked streaming framing.
//
// # Invariants
//
//   - Verify never reads the body; Body never returns a byte of a signed
//     chunk before that chunk's signature has been checked.
//   - Signatures are compared with hmac.Equal; secrets, signing keys and
//     expected signatures never appear in error texts or String output.
//   - No input makes this package panic or allocate more than MaxChunkSize
//     for a chunk; a steady-state chunked read allocates nothing.
//   - Bytes returned by Body.Read before an error are only trustworthy once
//     Read has returned io.EOF: a digest mismatch, a bad trailer or a short
//     body surface at the end, and the handler must then discard the object.
//
// # Signing key and signature
//
// The signing key is derived from the secret key and the credential scope
// (date, region, service "s3"), one HMAC-SHA256 per step:
//
//	kDate    = HMAC("AWS4" + secret, "20130524")
//	kRegion  = HMAC(kDate, "us-east-1")
//	kService = HMAC(kRegion, "s3")
//	kSigning = HMAC(kService, "aws4_request")
//
// The signature is hex(HMAC(kSigning, StringToSign)) where
//
//	StringToSign = "AWS4-HMAC-SHA256" "\n"
//	               X-Amz-Date (20130524T000000Z) "\n"
//	               scope (20130524/us-east-1/s3/aws4_request) "\n"
//	               hex(SHA256(CanonicalRequest))
//
//	CanonicalRequest = Method "\n"
//	                   CanonicalURI "\n"       URI-encoded path, '/' kept, not double-encoded
//	                   CanonicalQuery "\n"     sorted k=v pairs, URI-encoded, joined by '&'
//	                   CanonicalHeaders "\n"   "name:value\n" for each signed header
//	                   SignedHeaders "\n"      "host;range;x-amz-date"
//	                   PayloadHash             x-amz-content-sha256 or UNSIGNED-PAYLOAD
//
// By default any region is accepted: the region named in the credential
// scope is the one used to derive the key, so a client configured for
// "us-east-1" and one configured for "eu-central-1" both authenticate. A
// Verifier with Region set accepts only that region and refuses others
// with a *RegionError, before the access key is looked up. The chunk and
// trailer signatures of aws-chunked bodies chain from the seed under the
// seed's scope, so the seed's region check covers them.
//
// # aws-chunked streaming
//
// With x-amz-content-sha256 set to one of the STREAMING-* values the body is
// framed in chunks. Signed chunks carry a signature chained from the seed
// signature (the request's own signature):
//
//	+--------------------------------------------------------------------+
//	| hex(size) ";chunk-signature=" sig1 CRLF | size bytes of data | CRLF  |
//	| hex(size) ";chunk-signature=" sig2 CRLF | size bytes of data | CRLF  |
//	| ...                                                                |
//	| "0;chunk-signature=" sigN CRLF                                     |
//	| CRLF                                  (no trailer), or             |
//	| name ":" value CRLF ...               (trailers, e.g. checksum)    |
//	| "x-amz-trailer-signature:" sigT CRLF  (signed-trailer mode only)   |
//	| CRLF                                                               |
//	+--------------------------------------------------------------------+
//
//	sig_i = hex(HMAC(kSigning, "AWS4-HMAC-SHA256-PAYLOAD" "\n" date "\n" scope "\n"
//	                 sig_(i-1) "\n" hex(SHA256("")) "\n" hex(SHA256(chunk_i))))
//	sigT  = hex(HMAC(kSigning, "AWS4-HMAC-SHA256-TRAILER" "\n" date "\n" scope "\n"
//	                 sigN "\n" hex(SHA256("name:value\n" ...))))
//
// STREAMING-UNSIGNED-PAYLOAD-TRAILER uses the same framing without the
// ";chunk-signature=" extensions and without the trailer signature. Trailer
// lines may end in LF or CRLF, and blank lines before the trailer signature
// are tolerated, because minio-go writes "name:value\n" "\r\n" before it.
//
// Chunk sizes above MaxChunkSize are refused before anything is allocated
// for them: signed chunks must be buffered whole (their signature covers the
// whole chunk), so the limit bounds the memory of one request.
//
// # Anonymous requests
//
// Verify returns ErrMissingAuth for a request with no authentication. Such a
// request may still carry an unsigned aws-chunked body (minio-go sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER anonymously); a nil *Auth's Body
// decodes it and refuses the signed modes.
package sigv4
