package s3api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/objstore/objstore/s3api/checksum"
	"github.com/objstore/objstore/storage"
)

// maxCopySize is the largest source CopyObject accepts (AWS: 5 GiB);
// larger objects are copied with UploadPartCopy.
const maxCopySize = maxPartSize

// copySource is a parsed x-amz-copy-source header.
type copySource struct {
	bucket, key, versionID string
}

// parseCopySource parses "[/]bucket/key[?versionId=id]", URL-encoded.
// The query is split off before decoding, so an encoded '?' (%3F) stays
// part of the key.
func parseCopySource(v string) (copySource, error) {
	raw, query, _ := strings.Cut(strings.TrimSpace(v), "?")
	p, err := url.PathUnescape(raw)
	if err != nil {
		return copySource{}, fmt.Errorf("%w: %v", errInvalidCopySource, err)
	}
	p = strings.TrimPrefix(p, "/")
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return copySource{}, errInvalidCopySource
	}
	if !validBucketName(bucket) {
		return copySource{}, fmt.Errorf("%w: %q", errInvalidBucketName, bucket)
	}
	if err := checkObjectKey(key); err != nil {
		return copySource{}, err
	}
	src := copySource{bucket: bucket, key: key}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return copySource{}, fmt.Errorf("%w: %v", errInvalidCopySource, err)
		}
		if src.versionID, err = readVersionID(q); err != nil {
			return copySource{}, err
		}
	}
	return src, nil
}

// openCopySource opens the source of a copy and applies the
// x-amz-copy-source-if-* conditions. The reader returns the source's
// plaintext, decrypted with its own keys (the copy-source SSE-C headers
// for an SSE-C source).
func (h *Handler) openCopySource(rq *request) (copySource, storage.ObjectReader, error) {
	src, err := parseCopySource(rq.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return src, nil, err
	}
	ck, err := parseCustomerKey(rq.r.Header, hdrCopySSECPfx)
	if err != nil {
		return src, nil, err
	}
	srd, err := h.store.OpenObject(rq.ctx, src.bucket, src.key, storage.GetOptions{VersionID: src.versionID})
	if err != nil {
		return src, nil, &copySourceError{bucket: src.bucket, key: src.key, err: err}
	}
	rd, err := h.decrypt(rq, srd.Info(), srd, ck)
	if err != nil {
		srd.Close()
		return src, nil, fmt.Errorf("s3api: copy source %s/%q: %w", src.bucket, src.key, err)
	}
	info := rd.Info()
	if err := readConditions(rq.r.Header, "x-amz-copy-source-").evalCopySource(info.ETag, info.ModTime); err != nil {
		rd.Close()
		return src, nil, err
	}
	return src, rd, nil
}

// streamRange runs rd.WriteRange into a pipe, so a copy never buffers
// the object. The caller reads from the returned reader and must call
// wait once done reading; wait stops the writer if the reader quit
// early and returns the writer's error.
func streamRange(ctx context.Context, rd storage.ObjectReader, offset, length int64) (*io.PipeReader, func() error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		var err error
		if length > 0 {
			err = rd.WriteRange(ctx, pw, offset, length)
		}
		_ = pw.CloseWithError(err) // nil closes with EOF
		done <- err
	}()
	return pr, func() error {
		_ = pr.CloseWithError(errors.New("s3api: copy destination stopped reading"))
		return <-done
	}
}

// copyIngest verifies data copied from a source: each whole-object
// checksum the source stored is recomputed and must match (a mismatch
// means corrupt data, a server error). What the copy stores follows AWS:
// the algorithm the client asks for with x-amz-checksum-algorithm
// replaces the source's (which are still verified, not stored); without
// one the copy keeps the source's algorithms; a source without any gets
// checksum.Default. A source's COMPOSITE ("-N") checksum describes its
// parts, not these bytes: the copy, a single-part object, gets that
// algorithm's full-object value instead, as AWS gives it, with nothing
// to verify it against.
func copyIngest(r io.Reader, srcMD map[string]string, srcAskedOnly bool, requested checksum.Algorithm, fullObject bool) *ingest {
	in := &ingest{want: map[checksum.Algorithm]string{}, fullObject: fullObject, corruptOnMismatch: true}
	for _, a := range checksumAlgorithms {
		v := srcMD[a.Header()]
		if v == "" {
			continue
		}
		in.algs = append(in.algs, a)
		if fullObject && !strings.Contains(v, "-") {
			in.want[a] = v
		}
	}
	switch {
	case requested != checksum.None:
		for _, a := range in.algs {
			if a != requested {
				if in.verifyOnly == nil {
					in.verifyOnly = map[checksum.Algorithm]bool{}
				}
				in.verifyOnly[a] = true
			}
		}
		if !containsAlg(in.algs, requested) {
			in.algs = append(in.algs, requested)
		}
	case len(in.algs) == 0:
		in.withDefault()
	case !srcAskedOnly:
		// The source's checksums carry over because the client did not
		// choose. A plain or SSE-S3 source's may be the default nobody
		// asked for, so an SSE-KMS or SSE-C copy does not keep them; an
		// SSE-KMS or SSE-C source stores only asked-for ones (see
		// encryptedWith), which its copies keep.
		in.unasked = append(in.unasked, in.algs...)
	}
	in.hr = checksum.NewReader(r, in.algs...)
	return in
}

func containsAlg(list []checksum.Algorithm, a checksum.Algorithm) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// hasChecksum reports whether md holds a stored checksum.
func hasChecksum(md map[string]string) bool {
	for _, a := range checksumAlgorithms {
		if md[a.Header()] != "" {
			return true
		}
	}
	return false
}

// requestedAlgorithm reads x-amz-checksum-algorithm, None if absent.
func requestedAlgorithm(h http.Header) (checksum.Algorithm, error) {
	v := strings.TrimSpace(h.Get("x-amz-checksum-algorithm"))
	if v == "" {
		return checksum.None, nil
	}
	a, err := checksum.ParseAlgorithm(v)
	if err != nil {
		return checksum.None, fmt.Errorf("s3api: x-amz-checksum-algorithm: %w", err)
	}
	return a, nil
}

// restatesAttributes reports whether a copy request names an attribute
// that AWS counts as a change of the object even when its value is the
// same: encryption or storage class (a website redirect, the third such
// attribute, is refused by checkWriteHeaders). Clients rely on
// this to re-encrypt or re-class an object in place (CopyObject onto
// itself with x-amz-server-side-encryption), which AWS allows.
func restatesAttributes(h http.Header) bool {
	for _, k := range [...]string{
		"x-amz-server-side-encryption", "x-amz-storage-class", hdrSSECPrefix + "algorithm",
	} {
		if h.Get(k) != "" {
			return true
		}
	}
	return false
}

// copyObject answers PUT /<bucket>/<key> with x-amz-copy-source.
func (h *Handler) copyObject(rq *request) error {
	hdr := rq.r.Header
	if err := checkWriteHeaders(hdr); err != nil {
		return err
	}
	directive := strings.ToUpper(strings.TrimSpace(hdr.Get("x-amz-metadata-directive")))
	switch directive {
	case "":
		directive = "COPY"
	case "COPY", "REPLACE":
	default:
		return fmt.Errorf("%w: %q", errMetadataDirective, directive)
	}
	requested, err := requestedAlgorithm(hdr)
	if err != nil {
		return err
	}
	wc, err := readWriteConditions(hdr)
	if err != nil {
		return err
	}
	src, rd, err := h.openCopySource(rq)
	if err != nil {
		return err
	}
	defer rd.Close()
	sinfo := rd.Info()
	if sinfo.Size > maxCopySize {
		return errCopySourceTooLarge
	}
	self := src.bucket == rq.bucket && src.key == rq.key &&
		(src.versionID == "" || src.versionID == storage.NullVersionID)
	if self && directive != "REPLACE" && requested == checksum.None && !restatesAttributes(hdr) {
		return errIllegalSelfCopy
	}
	if err := h.precheckWrite(rq, wc); err != nil {
		return err
	}

	var md map[string]string
	if directive == "REPLACE" {
		if md, err = objectMetadata(hdr); err != nil {
			return err
		}
	} else {
		md = maps.Clone(sinfo.Metadata)
		for _, a := range checksumAlgorithms {
			delete(md, a.Header()) // recomputed below
		}
		delete(md, mdChecksumType)
	}

	var info storage.ObjectInfo
	var stored map[string]string
	var enc *objectEncryption
	if h.keys != nil {
		// Encrypted data is always rewritten, under a fresh object key:
		// the destination's mode and key may differ from the source's.
		if enc, err = h.newEncryption(rq, rq.key); err != nil {
			return err
		}
	}
	if self && requested == checksum.None && h.keys == nil && hasChecksum(sinfo.Metadata) {
		// Same data, new metadata: no need to move a byte. The version
		// id pins the data that was checked above. An object without a
		// checksum (written before objstore kept a default one) takes
		// the data path instead, to get its CRC64NVME as in AWS.
		stored = map[string]string{}
		for _, a := range checksumAlgorithms {
			if v := sinfo.Metadata[a.Header()]; v != "" {
				stored[a.Header()] = v
			}
		}
		if t := sinfo.Metadata[mdChecksumType]; t != "" && len(stored) > 0 {
			stored[mdChecksumType] = t
		}
		maps.Copy(md, stored)
		info, err = h.store.UpdateMetadata(rq.ctx, rq.bucket, rq.key, sinfo.VersionID, md, wc.precondition())
		if err != nil {
			return fmt.Errorf("s3api: copy %q onto itself: %w", rq.key, err)
		}
	} else {
		if md, err = enc.seal(md); err != nil {
			return err
		}
		pr, wait := streamRange(rq.ctx, rd, 0, sinfo.Size)
		in := copyIngest(pr, sinfo.Metadata, storesAskedOnly(rd), requested, true)
		in.encryptedWith(enc)
		body, size, err := enc.encrypt(in.hr, 0, sinfo.Size)
		if err != nil {
			wait()
			return err
		}
		info, err = h.store.PutObject(rq.ctx, rq.bucket, rq.key, body, storage.PutOptions{
			Metadata:     md,
			Size:         size,
			Finish:       enc.finish(in.finish),
			Precondition: wc.precondition(),
		})
		werr := wait()
		if err != nil {
			return fmt.Errorf("s3api: copy to %q: %w", rq.key, err)
		}
		if werr != nil {
			// Storage committed though the reader saw an error; this
			// cannot happen with a correct store (the body would be short).
			return fmt.Errorf("s3api: copy source read: %w", werr)
		}
		stored = in.stored
	}

	out := rq.w.Header()
	if sinfo.VersionID != "" && sinfo.VersionID != storage.NullVersionID {
		out.Set("x-amz-copy-source-version-id", sinfo.VersionID)
	}
	setVersionHeader(out, info.VersionID)
	h.setEncryptionHeaders(out, enc)
	if enc != nil && enc.context != "" {
		out.Set(hdrSSEContext, enc.context)
	}
	res := copyObjectResult{
		ETag:         quoteETag(info.ETag),
		LastModified: s3Time(info.ModTime),
		checksums:    checksumsOf(stored),
	}
	if res.checksums != (checksums{}) {
		res.ChecksumType = stored[mdChecksumType]
	}
	return rq.writeXML(http.StatusOK, res)
}

// parseCopySourceRange parses x-amz-copy-source-range, which must be
// "bytes=first-last" within an object of size bytes.
func parseCopySourceRange(v string, size int64) (offset, length int64, err error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok {
		return 0, 0, errInvalidCopySourceRange
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, errInvalidCopySourceRange
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, errInvalidCopySourceRange
	}
	if last >= size {
		return 0, 0, withMessage(errInvalidArgument,
			"Range specified is not valid for source object of size: "+strconv.FormatInt(size, 10))
	}
	return first, last - first + 1, nil
}

// storesAskedOnly reports whether the object rd reads is SSE-KMS or
// SSE-C, whose stored checksums are all ones the client asked for (the
// default is not kept for them, see ingest.encryptedWith).
func storesAskedOnly(rd storage.ObjectReader) bool {
	p, ok := rd.(*plainReader)
	return ok && p.enc != nil && (p.enc.mode == modeKMS || p.enc.mode == modeC)
}
