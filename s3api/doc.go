// Package s3api serves the Amazon S3 REST API on top of the object layer.
//
// It owns everything that is S3 protocol and nothing below it: routing a
// request to an operation, authenticating it (package sigv4), verifying
// the body (Content-MD5 and x-amz-checksum-*, package checksum), the XML
// documents, the one table that maps internal errors to S3 error codes
// and HTTP statuses (errors.go), and the handlers. Objects are stored and
// read through the small ObjectLayer interface, which *storage.Store
// implements.
//
// # A request
//
//	net/http ──► Handler.ServeHTTP
//	              │ request id, x-amz-id-2, recover, one log line
//	              ▼
//	           parseResource ── bucket and key from Host (<bucket>.<Domain>)
//	              │              or from the path (/<bucket>/<key>)
//	           selectOp ─────── method + sub-resource query + x-amz-copy-source
//	              │              unknown sub-resources (?acl, ?policy...) are
//	              ▼              NotImplemented, never a plain GET or PUT
//	           sigv4.Verify ─── every request is signed (SigV4; SigV2 header and
//	              │              presigned requests through sigv2.Verify, same
//	              │              identities and errors); anonymous → AccessDenied
//	              │              (POST Object: the form's signed policy instead)
//	              │
//	              ▼
//	           handler ──► returns nil (it wrote the response) or an error,
//	                       which writeError renders through the table
//
// # Writes
//
// A body flows through one chain, in one pass and without buffering:
//
//	sigv4.Body ──► checksum.Reader ──► ObjectLayer.PutObject / PutObjectPart
//	(signature,     (MD5 for the ETag,     calls Finish at EOF: Content-MD5 and
//	 aws-chunked,    the declared           the declared checksum are compared,
//	 trailers)       x-amz-checksum-*)      a mismatch stores nothing
//
// A write that declares no checksum still gets one: checksum.Default
// (CRC64NVME, FULL_OBJECT), as AWS adds since 2025; parts of an upload
// created without an algorithm get it too, combined at completion.
//
// Copies (CopyObject, UploadPartCopy) read the source with
// ObjectReader.WriteRange into an io.Pipe that feeds the destination's
// PUT: memory per request stays bounded whatever the object size.
//
// Conditional writes (If-None-Match: * and If-Match on PutObject,
// CopyObject and CompleteMultipartUpload) are checked twice: once before
// the body is read, for a fast 412, and again by the object layer under
// its object lock (PutOptions.Precondition), which makes them safe under
// concurrent writers.
//
// # Browser uploads (POST Object)
//
// POST /<bucket> with a multipart/form-data body is authorised by the
// form, not by a signed request (post.go):
//
//	fields ... ──► policy (base64 JSON), x-amz-credential, x-amz-date,
//	               x-amz-signature = HMAC(signing key, policy)
//	file       ──► streamed into PutObject like a PUT body
//	fields after the file are ignored
//
// The signature and every condition of the policy (eq, starts-with,
// content-length-range, the bucket) are checked before the first byte of
// the file is read, and every field must be named by a condition, as in
// AWS. The fields that describe the object (Content-Type, x-amz-meta-*,
// x-amz-checksum-*) go through the same checks and metadata rules as
// PUT headers.
//
// # Interop details
//
// An empty request body with Expect: 100-continue still gets its 100
// Continue (net/http alone skips it; botocore then misreads the next
// response on the connection). User metadata headers go out lower-case,
// as AWS sends them. ListObjectsV2 with metadata=true (MinIO's
// extension, minio-go's WithMetadata) adds each object's x-amz-meta-*.
//
// # Reads
//
// GetObject evaluates If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since with AWS's precedence, then a single Range (several
// ranges are ignored and the whole object is returned, as AWS does) or a
// partNumber, writes the headers with an exact Content-Length, and
// streams ObjectReader.WriteRange straight into the connection. An error
// after the headers went out can only cut the body short; it is logged.
//
// # Metadata stored per object
//
// storage.ObjectInfo.Metadata holds, under lower-case keys:
//
//	content-type (default binary/octet-stream), cache-control,
//	content-disposition, content-encoding (without aws-chunked),
//	content-language, expires      the content headers, returned on GET
//	x-amz-meta-*                     user metadata, at most 2 KB in all
//	x-amz-checksum-<alg>             base64 checksum; "…-N" when composite;
//	                                 x-amz-checksum-crc64nvme by default
//	x-amz-checksum-type              FULL_OBJECT or COMPOSITE
//	x-amz-checksum-algorithm         the algorithm a multipart upload
//	                                 was created with
//
// # Listing tokens
//
// A ListObjectsV2 continuation token is the unpadded base64url of the
// last key or common prefix of the previous page; the object layer
// resumes strictly after it.
//
// # Errors
//
// Handlers return errors wrapped with context; apiErrorFor maps them with
// errors.Is/As to an S3 code, status and message. Anything it does not
// know is logged with the request id and answered 500 InternalError, so
// no internal text reaches the client.
package s3api
