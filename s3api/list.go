package s3api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/objstore/objstore/s3api/checksum"
	"github.com/objstore/objstore/storage"
)

// maxListKeys is the largest page S3 returns.
const maxListKeys = 1000

// parseMax reads a page-size parameter (max-keys, max-parts,
// max-uploads): absent means 1000, larger values up to the int32 maximum
// are capped at 1000; beyond int32, negative or non-numeric ones are an
// error, worded as AWS words it for that parameter.
func parseMax(q url.Values, name string) (int, error) {
	return parseMaxValue(q.Get(name), name)
}

// parseMaxValue is parseMax for a value v of parameter (or header) name.
func parseMaxValue(v, name string) (int, error) {
	if v == "" {
		return maxListKeys, nil
	}
	// AWS parses these as Java ints: 2147483648 is "not an integer",
	// not a large page.
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		msg := "Provided " + name + " not an integer or within integer range."
		return 0, fmt.Errorf("s3api: %s=%q: %w", name, v, withMessage(errInvalidMaxKeys, msg))
	}
	if n < 0 {
		msg := "Argument " + argumentName(name) + " must be an integer between 0 and 2147483647"
		return 0, fmt.Errorf("s3api: %s=%q: %w", name, v, withMessage(errInvalidMaxKeys, msg))
	}
	return int(min(n, maxListKeys)), nil
}

// argumentName is a query parameter's name as AWS's messages spell the
// argument: "max-keys" is maxKeys.
func argumentName(param string) string {
	first, rest, _ := strings.Cut(param, "-")
	var b strings.Builder
	b.WriteString(first)
	for w := range strings.SplitSeq(rest, "-") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// listEncoder applies encoding-type=url to the names in a listing.
type listEncoder struct{ url bool }

func parseEncodingType(q url.Values) (listEncoder, error) {
	switch v := q.Get("encoding-type"); {
	case v == "":
		return listEncoder{}, nil
	case strings.EqualFold(v, "url"):
		return listEncoder{url: true}, nil
	default:
		return listEncoder{}, fmt.Errorf("%w: %q", errInvalidEncodingType, v)
	}
}

func (e listEncoder) name() string {
	if e.url {
		return "url"
	}
	return ""
}

func (e listEncoder) enc(s string) string {
	if e.url {
		return s3URLEncode(s)
	}
	return s
}

// s3URLEncode percent-encodes every byte except the unreserved
// characters of RFC 3986 and '/', the form clients decode for
// encoding-type=url (both '+' and ' ' are escaped, so decoders that treat
// '+' as a space still get the right key).
func s3URLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	i := 0
	for i < len(s) && urlUnreserved(s[i]) {
		i++
	}
	if i == len(s) {
		return s // the usual key: nothing to escape, nothing to allocate
	}
	var b strings.Builder
	b.Grow(len(s) + 2*(len(s)-i))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case urlUnreserved(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// urlUnreserved reports whether s3URLEncode leaves c as it is.
func urlUnreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '/'
}

// continuationToken makes the opaque NextContinuationToken from the
// position a page ended at.
func continuationToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

// parseContinuationToken reverses continuationToken.
func parseContinuationToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 || len(b) > storage.MaxObjectKeyLen || !utf8.Valid(b) {
		return "", errInvalidContinuation
	}
	return string(b), nil
}

// objectItems renders a page's objects.
func objectItems(objs []storage.ObjectInfo, e listEncoder, own *owner) []objectItem {
	items := make([]objectItem, 0, len(objs))
	for _, o := range objs {
		it := objectItem{
			Key:          e.enc(o.Key),
			LastModified: s3Time(o.ModTime),
			ETag:         quoteETag(o.ETag),
			Size:         o.Size,
			Owner:        own,
			StorageClass: "STANDARD",
		}
		// Listings usually carry no metadata (storage lists from the
		// version records without decoding it): skip building the
		// checksum header names per object then.
		if len(o.Metadata) > 0 {
			for _, a := range checksumAlgorithms {
				if o.Metadata[a.Header()] != "" {
					it.ChecksumAlgorithm = append(it.ChecksumAlgorithm, a.String())
				}
			}
			if len(it.ChecksumAlgorithm) > 0 {
				it.ChecksumType = o.Metadata[mdChecksumType]
			}
		}
		items = append(items, it)
	}
	return items
}

// fillMetadata completes listed objects whose metadata the object layer
// left out (storage lists from the version records without decoding
// their metadata) with one ObjectInfo each. Only the opt-in
// metadata=true listing pays for it. An object deleted since it was
// listed keeps its empty metadata rather than fail the page; one the
// caller may not read is listed without any.
func (h *Handler) fillMetadata(rq *request, objs []storage.ObjectInfo) error {
	for i := range objs {
		if !h.mayReadListed(rq, objs[i].Key) {
			objs[i].Metadata = nil
			continue
		}
		if objs[i].Metadata != nil {
			continue
		}
		info, err := h.store.ObjectInfo(rq.ctx, rq.bucket, objs[i].Key, storage.GetOptions{})
		switch {
		case errors.Is(err, storage.ErrObjectNotFound):
			continue
		case err != nil:
			return fmt.Errorf("s3api: list metadata of %q: %w", objs[i].Key, err)
		}
		objs[i].Metadata = info.Metadata
	}
	h.openListedMetadata(rq, objs)
	return nil
}

// mayReadListed reports whether the caller of a metadata=true listing may
// see the metadata of key: only with s3:GetObject on it, as MinIO (whose
// extension this is) decides it. s3:ListBucket alone must not show what
// HeadObject would refuse.
func (h *Handler) mayReadListed(rq *request, key string) bool {
	return rq.identity.Root || h.decide(rq, "s3:GetObject", rq.bucket, key).Allowed
}

func prefixItems(prefixes []string, e listEncoder) []commonPrefix {
	items := make([]commonPrefix, 0, len(prefixes))
	for _, p := range prefixes {
		items = append(items, commonPrefix{Prefix: e.enc(p)})
	}
	return items
}

// listPage runs one ListObjects call; a page size of 0 only checks that
// the bucket exists, as S3 answers max-keys=0 with an empty page.
func (h *Handler) listPage(rq *request, opts storage.ListOptions) (storage.ListResult, error) {
	if opts.MaxKeys == 0 {
		if _, err := h.store.BucketInfo(rq.ctx, rq.bucket); err != nil {
			return storage.ListResult{}, fmt.Errorf("s3api: list %q: %w", rq.bucket, err)
		}
		return storage.ListResult{}, nil
	}
	res, err := h.store.ListObjects(rq.ctx, rq.bucket, opts)
	if err != nil {
		return res, fmt.Errorf("s3api: list %q: %w", rq.bucket, err)
	}
	if h.keys != nil {
		for i := range res.Objects {
			res.Objects[i].Size = listedPlainSize(res.Objects[i])
		}
	}
	return res, nil
}

// listObjectsV1 answers GET /<bucket>.
func (h *Handler) listObjectsV1(rq *request) error {
	q := rq.query
	e, err := parseEncodingType(q)
	if err != nil {
		return err
	}
	maxKeys, err := parseMax(q, "max-keys")
	if err != nil {
		return err
	}
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	lr, err := h.listPage(rq, storage.ListOptions{Prefix: prefix, Delimiter: delim, After: marker, MaxKeys: maxKeys})
	if err != nil {
		return err
	}
	own := h.owner
	res := listBucketResultV1{
		Name:           rq.bucket,
		Prefix:         e.enc(prefix),
		Marker:         e.enc(marker),
		MaxKeys:        maxKeys,
		Delimiter:      e.enc(delim),
		IsTruncated:    lr.IsTruncated,
		EncodingType:   e.name(),
		Contents:       objectItems(lr.Objects, e, &own),
		CommonPrefixes: prefixItems(lr.Prefixes, e),
	}
	// S3 sends NextMarker only with a delimiter; without one the
	// client continues from the last key.
	if lr.IsTruncated && delim != "" {
		res.NextMarker = e.enc(lr.NextAfter)
	}
	buf := h.listBuf(listSizeHint(len(res.Contents), len(res.CommonPrefixes)))
	defer h.putListBuf(rq, buf)
	*buf = appendListV1((*buf)[:0], &res)
	return rq.writeListing(*buf)
}

// listObjectsV2 answers GET /<bucket>?list-type=2.
func (h *Handler) listObjectsV2(rq *request) error {
	q := rq.query
	e, err := parseEncodingType(q)
	if err != nil {
		return err
	}
	maxKeys, err := parseMax(q, "max-keys")
	if err != nil {
		return err
	}
	prefix, delim, startAfter := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after")
	after := startAfter
	token, hasToken := q["continuation-token"]
	if hasToken {
		if after, err = parseContinuationToken(token[0]); err != nil {
			return err
		}
	}
	lr, err := h.listPage(rq, storage.ListOptions{Prefix: prefix, Delimiter: delim, After: after, MaxKeys: maxKeys})
	if err != nil {
		return err
	}
	var own *owner
	if q.Get("fetch-owner") == "true" {
		o := h.owner
		own = &o
	}
	withMetadata := q.Get("metadata") == "true"
	if withMetadata {
		if err := h.fillMetadata(rq, lr.Objects); err != nil {
			return err
		}
	}
	contents := objectItems(lr.Objects, e, own)
	if withMetadata {
		for i := range contents {
			contents[i].UserMetadata = userMetadataOf(lr.Objects[i].Metadata)
		}
	}
	res := listBucketResultV2{
		Name:           rq.bucket,
		Prefix:         e.enc(prefix),
		StartAfter:     e.enc(startAfter),
		KeyCount:       len(lr.Objects) + len(lr.Prefixes),
		MaxKeys:        maxKeys,
		Delimiter:      e.enc(delim),
		IsTruncated:    lr.IsTruncated,
		EncodingType:   e.name(),
		Contents:       contents,
		CommonPrefixes: prefixItems(lr.Prefixes, e),
	}
	if hasToken {
		res.ContinuationToken = token[0]
	}
	if lr.IsTruncated {
		res.NextContinuationToken = continuationToken(lr.NextAfter)
	}
	buf := h.listBuf(listSizeHint(len(res.Contents), len(res.CommonPrefixes)))
	defer h.putListBuf(rq, buf)
	*buf = appendListV2((*buf)[:0], &res)
	return rq.writeListing(*buf)
}

// maxPooledList is the largest listing buffer kept for reuse: a page of
// 1,000 long keys with metadata. Larger ones are left to the collector.
const maxPooledList = 4 << 20

// listBuf returns a buffer of at least hint bytes' capacity for a listing
// document. A page of 1,000 keys is ~150-250 KB; allocating it fresh for
// every page cost the garbage collector a large object per request, and
// the runtime returned its pages to the kernel and faulted them back in
// (a tenth of the server's CPU in a 100,000-key listing).
func (h *Handler) listBuf(hint int) *[]byte {
	if b, ok := h.listBufs.Get().(*[]byte); ok {
		if cap(*b) < hint {
			*b = make([]byte, 0, hint)
		}
		return b
	}
	b := make([]byte, 0, hint)
	return &b
}

// putListBuf returns a buffer listBuf gave once the document was written
// to rq. Over HTTP/1 net/http has copied it to the connection by then;
// over HTTP/2 (TLS) a frame write of it may still be running after a
// stream reset (golang/go#58446), so those buffers go to the collector.
func (h *Handler) putListBuf(rq *request, b *[]byte) {
	if rq.r.ProtoMajor == 1 && cap(*b) <= maxPooledList {
		h.listBufs.Put(b)
	}
}

// writeListing sends a listing document from the listing encoder
// (appendListV1, appendListV2) as writeXML sends the others: 200, an
// XML content type and length, no body for HEAD.
func (rq *request) writeListing(doc []byte) error {
	h := rq.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	rq.w.WriteHeader(http.StatusOK)
	if rq.r.Method != http.MethodHead {
		_, _ = rq.w.Write(doc) // a failed write means the client left
	}
	return nil
}

// listObjectVersions answers GET /<bucket>?versions. Versioning is not
// enabled on any bucket yet, so every object has one version, "null",
// and it is the latest.
func (h *Handler) listObjectVersions(rq *request) error {
	q := rq.query
	e, err := parseEncodingType(q)
	if err != nil {
		return err
	}
	maxKeys, err := parseMax(q, "max-keys")
	if err != nil {
		return err
	}
	if err := checkVersionIDMarker(q); err != nil {
		return err
	}
	prefix, delim, keyMarker := q.Get("prefix"), q.Get("delimiter"), q.Get("key-marker")
	lr, err := h.listPage(rq, storage.ListOptions{Prefix: prefix, Delimiter: delim, After: keyMarker, MaxKeys: maxKeys})
	if err != nil {
		return err
	}
	own := h.owner
	res := listVersionsResult{
		Name:            rq.bucket,
		Prefix:          e.enc(prefix),
		KeyMarker:       e.enc(keyMarker),
		VersionIDMarker: q.Get("version-id-marker"),
		MaxKeys:         maxKeys,
		Delimiter:       e.enc(delim),
		IsTruncated:     lr.IsTruncated,
		EncodingType:    e.name(),
		CommonPrefixes:  prefixItems(lr.Prefixes, e),
	}
	for _, o := range lr.Objects {
		vid := o.VersionID
		if vid == "" {
			vid = storage.NullVersionID
		}
		res.Versions = append(res.Versions, versionItem{
			Key:          e.enc(o.Key),
			VersionID:    vid,
			IsLatest:     true,
			LastModified: s3Time(o.ModTime),
			ETag:         quoteETag(o.ETag),
			Size:         o.Size,
			Owner:        own,
			StorageClass: "STANDARD",
		})
	}
	if lr.IsTruncated {
		res.NextKeyMarker = e.enc(lr.NextAfter)
		res.NextVersionIDMarker = storage.NullVersionID
	}
	return rq.writeXML(http.StatusOK, res)
}

// checkVersionIDMarker refuses the version-id-markers AWS refuses, with
// its messages: one without a key-marker (an empty key-marker counts as
// given), an empty one, and one no store could have made. A paginator
// that lost its key marker is told rather than restarted from the top.
func checkVersionIDMarker(q url.Values) error {
	vm, given := q["version-id-marker"]
	if !given {
		return nil
	}
	if _, ok := q["key-marker"]; !ok {
		return withMessage(errInvalidArgument, "A version-id marker cannot be specified without a key marker.")
	}
	if vm[0] == "" {
		return withMessage(errInvalidArgument, "A version-id marker cannot be empty.")
	}
	if !wellFormedVersionID(vm[0]) {
		return fmt.Errorf("s3api: version-id-marker %q: %w", vm[0], errInvalidVersionID)
	}
	return nil
}

// listMultipartUploads answers GET /<bucket>?uploads.
func (h *Handler) listMultipartUploads(rq *request) error {
	q := rq.query
	e, err := parseEncodingType(q)
	if err != nil {
		return err
	}
	maxUploads, err := parseMax(q, "max-uploads")
	if err != nil {
		return err
	}
	opts := storage.ListUploadsOptions{
		Prefix:         q.Get("prefix"),
		Delimiter:      q.Get("delimiter"),
		KeyMarker:      q.Get("key-marker"),
		UploadIDMarker: q.Get("upload-id-marker"),
		MaxUploads:     maxUploads,
	}
	// AWS ignores an upload-id-marker without a key-marker, and refuses
	// one beside it that names no upload (moto and other servers
	// matched it): here, one not of the form of this store's ids.
	if opts.KeyMarker == "" {
		opts.UploadIDMarker = ""
	} else if opts.UploadIDMarker != "" && !storage.WellFormedUploadID(opts.UploadIDMarker) {
		return withMessage(errInvalidArgument, "Invalid uploadId marker")
	}
	res := listMultipartUploadsResult{
		Bucket:         rq.bucket,
		KeyMarker:      e.enc(opts.KeyMarker),
		UploadIDMarker: opts.UploadIDMarker,
		Delimiter:      e.enc(opts.Delimiter),
		Prefix:         e.enc(opts.Prefix),
		EncodingType:   e.name(),
		MaxUploads:     maxUploads,
	}
	var lr storage.ListUploadsResult
	if maxUploads == 0 {
		if _, err := h.store.BucketInfo(rq.ctx, rq.bucket); err != nil {
			return fmt.Errorf("s3api: list uploads %q: %w", rq.bucket, err)
		}
	} else if lr, err = h.store.ListMultipartUploads(rq.ctx, rq.bucket, opts); err != nil {
		return fmt.Errorf("s3api: list uploads %q: %w", rq.bucket, err)
	}
	own := h.owner
	res.IsTruncated = lr.IsTruncated
	res.NextKeyMarker = e.enc(lr.NextKeyMarker)
	res.NextUploadIDMarker = lr.NextUploadIDMarker
	for _, u := range lr.Uploads {
		it := uploadItem{
			Key:          e.enc(u.Key),
			UploadID:     u.UploadID,
			Initiator:    h.initiator(u.Metadata),
			Owner:        own,
			StorageClass: "STANDARD",
			Initiated:    s3Time(u.Initiated),
		}
		if a := uploadAlgorithm(u.Metadata); a != checksum.None {
			it.ChecksumAlgorithm = a.String()
		}
		res.Uploads = append(res.Uploads, it)
	}
	res.CommonPrefixes = prefixItems(lr.Prefixes, e)
	return rq.writeXML(http.StatusOK, res)
}
