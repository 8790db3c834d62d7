package s3api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/objstore/objstore/s3api/checksum"
	"github.com/objstore/objstore/storage"
)

// maxCompleteBody bounds a CompleteMultipartUpload body: 10,000 parts
// with an ETag and a checksum each.
const maxCompleteBody = 4 << 20

// Values of x-amz-checksum-type.
const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// createMultipartUpload answers POST /<bucket>/<key>?uploads.
func (h *Handler) createMultipartUpload(rq *request) error {
	hdr := rq.r.Header
	if err := checkWriteHeaders(hdr); err != nil {
		return err
	}
	md, err := objectMetadata(hdr)
	if err != nil {
		return err
	}
	alg, err := requestedAlgorithm(hdr)
	if err != nil {
		return err
	}
	ctype := strings.ToUpper(strings.TrimSpace(hdr.Get(mdChecksumType)))
	switch ctype {
	case "":
		if alg != checksum.None && !alg.Composite() {
			// AWS: CRC64NVME exists only as a full-object checksum, the
			// default type when none is asked for.
			ctype = checksumFullObject
		}
	case checksumComposite, checksumFullObject:
		// A type the algorithm cannot have, asked for explicitly, is
		// refused: AWS does not switch to the other type.
		if alg != checksum.None && (ctype == checksumComposite && !alg.Composite() || ctype == checksumFullObject && !alg.FullObject()) {
			return withMessage(errInvalidRequest, fmt.Sprintf("The %s checksum type cannot be used with the %s checksum algorithm.",
				ctype, strings.ToLower(alg.String())))
		}
	default:
		return fmt.Errorf("%w: %q", errInvalidChecksumType, ctype)
	}
	if alg != checksum.None {
		if ctype == "" {
			ctype = checksumComposite
		}
		md[mdChecksumAlgorithm] = alg.String()
		md[mdChecksumType] = ctype
	}
	enc, err := h.newEncryption(rq, rq.key)
	if err != nil {
		return err
	}
	if md, err = enc.seal(md); err != nil {
		return err
	}
	if !rq.identity.Root && rq.identity.User != "" {
		// In clear, beside the envelope: ListMultipartUploads shows it
		// without opening anything.
		md[mdInitiator] = rq.identity.User
	}
	id, err := h.store.NewMultipartUpload(rq.ctx, rq.bucket, rq.key, md)
	if err != nil {
		return fmt.Errorf("s3api: create upload %q: %w", rq.key, err)
	}
	h.setEncryptionHeaders(rq.w.Header(), enc)
	if enc != nil && enc.context != "" {
		rq.w.Header().Set(hdrSSEContext, enc.context)
	}
	if alg != checksum.None {
		rq.w.Header().Set("x-amz-checksum-algorithm", alg.String())
		rq.w.Header().Set(mdChecksumType, ctype)
	}
	return rq.writeXML(http.StatusOK, initiateMultipartUploadResult{Bucket: rq.bucket, Key: rq.key, UploadID: id})
}

// partParams reads uploadId and partNumber.
func partParams(q url.Values) (uploadID string, partNumber int, err error) {
	uploadID = q.Get("uploadId")
	if uploadID == "" {
		return "", 0, withMessage(errInvalidArgument, "The uploadId query parameter is required.")
	}
	partNumber, err = strconv.Atoi(q.Get("partNumber"))
	if err != nil || partNumber < 1 || partNumber > storage.MaxPartNumber {
		return "", 0, errInvalidPartNumber
	}
	return uploadID, partNumber, nil
}

// checkObjectSize refuses a completion whose parts (in the client's bytes)
// add up to more than AWS's largest object: 10,000 parts of 5 GiB would
// otherwise make a 48 TiB object.
func checkObjectSize(parts []storage.PartInfo) error {
	var total int64
	for _, p := range parts {
		total += p.Size
	}
	if total > maxObjectSize {
		return fmt.Errorf("%w: the parts add up to %d bytes", errEntityTooLarge, total)
	}
	return nil
}

// uploadPart answers PUT /<bucket>/<key>?partNumber=N&uploadId=ID.
func (h *Handler) uploadPart(rq *request) error {
	uploadID, pn, err := partParams(rq.query)
	if err != nil {
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
	if size > maxPartSize {
		return fmt.Errorf("%w: part of %d bytes", errEntityTooLarge, size)
	}
	requested, err := requestedAlgorithm(rq.r.Header)
	if err != nil {
		return err
	}
	up, err := h.uploadInfo(rq, uploadID)
	if err != nil {
		return err
	}
	// Every part gets the upload's checksum, computed here even when the
	// client sends none for the part, so that Complete can combine them.
	alg := uploadAlgorithm(up.Metadata)
	in, err := declaredIngest(rq.r.Header, body.Trailers, requested, alg)
	if err != nil {
		return err
	}
	if err := checkPartAlgorithm(in.declared, alg); err != nil {
		return err
	}
	if alg == checksum.None {
		in.withDefault()
	}
	in.fullObject = false
	enc, err := h.openUpload(rq, up, true)
	if err != nil {
		return err
	}
	in.encryptedWith(enc)
	// As in putObject: large parts are hashed beside the network read,
	// and the body is touched only once the request passed every check.
	in.hashBody(body, size, &h.bodyBlocks)
	defer in.close()
	stored, storedSize, finish, err := enc.encryptPart(in.hr, pn, size, enc.finish(in.finish))
	if err != nil {
		return err
	}
	part, err := h.store.PutObjectPart(rq.ctx, rq.bucket, rq.key, uploadID, pn, stored, storage.PutOptions{
		Size:   storedSize,
		Finish: finish,
	})
	if err != nil {
		return fmt.Errorf("s3api: upload part %d of %q: %w", pn, rq.key, err)
	}
	rq.w.Header().Set("ETag", quoteETag(part.ETag))
	h.setEncryptionHeaders(rq.w.Header(), enc)
	setChecksumHeaders(rq.w.Header(), in.stored)
	return rq.writeEmpty(http.StatusOK)
}

// checkPartAlgorithm refuses a part whose checksum header or trailer
// names (declared) another algorithm than its upload was created with, as
// AWS does;
// it would not combine into the upload's checksum. A part without one is
// accepted (the upload's checksum is computed for it), and so is any
// part of an upload created without an algorithm.
func checkPartAlgorithm(declared, upload checksum.Algorithm) error {
	if upload != checksum.None && declared != checksum.None && declared != upload {
		return withMessage(errInvalidRequest, fmt.Sprintf("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
			strings.ToLower(upload.String()), strings.ToLower(declared.String())))
	}
	return nil
}

// uploadInfo fetches an upload's metadata (and checks it exists).
func (h *Handler) uploadInfo(rq *request, uploadID string) (storage.MultipartUpload, error) {
	res, err := h.store.ListParts(rq.ctx, rq.bucket, rq.key, uploadID, 0, 1)
	if err != nil {
		return storage.MultipartUpload{}, fmt.Errorf("s3api: upload %q: %w", rq.key, err)
	}
	return res.Upload, nil
}

// initiator is the Initiator element of an upload whose metadata is md.
// AWS names an IAM user who started an upload by the user's ARN and
// name, and otherwise the account, as the Owner element does.
func (h *Handler) initiator(md map[string]string) owner {
	if u := md[mdInitiator]; u != "" {
		return owner{ID: "arn:aws:iam::" + h.accountID + ":user/" + u, DisplayName: u}
	}
	return h.owner
}

// uploadAlgorithm is the checksum algorithm an upload was created with.
func uploadAlgorithm(md map[string]string) checksum.Algorithm {
	v := md[mdChecksumAlgorithm]
	if v == "" {
		return checksum.None
	}
	a, err := checksum.ParseAlgorithm(v)
	if err != nil {
		return checksum.None
	}
	return a
}

// uploadPartCopy answers PUT ...?partNumber=N&uploadId=ID with
// x-amz-copy-source and an optional x-amz-copy-source-range.
func (h *Handler) uploadPartCopy(rq *request) error {
	uploadID, pn, err := partParams(rq.query)
	if err != nil {
		return err
	}
	up, err := h.uploadInfo(rq, uploadID)
	if err != nil {
		return err
	}
	enc, err := h.openUpload(rq, up, true)
	if err != nil {
		return err
	}
	_, rd, err := h.openCopySource(rq)
	if err != nil {
		return err
	}
	defer rd.Close()
	sinfo := rd.Info()
	offset, length := int64(0), sinfo.Size
	// Present but empty is malformed, as AWS answers it, not "the whole
	// object".
	if vals, ok := rq.r.Header["X-Amz-Copy-Source-Range"]; ok {
		v := strings.Join(vals, ",")
		if offset, length, err = parseCopySourceRange(v, sinfo.Size); err != nil {
			return err
		}
	}
	if length > maxPartSize {
		return fmt.Errorf("%w: part of %d bytes", errEntityTooLarge, length)
	}
	pr, wait := streamRange(rq.ctx, rd, offset, length)
	in := copyIngest(pr, nil, false, uploadAlgorithm(up.Metadata), false)
	in.encryptedWith(enc)
	stored, storedSize, finish, err := enc.encryptPart(in.hr, pn, length, enc.finish(in.finish))
	if err != nil {
		wait()
		return err
	}
	part, err := h.store.PutObjectPart(rq.ctx, rq.bucket, rq.key, uploadID, pn, stored, storage.PutOptions{
		Size:   storedSize,
		Finish: finish,
	})
	werr := wait()
	if err != nil {
		return fmt.Errorf("s3api: copy part %d of %q: %w", pn, rq.key, err)
	}
	if werr != nil {
		return fmt.Errorf("s3api: copy part source read: %w", werr)
	}
	h.setEncryptionHeaders(rq.w.Header(), enc)
	return rq.writeXML(http.StatusOK, copyPartResult{
		ETag:         quoteETag(part.ETag),
		LastModified: s3Time(part.ModTime),
		checksums:    checksumsOf(in.stored),
	})
}

// parseCompleteRequest parses and checks a CompleteMultipartUpload body.
// Like AWS it accepts the document with or without a namespace and
// ETags with or without quotes; order and existence of the parts are
// checked by the object layer.
func parseCompleteRequest(b []byte) (completeMultipartUpload, error) {
	var req completeMultipartUpload
	if err := decodeXML(b, &req); err != nil {
		return req, err
	}
	if len(req.Parts) == 0 {
		return req, withMessage(errMalformedXML, "You must specify at least one part.")
	}
	if len(req.Parts) > storage.MaxPartNumber {
		return req, withMessage(errMalformedXML, "You may specify at most 10000 parts.")
	}
	for _, p := range req.Parts {
		if p.PartNumber < 1 || p.PartNumber > storage.MaxPartNumber {
			return req, errInvalidPartNumber
		}
	}
	return req, nil
}

// completeMultipartUpload answers POST /<bucket>/<key>?uploadId=ID.
func (h *Handler) completeMultipartUpload(rq *request) error {
	uploadID := rq.query.Get("uploadId")
	b, err := rq.readBody(maxCompleteBody)
	if err != nil {
		return err
	}
	if err := verifyOptionalDigest(rq, b, true); err != nil {
		return err
	}
	req, err := parseCompleteRequest(b)
	if err != nil {
		return err
	}
	wc, err := readWriteConditions(rq.r.Header)
	if err != nil {
		return err
	}
	parts := make([]storage.CompletePart, len(req.Parts))
	given := make(map[int]checksums, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = storage.CompletePart{Number: p.PartNumber, ETag: p.ETag}
		given[p.PartNumber] = p.checksums
	}
	up, err := h.uploadInfo(rq, uploadID)
	if errors.Is(err, storage.ErrUploadNotFound) {
		return h.completedBefore(rq, uploadID, parts, err)
	}
	if err != nil {
		return err
	}
	if err := h.precheckWrite(rq, wc); err != nil {
		return err
	}
	enc, err := h.openUpload(rq, up, false)
	if err != nil {
		return err
	}
	alg := uploadAlgorithm(up.Metadata)
	ctype := up.Metadata[mdChecksumType]
	if err := checkCompleteChecksums(alg, ctype, req.Parts); err != nil {
		return err
	}
	if alg == checksum.None {
		// An upload created without an algorithm gets AWS's default: the
		// parts' CRC64NVMEs combined into a FULL_OBJECT checksum. Parts
		// uploaded before objstore computed it have none, and then
		// objectChecksum stores no checksum rather than a partial one.
		alg, ctype = checksum.Default, checksumFullObject
	}
	// The whole-object value a client may send (composite "...-N").
	clientSum := strings.TrimSpace(rq.r.Header.Get(alg.Header()))

	finish := func(chosen []storage.PartInfo) (map[string]string, error) {
		if enc == nil {
			if err := checkObjectSize(chosen); err != nil {
				return nil, err
			}
			return objectChecksum(alg, ctype, clientSum, given, chosen)
		}
		return encryptedCompletion(chosen, func(plain []storage.PartInfo) (map[string]string, error) {
			if err := checkObjectSize(plain); err != nil {
				return nil, err
			}
			return objectChecksum(alg, ctype, clientSum, given, plain)
		})
	}

	info, err := h.store.CompleteMultipartUpload(rq.ctx, rq.bucket, rq.key, uploadID, parts, storage.CompleteOptions{
		Finish:       finish,
		Precondition: wc.precondition(),
	})
	if errors.Is(err, storage.ErrUploadNotFound) {
		// A concurrent completion of the same upload won the race.
		return h.completedBefore(rq, uploadID, parts, err)
	}
	if err != nil {
		return fmt.Errorf("s3api: complete %q: %w", rq.key, err)
	}
	return h.writeCompleted(rq, info, enc)
}

// completedBefore answers a CompleteMultipartUpload whose upload is gone
// because this same completion already happened: a client that timed
// out waiting for the first answer retries it, and AWS answers the
// retry with the result of the first (write conditions are not checked
// again: the object they were about is this one now). An SSE-C key, if
// sent, must still be the object's. Otherwise the answer stays
// notFound's NoSuchUpload.
func (h *Handler) completedBefore(rq *request, uploadID string, parts []storage.CompletePart, notFound error) error {
	info, err := h.store.CompletedUpload(rq.ctx, rq.bucket, rq.key, uploadID, parts)
	if errors.Is(err, storage.ErrUploadNotFound) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("s3api: complete %q again: %w", rq.key, err)
	}
	enc, err := h.openUpload(rq, storage.MultipartUpload{Metadata: info.Metadata}, false)
	if err != nil {
		return err
	}
	return h.writeCompleted(rq, info, enc)
}

// writeCompleted writes CompleteMultipartUpload's answer for the object
// info it made.
func (h *Handler) writeCompleted(rq *request, info storage.ObjectInfo, enc *objectEncryption) error {
	setVersionHeader(rq.w.Header(), info.VersionID)
	h.setEncryptionHeaders(rq.w.Header(), enc)
	res := completeMultipartUploadResult{
		Location:  rq.objectURL(),
		Bucket:    rq.bucket,
		Key:       rq.key,
		ETag:      quoteETag(info.ETag),
		checksums: checksumsOf(info.Metadata),
	}
	if res.checksums != (checksums{}) {
		res.ChecksumType = info.Metadata[mdChecksumType]
	}
	return rq.writeXML(http.StatusOK, res)
}

// checkCompleteChecksums refuses a CompleteMultipartUpload of a COMPOSITE
// upload created with algorithm alg whose part list lacks a part's
// checksum of alg, as AWS does: the object's checksum is made from the
// parts' checksums, so the client must name the ones it means. A
// FULL_OBJECT upload's parts may come without theirs (AWS accepts
// them: the object's CRC is checked whole), and so may those of an upload
// created without an algorithm, even though each part got the default
// CRC64NVME. An upload created with an algorithm (either type) must
// list parts 1, 2, 3, ... with no gap.
func checkCompleteChecksums(alg checksum.Algorithm, ctype string, parts []completePart) error {
	if alg == checksum.None {
		return nil
	}
	// AWS (CompletedPart, PartNumber): with an additional checksum on
	// each part, the part numbers must start at 1 and be consecutive, or
	// the answer is InvalidPartOrder; the parts of such an object are
	// then what GetObject?partNumber and GetObjectAttributes both count.
	for i, p := range parts {
		if p.PartNumber != i+1 {
			return fmt.Errorf("%w: part %d listed at position %d of an upload with %s checksums",
				storage.ErrInvalidPartOrder, p.PartNumber, i+1, alg)
		}
	}
	if ctype == checksumFullObject {
		return nil
	}
	for _, p := range parts {
		if p.get(alg) == "" {
			return withMessage(errInvalidRequest, fmt.Sprintf("The upload was created using a %s checksum. "+
				"The complete request must include the checksum for each part. It was missing for part %d in the request.",
				strings.ToLower(alg.String()), p.PartNumber))
		}
	}
	return nil
}

// objectChecksum is the Finish of CompleteMultipartUpload: it checks the
// part checksums the client listed against the stored ones, and computes
// the object's checksum from the parts' (COMPOSITE: a checksum of the
// checksums, "-N"; FULL_OBJECT: the CRCs combined), verified against the
// value the client sent, if any.
func objectChecksum(alg checksum.Algorithm, ctype, clientSum string, given map[int]checksums, chosen []storage.PartInfo) (map[string]string, error) {
	sums := make([]string, 0, len(chosen))
	parts := make([]checksum.Part, 0, len(chosen))
	for _, p := range chosen {
		g := given[p.Number]
		for _, a := range checksumAlgorithms {
			if v := g.get(a); v != "" && v != p.Metadata[a.Header()] {
				return nil, fmt.Errorf("%w: part %d %s", errInvalidPartChecksum, p.Number, a)
			}
		}
		if alg != checksum.None {
			if v := p.Metadata[alg.Header()]; v != "" {
				sums = append(sums, v)
				parts = append(parts, checksum.Part{Sum: v, Size: p.Size})
			}
		}
	}
	extra := map[string]string{}
	if alg == checksum.None || len(sums) != len(chosen) {
		// Some part came without the upload's checksum: store none
		// rather than one that does not cover the whole object.
		return extra, nil
	}
	var sum string
	var err error
	if ctype == checksumFullObject {
		sum, err = checksum.FullObject(alg, parts)
	} else {
		ctype = checksumComposite
		sum, err = checksum.Composite(alg, sums)
	}
	if err != nil {
		return nil, fmt.Errorf("s3api: %s checksum: %w", ctype, err)
	}
	if clientSum != "" && stripPartCount(clientSum) != stripPartCount(sum) {
		return nil, fmt.Errorf("s3api: %s checksum: %w", ctype, &checksum.AlgorithmError{Err: checksum.ErrBadDigest, Algorithm: alg})
	}
	extra[alg.Header()] = sum
	extra[mdChecksumType] = ctype
	return extra, nil
}

// stripPartCount drops the "-N" suffix of a composite checksum, which
// some clients omit.
func stripPartCount(v string) string {
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		return v[:i]
	}
	return v
}

// objectURL is the Location of an object, as CompleteMultipartUpload
// reports it.
func (rq *request) objectURL() string {
	scheme := "http"
	if rq.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + rq.r.Host + "/" + url.PathEscape(rq.bucket) + "/" + s3URLEncode(rq.key)
}

// abortMultipartUpload answers DELETE /<bucket>/<key>?uploadId=ID.
func (h *Handler) abortMultipartUpload(rq *request) error {
	if err := h.store.AbortMultipartUpload(rq.ctx, rq.bucket, rq.key, rq.query.Get("uploadId")); err != nil {
		return fmt.Errorf("s3api: abort upload %q: %w", rq.key, err)
	}
	return rq.writeEmpty(http.StatusNoContent)
}

// listParts answers GET /<bucket>/<key>?uploadId=ID.
func (h *Handler) listParts(rq *request) error {
	q := rq.query
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return withMessage(errInvalidArgument, "Invalid part-number-marker.")
		}
		marker = n
	}
	maxParts, err := parseMax(q, "max-parts")
	if err != nil {
		return err
	}
	uploadID := q.Get("uploadId")
	res := listPartsResult{
		Bucket:           rq.bucket,
		Key:              rq.key,
		UploadID:         uploadID,
		Owner:            h.owner,
		StorageClass:     "STANDARD",
		PartNumberMarker: marker,
		MaxParts:         maxParts,
	}
	if maxParts == 0 {
		// Still answer NoSuchUpload for an unknown upload.
		up, err := h.uploadInfo(rq, uploadID)
		if err != nil {
			return err
		}
		res.Initiator = h.initiator(up.Metadata)
		return rq.writeXML(http.StatusOK, res)
	}
	lr, err := h.store.ListParts(rq.ctx, rq.bucket, rq.key, uploadID, marker, maxParts)
	if err != nil {
		if errors.Is(err, storage.ErrInvalidArgument) {
			return withMessage(errInvalidArgument, "Invalid part listing parameters.")
		}
		return fmt.Errorf("s3api: list parts %q: %w", rq.key, err)
	}
	res.Initiator = h.initiator(lr.Upload.Metadata)
	if a := uploadAlgorithm(lr.Upload.Metadata); a != checksum.None {
		res.ChecksumAlgorithm = a.String()
		res.ChecksumType = lr.Upload.Metadata[mdChecksumType]
	}
	res.IsTruncated = lr.IsTruncated
	encrypted := lr.Upload.Metadata[mdSSE] != ""
	for _, p := range lr.Parts {
		if encrypted {
			p.Size = plainSize(p.Size)
		}
		res.Parts = append(res.Parts, partItem{
			PartNumber:   p.Number,
			LastModified: s3Time(p.ModTime),
			ETag:         quoteETag(p.ETag),
			Size:         p.Size,
			checksums:    checksumsOf(p.Metadata),
		})
	}
	switch {
	case lr.IsTruncated:
		res.NextPartNumberMarker = lr.NextPartNumberMarker
	case len(lr.Parts) > 0:
		res.NextPartNumberMarker = lr.Parts[len(lr.Parts)-1].Number
	}
	return rq.writeXML(http.StatusOK, res)
}
