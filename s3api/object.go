package s3api

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/objstore/objstore/s3api/checksum"
	"github.com/objstore/objstore/storage"
)

// Limits of single requests, as AWS documents them.
const (
	maxDeleteObjects  = 1000
	maxDeleteBody     = 2 << 20 // 1000 keys of up to 1024 bytes, XML-escaped
	deleteConcurrency = 8
	maxSinglePutSize  = maxPartSize
	// maxPartSize bounds a part, a single PUT and a CopyObject source, in
	// the client's bytes (storage's limit is on the larger ciphertext).
	maxPartSize = 5 << 30 // 5 GiB
	// maxObjectSize bounds a multipart object in the client's bytes.
	maxObjectSize      = 5 << 40 // 5 TiB
	checksumModeHeader = "x-amz-checksum-mode"
)

// parallelHashMin is the smallest PUT body hashed on goroutines of its
// own (checksum.ParallelReader). Below two blocks there is nothing to
// overlap, and the serial checksum.Reader costs no goroutines and no
// block buffers, which matters for many small concurrent PUTs.
const parallelHashMin = 2 * checksum.DefaultBlockSize

// bodyBlocks is the Handler's pool of ParallelReader blocks, shared by
// all large PUTs so that they allocate no buffers in the steady state.
type bodyBlocks = checksum.BlockPool

// bodyHasher is what an ingest needs of the reader that hashes a body:
// a checksum.Reader, or a checksum.ParallelReader for large PUT bodies.
type bodyHasher interface {
	io.Reader
	MD5() []byte
	Sum(checksum.Algorithm) string
	Check(a checksum.Algorithm, want string) error
}

// ingest verifies a body on its way into storage: the reader chain is
// source (the sigv4 Body, or a copy's pipe) -> checksum.Reader or
// checksum.ParallelReader -> storage, and storage calls finish once the
// body reached EOF. With a ParallelReader the bytes reach storage before
// their MD5 and checksums are computed; finish waits for the digests, so
// nothing commits before they are verified either way.
type ingest struct {
	hr         bodyHasher
	par        *checksum.ParallelReader      // hr when hashing in parallel, else nil
	contentMD5 []byte                        // from Content-MD5, nil if absent
	algs       []checksum.Algorithm          // checksums computed (and stored unless verifyOnly)
	want       map[checksum.Algorithm]string // expected values known up front
	trailer    checksum.Algorithm            // expected value arrives in a trailer
	declared   checksum.Algorithm            // the one the client's header or trailer names, None if none
	trailers   func() http.Header            // the body's trailers, after EOF
	fullObject bool                          // record x-amz-checksum-type FULL_OBJECT
	// corruptOnMismatch makes a mismatch a server error: set when the
	// expected values come from our own stored checksums (copies).
	corruptOnMismatch bool
	// verifyOnly names algorithms checked against want but not stored: a
	// copy's source checksums when the client asked for another one.
	verifyOnly map[checksum.Algorithm]bool
	// unasked lists the algorithms added although the client did not
	// ask for them: checksum.Default (withDefault), or a copy source's
	// (copyIngest). encryptedWith keeps them from being stored under
	// SSE-KMS and SSE-C, and from being computed when nothing checks
	// them and the body's hasher is not built yet (PUT, UploadPart; POST
	// and the copies build theirs first and still compute them).
	unasked []checksum.Algorithm
	stored  map[string]string // what finish returned, for responses
}

// newIngest sets up verification of a request body src from its
// headers: Content-MD5, and one x-amz-checksum-<alg> in a header or in a
// trailer, which trailers returns after EOF (nil: no trailers, as for a
// POST form's file). extra names algorithms to compute even if the
// client sent none. A body that ends up with no algorithm at all gets
// checksum.Default, stored like one the client asked for.
func newIngest(h http.Header, src io.Reader, trailers func() http.Header, extra ...checksum.Algorithm) (*ingest, error) {
	in, err := declaredIngest(h, trailers, extra...)
	if err != nil {
		return nil, err
	}
	in.hr = checksum.NewReader(src, in.algs...)
	return in, nil
}

// declaredIngest is newIngest without the hashing reader, which the
// caller sets up with hashBody.
func declaredIngest(h http.Header, trailers func() http.Header, extra ...checksum.Algorithm) (*ingest, error) {
	in := &ingest{want: map[checksum.Algorithm]string{}, fullObject: true}
	if v := h.Get("Content-MD5"); v != "" {
		sum, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(sum) != md5.Size {
			return nil, errInvalidDigest
		}
		in.contentMD5 = sum
	}
	exp, err := checksum.FromHeaders(h)
	if err != nil {
		return nil, fmt.Errorf("s3api: checksum headers: %w", err)
	}
	in.declared = exp.Algorithm
	if exp.Algorithm != checksum.None {
		in.algs = append(in.algs, exp.Algorithm)
		switch {
		case exp.Trailer:
			if trailers == nil {
				return nil, fmt.Errorf("%w: %s", errMissingChecksumTrailer, exp.Algorithm.Header())
			}
			in.trailer = exp.Algorithm
			in.trailers = trailers
		case exp.Value != "":
			in.want[exp.Algorithm] = exp.Value
		}
	}
	for _, a := range extra {
		if a != checksum.None && !containsAlg(in.algs, a) {
			in.algs = append(in.algs, a)
		}
	}
	if len(in.algs) == 0 {
		// Nothing declared or asked for: the object still gets AWS's
		// default full-object CRC64NVME, so that every object written from
		// now on can be checked end to end by the clients that read it.
		in.withDefault()
	}
	return in, nil
}

// withDefault adds checksum.Default to what in computes and stores,
// remembering that the client did not ask for it.
func (in *ingest) withDefault() {
	if !containsAlg(in.algs, checksum.Default) {
		in.algs = append(in.algs, checksum.Default)
		in.unasked = append(in.unasked, checksum.Default)
	}
}

// encryptedWith drops the checksums the client did not ask for (the
// default, a copy source's) from what is stored when enc is SSE-KMS or
// SSE-C: one with a value to check (a copy source's) is still computed
// and verified, one without (the default) is not computed at all when
// hashBody is yet to be called. Their ETags are random precisely so that no
// digest of the plaintext sits in clear beside the ciphertext, where
// anyone with drive access could confirm a guess of low-entropy content;
// a CRC of it would be that oracle again, for every object, unasked. A
// checksum the client asked for is kept (docs/architecture.md, "What is
// stored in clear"). SSE-S3 keeps the default: its MD5 ETag is in clear
// anyway.
func (in *ingest) encryptedWith(enc *objectEncryption) {
	if len(in.unasked) == 0 || enc == nil || enc.mode == modeS3 {
		return
	}
	if in.verifyOnly == nil {
		in.verifyOnly = map[checksum.Algorithm]bool{}
	}
	for _, a := range in.unasked {
		if in.want[a] == "" && a != in.trailer {
			in.algs = slices.DeleteFunc(in.algs, func(b checksum.Algorithm) bool { return b == a })
			continue
		}
		in.verifyOnly[a] = true
	}
}

// hashBody sets up the reader that hashes src, a body of size bytes (-1:
// unknown): a ParallelReader with blocks from pool for large bodies, so
// that reading the network (with the sigv4 checks), MD5 and the stages
// after it run on different cores; a plain checksum.Reader otherwise.
// The caller must call close once storage is done with the body.
func (in *ingest) hashBody(src io.Reader, size int64, pool *bodyBlocks) {
	if size >= 0 && size < parallelHashMin {
		in.hr = checksum.NewReader(src, in.algs...)
		return
	}
	in.par = checksum.NewParallelReader(src, checksum.ParallelOptions{Pool: pool}, in.algs...)
	in.hr = in.par
}

// close stops a ParallelReader's goroutines and waits until they no
// longer read the body: net/http forbids reading it once the handler
// returned. A no-op for the serial reader.
func (in *ingest) close() {
	if in.par != nil {
		_ = in.par.Close()
	}
}

// finish is storage's PutOptions.Finish: it checks Content-MD5 and the
// declared checksum and returns the ETag (hex MD5) and the checksums to
// store. An error here means nothing is stored.
func (in *ingest) finish() (string, map[string]string, error) {
	if in.par != nil {
		// Storage calls finish after EOF; should it ever not, the digests
		// would cover a prefix only and must not vouch for the object.
		if err := in.par.Err(); err != nil {
			return "", nil, fmt.Errorf("s3api: body: %w", err)
		}
	}
	sum := in.hr.MD5()
	if in.contentMD5 != nil && !bytes.Equal(sum, in.contentMD5) {
		return "", nil, errBadDigest
	}
	extra := make(map[string]string, len(in.algs)+1)
	for _, a := range in.algs {
		want := in.want[a]
		if a == in.trailer && in.trailers != nil {
			want = trailerValue(in.trailers(), a.Header())
			if want == "" {
				return "", nil, fmt.Errorf("%w: %s", errMissingChecksumTrailer, a.Header())
			}
		}
		if want != "" {
			if err := in.hr.Check(a, want); err != nil {
				if in.corruptOnMismatch {
					return "", nil, fmt.Errorf("s3api: copy source %s: %v: %w", a, err, storage.ErrDataCorrupt)
				}
				return "", nil, fmt.Errorf("s3api: %s: %w", a, err)
			}
		}
		if !in.verifyOnly[a] {
			extra[a.Header()] = in.hr.Sum(a)
		}
	}
	if len(extra) > 0 && in.fullObject {
		extra[mdChecksumType] = "FULL_OBJECT"
	}
	in.stored = extra
	return hex.EncodeToString(sum), extra, nil
}

// trailerValue looks a trailer up by its lower-case name, as sigv4
// keeps them, falling back to the canonical form.
func trailerValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return strings.TrimSpace(h.Get(name))
}

// checkWriteHeaders refuses request headers that ask for something this
// server does not do, rather than silently ignoring them.
func checkWriteHeaders(h http.Header) error {
	// Encryption headers are checked by newEncryption.
	for _, k := range [...]string{
		"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
		"x-amz-object-lock-legal-hold", "x-amz-tagging",
		"x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control",
		// Website hosting is not served, so a redirect would be stored
		// for nothing: refused rather than silently dropped.
		"x-amz-website-redirect-location",
	} {
		if h.Get(k) != "" {
			return withMessage(errNotImplemented, "The "+k+" header is not implemented.")
		}
	}
	// ACLs are not implemented (NotImplemented, which minio-go's
	// functional tests and mint count as not applicable; AWS's answer on a
	// BucketOwnerEnforced bucket, 400 AccessControlListNotSupported, fails
	// them): the canned ACLs that give the owner what it has are taken.
	switch acl := h.Get("x-amz-acl"); acl {
	case "", "private", "bucket-owner-full-control", "bucket-owner-read":
	default:
		return withMessage(errNotImplemented, "Only private ACLs are implemented.")
	}
	switch sc := h.Get("x-amz-storage-class"); sc {
	case "", "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
		"GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE":
		// Every object is stored the same way; the class is accepted and
		// reported as STANDARD.
	default:
		return fmt.Errorf("%w: %q", errInvalidStorageClassName, sc)
	}
	return nil
}

// precheckWrite answers a failing write precondition before the body is
// read. It is only a fast path: storage re-checks under its lock.
func (h *Handler) precheckWrite(rq *request, wc writeConditions) error {
	if !wc.any() {
		return nil
	}
	info, err := h.store.ObjectInfo(rq.ctx, rq.bucket, rq.key, storage.GetOptions{})
	switch {
	case errors.Is(err, storage.ErrObjectNotFound):
		return wc.check(nil)
	case err != nil:
		return fmt.Errorf("s3api: precondition %q: %w", rq.key, err)
	}
	return wc.check(&info)
}

// putObject answers PUT /<bucket>/<key>.
func (h *Handler) putObject(rq *request) error {
	hdr := rq.r.Header
	if err := checkWriteHeaders(hdr); err != nil {
		return err
	}
	body, err := rq.payload()
	if err != nil {
		return err
	}
	size, err := rq.declaredSize(body)
	if err != nil {
		return err
	}
	if size > maxSinglePutSize {
		return fmt.Errorf("%w: %d bytes in a single PUT", errEntityTooLarge, size)
	}
	md, err := objectMetadata(hdr)
	if err != nil {
		return err
	}
	wc, err := readWriteConditions(hdr)
	if err != nil {
		return err
	}
	if err := h.precheckWrite(rq, wc); err != nil {
		return err
	}
	// x-amz-checksum-algorithm without a value (minio-go sends it) asks
	// for the checksum to be computed and stored.
	requested, err := requestedAlgorithm(hdr)
	if err != nil {
		return err
	}
	in, err := declaredIngest(hdr, body.Trailers, requested)
	if err != nil {
		return err
	}
	enc, err := h.newEncryption(rq, rq.key)
	if err != nil {
		return err
	}
	in.encryptedWith(enc)
	if md, err = enc.seal(md); err != nil {
		return err
	}
	// The body starts being read here, not earlier: a request refused
	// above never has its body touched.
	in.hashBody(body, size, &h.bodyBlocks)
	defer in.close()
	stored, storedSize, err := enc.encrypt(in.hr, 0, size)
	if err != nil {
		return err
	}
	info, err := h.store.PutObject(rq.ctx, rq.bucket, rq.key, stored, storage.PutOptions{
		Metadata:     md,
		Size:         storedSize,
		Finish:       enc.finish(in.finish),
		Precondition: wc.precondition(),
	})
	if err != nil {
		return fmt.Errorf("s3api: put %q: %w", rq.key, err)
	}
	out := rq.w.Header()
	out.Set("ETag", quoteETag(info.ETag))
	h.setEncryptionHeaders(out, enc)
	if enc != nil && enc.context != "" {
		out.Set(hdrSSEContext, enc.context)
	}
	setChecksumHeaders(out, in.stored)
	setVersionHeader(out, info.VersionID)
	return rq.writeEmpty(http.StatusOK)
}

func setVersionHeader(h http.Header, versionID string) {
	if versionID != "" && versionID != storage.NullVersionID {
		h.Set("x-amz-version-id", versionID)
	}
}

// getObject answers GET and HEAD /<bucket>/<key>: preconditions, Range
// or partNumber, response-* overrides, and a body streamed from storage
// straight into the connection.
func (h *Handler) getObject(rq *request) error {
	head := rq.r.Method == http.MethodHead
	if rq.auth == nil && hasResponseOverrides(rq.query) {
		// As AWS: on a public bucket anyone could otherwise have a stored
		// object served as, say, text/html from the bucket's origin.
		return withMessage(errInvalidRequest, "Request specific response headers cannot be used for anonymous GET requests.")
	}
	vid, err := readVersionID(rq.query)
	if err != nil {
		return err
	}
	opts := storage.GetOptions{VersionID: vid}
	var (
		info storage.ObjectInfo
		rd   storage.ObjectReader
	)
	if head {
		info, err = h.store.ObjectInfo(rq.ctx, rq.bucket, rq.key, opts)
	} else {
		rd, err = h.store.OpenObject(rq.ctx, rq.bucket, rq.key, opts)
		if err == nil {
			defer rd.Close()
			info = rd.Info()
		}
	}
	if err != nil {
		return h.hideMissing(rq, fmt.Errorf("s3api: get %q: %w", rq.key, err))
	}
	ck, err := parseCustomerKey(rq.r.Header, hdrSSECPrefix)
	if err != nil {
		return err
	}
	prd, err := h.decrypt(rq, info, rd, ck)
	if err != nil {
		return fmt.Errorf("s3api: get %q: %w", rq.key, err)
	}
	info = prd.Info()
	if err := readConditions(rq.r.Header, "").evalRead(info.ETag, info.ModTime); err != nil {
		return withCaching(err, info.Metadata, rq.query)
	}

	offset, length := int64(0), info.Size
	status := http.StatusOK
	out := rq.w.Header()
	rangeHeader := rq.r.Header.Get("Range")
	full := true
	var part *storage.ObjectPart // the part a partNumber read returns
	if pn := rq.query.Get("partNumber"); pn != "" {
		if rangeHeader != "" {
			return withMessage(errInvalidRequest, "Cannot specify both Range header and partNumber query parameter.")
		}
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > storage.MaxPartNumber {
			return errInvalidPartNumber
		}
		if len(info.Parts) > 0 {
			if n > len(info.Parts) {
				return withMessage(&rangeError{size: info.Size}, "The requested partnumber is not satisfiable.")
			}
			for _, p := range info.Parts[:n-1] {
				offset += p.Size
			}
			length = info.Parts[n-1].Size
			part = &info.Parts[n-1]
			full = false
			// An empty part has no byte range to name (Content-Range
			// would be "bytes N-(N-1)/size"): 200, as for an empty object.
			if length > 0 {
				status = http.StatusPartialContent
			}
			out.Set("x-amz-mp-parts-count", strconv.Itoa(len(info.Parts)))
		} else if n != 1 {
			return withMessage(&rangeError{size: info.Size}, "The requested partnumber is not satisfiable.")
		} else if info.Size > 0 {
			// An object not uploaded in parts is its own part 1; AWS
			// answers it as a range over the whole object.
			status = http.StatusPartialContent
		}
	} else if br, ok := parseRange(rangeHeader); ok && ifRangeHolds(rq.r.Header.Get("If-Range"), info.ETag, info.ModTime, time.Now()) &&
		!(br.suffix && br.last > 0 && info.Size == 0) {
		// A suffix range of an empty object is answered with the
		// empty object and 200, as AWS does (readers of a file's tail,
		// such as Trino's, rely on it); HTTP would say 416.
		offset, length, err = br.resolve(info.Size)
		if err != nil {
			return err
		}
		status = http.StatusPartialContent
		full = false
	}

	checksumMode := strings.EqualFold(rq.r.Header.Get(checksumModeHeader), "ENABLED")
	setObjectHeaders(out, info, full && checksumMode)
	if part != nil && checksumMode {
		setPartChecksumHeaders(out, part.Metadata, uploadAlgorithm(info.Metadata))
	}
	h.setEncryptionHeaders(out, prd.enc)
	applyResponseOverrides(out, rq.query)
	out.Set("Content-Length", strconv.FormatInt(length, 10))
	if status == http.StatusPartialContent {
		out.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, offset+length-1, info.Size))
	}
	if head || length == 0 {
		rq.w.WriteHeader(status)
		return nil
	}
	// The status line goes with the first verified bytes: an object
	// whose first block cannot be read (too many shards lost or
	// corrupt, its data removed) is an error response, not a 200 with
	// nothing after it.
	body := &headerOnWrite{w: rq.w, status: status}
	if err := prd.WriteRange(rq.ctx, body, offset, length); err != nil {
		if !rq.w.wrote {
			return fmt.Errorf("s3api: get %q: %w", rq.key, err)
		}
		// The status line is gone: the error is logged and the short
		// body tells the client. A client that went away is no server
		// error.
		if cerr := rq.ctx.Err(); cerr != nil {
			return fmt.Errorf("s3api: stream %q: client gone: %w", rq.key, cerr)
		}
		return fmt.Errorf("s3api: stream %q: %w", rq.key, err)
	}
	return nil
}

// headerOnWrite writes the status line with the first bytes of a body.
type headerOnWrite struct {
	w      *responseWriter
	status int
}

func (h *headerOnWrite) Write(p []byte) (int, error) {
	h.w.WriteHeader(h.status) // once; later calls do nothing
	return h.w.Write(p)
}

// deleteObject answers DELETE /<bucket>/<key>: 204 whether or not the
// object (or the version named) existed, unless the delete had
// conditions: then, as AWS, a missing object is NoSuchKey and a failed
// condition 412. A version id no store could have made is 400
// InvalidArgument, as AWS answers it.
func (h *Handler) deleteObject(rq *request) error {
	vid, err := readVersionID(rq.query)
	if err != nil {
		return fmt.Errorf("s3api: delete %q: %w", rq.key, err)
	}
	dc, err := readDeleteConditions(rq.r.Header)
	if err != nil {
		return err
	}
	err = h.store.DeleteObject(rq.ctx, rq.bucket, rq.key, storage.DeleteOptions{VersionID: vid, Precondition: h.deletePrecondition(dc)})
	if err != nil && (dc.any() || !nothingToDelete(err)) {
		return h.hideMissing(rq, fmt.Errorf("s3api: delete %q: %w", rq.key, err))
	}
	setVersionHeader(rq.w.Header(), vid)
	return rq.writeEmpty(http.StatusNoContent)
}

// nothingToDelete reports whether a delete failed only because there was
// no such object or version, which an unconditional delete answers with
// success, as AWS does. *storage.Store reports a missing version as
// ErrObjectNotFound; ErrVersionNotFound is taken as well, so that the
// answer does not hang on which of the two a store chooses.
func nothingToDelete(err error) bool {
	return errors.Is(err, storage.ErrObjectNotFound) || errors.Is(err, storage.ErrVersionNotFound)
}

// deleteObjects answers POST /<bucket>?delete: up to 1000 keys, each
// with its own result. The body must carry Content-MD5 or a checksum.
func (h *Handler) deleteObjects(rq *request) error {
	b, err := rq.readBody(maxDeleteBody)
	if err != nil {
		return err
	}
	if err := verifySmallBody(rq, b); err != nil {
		return err
	}
	req, err := parseDeleteRequest(b)
	if err != nil {
		return err
	}
	if _, err := h.store.BucketInfo(rq.ctx, rq.bucket); err != nil {
		return fmt.Errorf("s3api: delete objects: %w", err)
	}

	type result struct {
		err error
	}
	results := make([]result, len(req.Objects))
	sem := make(chan struct{}, deleteConcurrency)
	var wg sync.WaitGroup
	for i, o := range req.Objects {
		if err := checkObjectKey(o.Key); err != nil {
			results[i].err = err
			continue
		}
		dc, err := deleteConditionsOf(o)
		if err != nil {
			results[i].err = err
			continue
		}
		if err := h.authorizeKey(rq, o.Key, o.VersionID); err != nil {
			results[i].err = err
			continue
		}
		if o.VersionID != "" && !wellFormedVersionID(o.VersionID) {
			// AWS answers a malformed id here as a version that does
			// not exist, where DeleteObject refuses it as an argument.
			results[i].err = fmt.Errorf("s3api: delete %q version %q: %w", o.Key, o.VersionID, storage.ErrVersionNotFound)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := h.store.DeleteObject(rq.ctx, rq.bucket, o.Key, storage.DeleteOptions{VersionID: o.VersionID, Precondition: h.deletePrecondition(dc)})
			if err != nil && (dc.any() || !nothingToDelete(err)) {
				results[i].err = err
			}
		}()
	}
	wg.Wait()

	res := deleteResult{}
	for i, o := range req.Objects {
		if err := results[i].err; err != nil {
			// Here, not in the workers: authorization reads and marks rq.
			err = h.hideMissing(rq, err)
			ae, known := apiErrorFor(err)
			if !known {
				ae = errInternal
				h.log.LogAttrs(rq.ctx, slog.LevelError, "s3api: delete objects: key failed",
					slog.String("request_id", rq.id), slog.String("error", err.Error()))
			}
			res.Errors = append(res.Errors, deleteError{Key: o.Key, VersionID: o.VersionID, Code: ae.Code, Message: ae.Message})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedItem{Key: o.Key, VersionID: o.VersionID})
		}
	}
	return rq.writeXML(http.StatusOK, res)
}

// parseDeleteRequest parses and checks a DeleteObjects body.
func parseDeleteRequest(b []byte) (deleteRequest, error) {
	var req deleteRequest
	if err := decodeXML(b, &req); err != nil {
		return req, err
	}
	if len(req.Objects) == 0 {
		return req, withMessage(errMalformedXML, "The Delete element must list at least one Object.")
	}
	if len(req.Objects) > maxDeleteObjects {
		return req, withMessage(errMalformedXML, "The Delete element may list at most 1000 Objects.")
	}
	for _, o := range req.Objects {
		if o.Key == "" {
			return req, errUserKeyMustBeSpecified
		}
	}
	return req, nil
}

// verifyOptionalDigest checks a fully read body against its Content-MD5
// or x-amz-checksum-*, when the client sent one: AWS checks them on every
// request with a body, and under SigV2 (which does not sign bodies) or
// UNSIGNED-PAYLOAD they are what binds the body to the signature.
// CompleteMultipartUpload passes md5Only: its x-amz-checksum-* headers
// carry the object's checksum, not the XML body's.
func verifyOptionalDigest(rq *request, b []byte, md5Only bool) error {
	hdr := rq.r.Header
	if md5Only {
		v := hdr.Get("Content-MD5")
		if v == "" {
			return nil
		}
		want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(want) != md5.Size {
			return errInvalidDigest
		}
		if got := md5.Sum(b); !bytes.Equal(got[:], want) {
			return errBadDigest
		}
		return nil
	}
	if hdr.Get("Content-MD5") == "" && hdr.Get("x-amz-trailer") == "" {
		exp, err := checksum.FromHeaders(hdr)
		if err != nil {
			return fmt.Errorf("s3api: checksum headers: %w", err)
		}
		if exp.Algorithm == checksum.None {
			return nil
		}
	}
	return verifySmallBody(rq, b)
}

// verifySmallBody checks a fully read body against its Content-MD5 or
// x-amz-checksum-* (header or trailer); one of them is required.
func verifySmallBody(rq *request, b []byte) error {
	hdr := rq.r.Header
	exp, err := checksum.FromHeaders(hdr)
	if err != nil {
		return fmt.Errorf("s3api: checksum headers: %w", err)
	}
	md5h := hdr.Get("Content-MD5")
	if md5h == "" && exp.Algorithm == checksum.None {
		return errMissingContentMD5
	}
	if md5h != "" {
		want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(md5h))
		if err != nil || len(want) != md5.Size {
			return errInvalidDigest
		}
		if got := md5.Sum(b); !bytes.Equal(got[:], want) {
			return errBadDigest
		}
	}
	if exp.Algorithm == checksum.None {
		return nil
	}
	want := exp.Value
	if exp.Trailer && rq.body != nil {
		want = trailerValue(rq.body.Trailers(), exp.Algorithm.Header())
	}
	if want == "" {
		if md5h != "" {
			return nil // the algorithm was only announced; MD5 verified the body
		}
		return errMissingContentMD5
	}
	hr := checksum.NewReader(bytes.NewReader(b), exp.Algorithm)
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return fmt.Errorf("s3api: checksum body: %w", err)
	}
	if hr.Sum(exp.Algorithm) != want {
		return fmt.Errorf("s3api: %s: %w", exp.Algorithm, checksum.ErrBadDigest)
	}
	return nil
}
