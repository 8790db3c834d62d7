package s3api

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/sse"
	"github.com/objstore/objstore/storage"
)

// Encryption modes, as stored in mdSSE.
const (
	modeS3  = "AES256"  // SSE-S3
	modeKMS = "aws:kms" // SSE-KMS
	modeC   = "SSE-C"   // customer key
)

// Metadata keys of the encryption envelope. They are stored in clear:
// nothing in them is secret (ids, a sealed key, a keyed check of the
// client's key, sealed metadata). They never reach a response as
// headers: setObjectHeaders emits only content headers and x-amz-meta-*.
const (
	mdSSEPrefix    = "x-objstore-sse"
	mdSSE          = "x-objstore-sse"            // modeS3, modeKMS or modeC
	mdSSEMaster    = "x-objstore-sse-master"     // KMS key id of the bucket key
	mdSSEBucketKey = "x-objstore-sse-bucket-key" // id of the bucket key
	mdSSEKey       = "x-objstore-sse-key"        // base64 sse.SealKey
	mdSSEContext   = "x-objstore-sse-context"    // SSE-KMS encryption context, base64 JSON as sent
	mdSSECheck     = "x-objstore-sse-c-check"    // base64 sse.ClientKeyCheck
	mdSSEMeta      = "x-objstore-sse-meta"       // base64 sse.SealMetadata of the client metadata
	mdSSEPart      = "x-objstore-sse-part"       // part number of a one-part multipart object
	mdSSESalt      = "x-objstore-sse-salt"       // base64 sse.NewSalt of a part's stream (or a one-part object's)
)

// SSE request headers.
const (
	hdrSSE          = "x-amz-server-side-encryption"
	hdrSSEKMSKey    = "x-amz-server-side-encryption-aws-kms-key-id"
	hdrSSEContext   = "x-amz-server-side-encryption-context"
	hdrSSEBucketKey = "x-amz-server-side-encryption-bucket-key-enabled"
	hdrSSECPrefix   = "x-amz-server-side-encryption-customer-"
	hdrCopySSECPfx  = "x-amz-copy-source-server-side-encryption-customer-"
)

// sseCKEKLabel derives the key-encryption key of SSE-C objects from the
// client's key and the bucket key, so that both are needed to read and
// shredding the bucket key covers SSE-C objects too.
const sseCKEKLabel = "objstore sse-c kek v1"

// customerKey is a client's SSE-C key from one request. It lives only in
// memory for the request.
type customerKey struct {
	key []byte
	md5 string // base64, as sent
}

// parseCustomerKey reads the SSE-C headers with prefix (hdrSSECPrefix or
// hdrCopySSECPfx); nil when none is present.
func parseCustomerKey(h http.Header, prefix string) (*customerKey, error) {
	alg := h.Get(prefix + "algorithm")
	key := h.Get(prefix + "key")
	sum := h.Get(prefix + "key-MD5")
	if alg == "" && key == "" && sum == "" {
		return nil, nil
	}
	if alg == "" {
		return nil, withMessage(errInvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.")
	}
	if alg != "AES256" {
		return nil, withMessage(errInvalidEncryptionAlgorithm, "The encryption algorithm specified is not valid.")
	}
	if key == "" {
		return nil, withMessage(errInvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
	}
	if sum == "" {
		return nil, withMessage(errInvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key))
	if err != nil || len(k) != sse.KeySize {
		return nil, withMessage(errInvalidArgument, "The secret key was invalid for the specified algorithm.")
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sum))
	got := md5.Sum(k)
	if err != nil || !hmac.Equal(want, got[:]) {
		return nil, withMessage(errInvalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided.")
	}
	return &customerKey{key: k, md5: strings.TrimSpace(sum)}, nil
}

// kmsKeyID turns an SSE-KMS key id header into a kms.KeyID: a bare id, or
// the last part of an ARN ("arn:aws:kms:...:key/ID") or alias
// ("alias/ID").
func kmsKeyID(v string) kms.KeyID {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "arn:") {
		if i := strings.LastIndexByte(v, '/'); i >= 0 {
			v = v[i+1:]
		}
	}
	return kms.KeyID(strings.TrimPrefix(v, "alias/"))
}

// parseContext checks an encryption context header: base64 of a JSON
// object of strings.
func parseContext(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	var m map[string]string
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return "", withMessage(errInvalidArgument, "The encryption context must be base64-encoded JSON of string pairs.")
	}
	return v, nil
}

// objectEncryption is the encryption of one object or upload: how its
// object key is sealed, and the key itself once opened.
type objectEncryption struct {
	mode      string
	master    kms.KeyID
	bucketKey string // bucket key id
	context   string // SSE-KMS context, base64 JSON
	check     []byte // SSE-C client key check
	sealed    []byte // sealed object key
	keyMD5    string // SSE-C key MD5 from the request, for responses
	key       sse.ObjectKey
}

// sealAssociated is what an object key is bound to: its bucket and name,
// and for SSE-KMS the encryption context.
func sealAssociated(bucket, object, context string) []string {
	if context == "" {
		return []string{bucket, object}
	}
	return []string{bucket, object, "context:" + context}
}

// kek returns the key-encryption key for e's object key.
func (h *Handler) kek(ctx context.Context, bucket string, e *objectEncryption, ck *customerKey, create bool) ([]byte, error) {
	var bk encryption.BucketKey
	var err error
	if create {
		bk, err = h.keys.BucketKey(ctx, bucket, e.master)
		e.bucketKey = bk.ID
	} else {
		bk, err = h.keys.OpenBucketKey(ctx, bucket, e.master, e.bucketKey)
	}
	if err != nil {
		return nil, err
	}
	if e.mode != modeC {
		return bk.Key, nil
	}
	m := hmac.New(sha256.New, bk.Key)
	m.Write([]byte(sseCKEKLabel))
	m.Write(ck.key)
	return m.Sum(nil), nil
}

// newEncryption chooses the encryption of a new object or upload from the
// request headers and the bucket's default, and makes a fresh object key
// sealed for bucket/object. It returns nil when the handler runs without
// keys (unit tests of other features).
func (h *Handler) newEncryption(rq *request, object string) (*objectEncryption, error) {
	return h.newEncryptionFrom(rq, rq.r.Header, object)
}

// newEncryptionFrom is newEncryption with the SSE settings read from hdr
// (a POST form's fields, as headers) instead of the request's headers.
func (h *Handler) newEncryptionFrom(rq *request, hdr http.Header, object string) (*objectEncryption, error) {
	ck, err := parseCustomerKey(hdr, hdrSSECPrefix)
	if err != nil {
		return nil, err
	}
	alg := strings.TrimSpace(hdr.Get(hdrSSE))
	if h.keys == nil {
		if ck != nil || (alg != "" && alg != modeS3) || hdr.Get(hdrSSEKMSKey) != "" {
			return nil, withMessage(errNotImplemented, "Server-side encryption is not configured on this server.")
		}
		return nil, nil
	}
	e := &objectEncryption{}
	switch {
	case ck != nil:
		// An SSE-KMS key id or context beside an SSE-C key is refused, as
		// AWS refuses it, not dropped: the request names a key it would
		// not be sealed under, and a bucket policy pinning
		// s3:x-amz-server-side-encryption-aws-kms-key-id reads that
		// header.
		if alg != "" || hdr.Get(hdrSSEKMSKey) != "" || hdr.Get(hdrSSEContext) != "" {
			return nil, withMessage(errInvalidArgument, "Server Side Encryption with Customer provided key is incompatible with the encryption method specified.")
		}
		if err := h.checkSecureSSEC(rq); err != nil {
			return nil, err
		}
		e.mode, e.master, e.keyMD5 = modeC, h.keys.DefaultKeyID(), ck.md5
		if e.check, err = sse.ClientKeyCheck(ck.key); err != nil {
			return nil, fmt.Errorf("s3api: client key check: %w", err)
		}
	case alg == modeS3:
		if hdr.Get(hdrSSEKMSKey) != "" || hdr.Get(hdrSSEContext) != "" {
			return nil, withMessage(errInvalidArgument, "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		e.mode, e.master = modeS3, h.keys.DefaultKeyID()
	case alg == modeKMS:
		e.mode = modeKMS
		if v := hdr.Get(hdrSSEKMSKey); v != "" {
			e.master = kmsKeyID(v)
			if err := h.authorizeKMSKey(rq, e.master); err != nil {
				return nil, err
			}
		} else if cfg, ok, err := h.keys.Config(rq.ctx, rq.bucket); err != nil {
			return nil, err
		} else if ok && cfg.Algorithm == encryption.AlgorithmKMS && cfg.KeyID != "" {
			e.master = cfg.KeyID
		} else {
			e.master = h.keys.DefaultKeyID()
		}
		if e.context, err = parseContext(hdr.Get(hdrSSEContext)); err != nil {
			return nil, err
		}
	case alg == "":
		if hdr.Get(hdrSSEKMSKey) != "" || hdr.Get(hdrSSEContext) != "" {
			return nil, withMessage(errInvalidArgument, "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		cfg, ok, err := h.keys.Config(rq.ctx, rq.bucket)
		if err != nil {
			return nil, err
		}
		e.mode, e.master = modeS3, h.keys.DefaultKeyID()
		if ok && cfg.Algorithm == encryption.AlgorithmKMS {
			e.mode = modeKMS
			if cfg.KeyID != "" {
				e.master = cfg.KeyID
			}
		}
	default:
		return nil, withMessage(errInvalidArgument, "The encryption method specified is not supported")
	}
	kek, err := h.kek(rq.ctx, rq.bucket, e, ck, true)
	if err != nil {
		return nil, err
	}
	if e.key, err = sse.NewObjectKey(); err != nil {
		return nil, fmt.Errorf("s3api: object key: %w", err)
	}
	if e.sealed, err = sse.SealKey(kek, e.key, sealAssociated(rq.bucket, object, e.context)...); err != nil {
		return nil, fmt.Errorf("s3api: seal object key: %w", err)
	}
	return e, nil
}

// checkSecureSSEC refuses SSE-C over plain HTTP, as AWS does: the key
// would travel in clear.
func (h *Handler) checkSecureSSEC(rq *request) error {
	if rq.r.TLS == nil && !h.insecureSSEC {
		return withMessage(errInvalidRequest, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.")
	}
	return nil
}

// openEncryption opens the encryption envelope stored in md (an object's
// or an upload's metadata) for bucket/object, with the client's key for
// SSE-C. It returns nil for data stored without encryption, which only a
// handler without Keys writes.
func (h *Handler) openEncryption(rq *request, bucket, object string, md map[string]string, ck *customerKey) (*objectEncryption, error) {
	mode := md[mdSSE]
	if mode == "" && h.keys != nil {
		// A server with keys encrypts everything it stores, so a record
		// without an envelope was altered on the drives: served as it
		// is, its ciphertext would pass for the object (SSE-C ones
		// included, with no key asked for).
		return nil, fmt.Errorf("s3api: %s/%q has no encryption envelope on a server that encrypts every object: %w", bucket, object, storage.ErrDataCorrupt)
	}
	if mode == "" {
		if ck != nil {
			return nil, withMessage(errInvalidRequest, "The encryption parameters are not applicable to this object.")
		}
		return nil, nil
	}
	if h.keys == nil {
		return nil, fmt.Errorf("s3api: %s/%q is encrypted and the server has no keys: %w", bucket, object, errNoKeys)
	}
	e := &objectEncryption{mode: mode, master: kms.KeyID(md[mdSSEMaster]), bucketKey: md[mdSSEBucketKey], context: md[mdSSEContext]}
	var err error
	if e.sealed, err = base64.StdEncoding.DecodeString(md[mdSSEKey]); err != nil {
		return nil, fmt.Errorf("s3api: %s/%q: sealed key: %w", bucket, object, storage.ErrDataCorrupt)
	}
	switch mode {
	case modeC:
		if ck == nil {
			return nil, withMessage(errInvalidRequest, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
		}
		if err := h.checkSecureSSEC(rq); err != nil {
			return nil, err
		}
		if e.check, err = base64.StdEncoding.DecodeString(md[mdSSECheck]); err != nil || !sse.VerifyClientKey(ck.key, e.check) {
			return nil, fmt.Errorf("s3api: %s/%q: %w", bucket, object, errWrongCustomerKey)
		}
		e.keyMD5 = ck.md5
	case modeS3, modeKMS:
		if ck != nil {
			return nil, withMessage(errInvalidRequest, "The encryption parameters are not applicable to this object.")
		}
	default:
		return nil, fmt.Errorf("s3api: %s/%q: unknown encryption mode: %w", bucket, object, storage.ErrDataCorrupt)
	}
	kek, err := h.kek(rq.ctx, bucket, e, ck, false)
	if err != nil {
		return nil, err
	}
	if e.key, err = sse.UnsealKey(kek, e.sealed, sealAssociated(bucket, object, e.context)...); err != nil {
		return nil, fmt.Errorf("s3api: %s/%q: object key: %w", bucket, object, err)
	}
	return e, nil
}

// isClientMetadata reports whether a metadata key is the client's: a
// content header or x-amz-meta-*. These are sealed.
func isClientMetadata(k string) bool {
	if strings.HasPrefix(k, userMetaPrefix) {
		return true
	}
	for _, ch := range contentHeaders {
		if strings.EqualFold(k, ch.header) {
			return true
		}
	}
	return false
}

// seal returns what storage keeps for client metadata md: the envelope
// and the client's metadata sealed under the object key; other entries
// (checksum settings) stay in clear.
func (e *objectEncryption) seal(md map[string]string) (map[string]string, error) {
	if e == nil {
		return md, nil
	}
	out := map[string]string{
		mdSSE:          e.mode,
		mdSSEMaster:    string(e.master),
		mdSSEBucketKey: e.bucketKey,
		mdSSEKey:       base64.StdEncoding.EncodeToString(e.sealed),
	}
	if e.context != "" {
		out[mdSSEContext] = e.context
	}
	if e.check != nil {
		out[mdSSECheck] = base64.StdEncoding.EncodeToString(e.check)
	}
	client := map[string]string{}
	for k, v := range md {
		if isClientMetadata(k) {
			client[k] = v
		} else {
			out[k] = v
		}
	}
	plain, err := json.Marshal(client)
	if err != nil {
		return nil, fmt.Errorf("s3api: encode metadata: %w", err)
	}
	sealed, err := sse.SealMetadata(e.key, plain)
	if err != nil {
		return nil, fmt.Errorf("s3api: seal metadata: %w", err)
	}
	out[mdSSEMeta] = base64.StdEncoding.EncodeToString(sealed)
	return out, nil
}

// open returns stored metadata md as the client sees it: the envelope
// removed and the sealed client metadata opened.
func (e *objectEncryption) open(md map[string]string) (map[string]string, error) {
	if e == nil {
		return md, nil
	}
	out := make(map[string]string, len(md))
	for k, v := range md {
		if !strings.HasPrefix(k, mdSSEPrefix) {
			out[k] = v
		}
	}
	if v := md[mdSSEMeta]; v != "" {
		sealed, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("s3api: sealed metadata: %w", storage.ErrDataCorrupt)
		}
		plain, err := sse.OpenMetadata(e.key, sealed)
		if err != nil {
			return nil, fmt.Errorf("s3api: open metadata: %w", err)
		}
		client := map[string]string{}
		if err := json.Unmarshal(plain, &client); err != nil {
			return nil, fmt.Errorf("s3api: sealed metadata: %w", storage.ErrDataCorrupt)
		}
		maps.Copy(out, client)
	}
	return out, nil
}

// setEncryptionHeaders writes e's encryption response headers.
func (h *Handler) setEncryptionHeaders(hdr http.Header, e *objectEncryption) {
	if e == nil {
		return
	}
	switch e.mode {
	case modeS3:
		hdr.Set(hdrSSE, modeS3)
	case modeKMS:
		hdr.Set(hdrSSE, modeKMS)
		hdr.Set(hdrSSEKMSKey, h.kmsKeyARN(e.master))
		hdr.Set(hdrSSEBucketKey, "true")
	case modeC:
		hdr.Set(hdrSSECPrefix+"algorithm", "AES256")
		if e.keyMD5 != "" {
			hdr.Set(hdrSSECPrefix+"key-MD5", e.keyMD5)
		}
	}
}

// kmsKeyARN names a KMS key in responses as AWS does, by its ARN:
// arn:aws:kms:<region>:<account-id>:key/<id>, with the server's region
// (us-east-1 when none is named, as GetBucketLocation reports) and the
// account id of its user ARNs. Requests may name the key by its id, its
// alias or this ARN (kmsKeyID), so a value read back can be sent again.
func (h *Handler) kmsKeyARN(id kms.KeyID) string {
	return "arn:aws:kms:" + h.region + ":" + h.accountID + ":key/" + string(id)
}

// encrypt returns body encrypted as stream part (0 for a whole object),
// and the stored size for a plaintext size (-1 stays unknown). A part of
// a multipart upload (encryptPart) has a salt; a whole object, whose key
// is its own, has none.
func (e *objectEncryption) encrypt(body io.Reader, part int, size int64) (io.Reader, int64, error) {
	return e.encryptSalted(body, part, nil, size)
}

// encryptPart encrypts one upload of part number part: under a fresh
// salt, since the upload's object key and the part number alone would
// seal a part uploaded again under the same key and nonces. finish is the
// part's Finish; the returned one adds the salt to the part's metadata.
func (e *objectEncryption) encryptPart(body io.Reader, part int, size int64, finish func() (string, map[string]string, error)) (io.Reader, int64, func() (string, map[string]string, error), error) {
	if e == nil {
		return body, size, finish, nil
	}
	salt, err := sse.NewSalt()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("s3api: encrypt: %w", err)
	}
	r, n, err := e.encryptSalted(body, part, salt, size)
	if err != nil {
		return nil, 0, nil, err
	}
	salted := func() (string, map[string]string, error) {
		etag, extra, err := finish()
		if err != nil {
			return "", nil, err
		}
		if extra == nil {
			extra = map[string]string{}
		}
		extra[mdSSESalt] = base64.StdEncoding.EncodeToString(salt)
		return etag, extra, nil
	}
	return r, n, salted, nil
}

func (e *objectEncryption) encryptSalted(body io.Reader, part int, salt []byte, size int64) (io.Reader, int64, error) {
	if e == nil {
		return body, size, nil
	}
	r, err := sse.EncryptSaltedReader(body, e.key, part, salt)
	if err != nil {
		return nil, 0, fmt.Errorf("s3api: encrypt: %w", err)
	}
	if size >= 0 {
		size = sse.CiphertextSize(size)
	}
	return r, size, nil
}

// finish wraps an ingest's Finish: SSE-S3 keeps the plaintext MD5 as the
// ETag (clients verify uploads by it); SSE-KMS and SSE-C get a random one,
// as AWS documents that theirs is not the MD5 of the data, and an MD5
// stored beside the ciphertext would let anyone holding a drive confirm
// a guess of the content.
func (e *objectEncryption) finish(f func() (string, map[string]string, error)) func() (string, map[string]string, error) {
	if e == nil || e.mode == modeS3 {
		return f
	}
	return func() (string, map[string]string, error) {
		_, extra, err := f()
		if err != nil {
			return "", nil, err
		}
		var b [md5.Size]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", nil, fmt.Errorf("s3api: etag: %w", err)
		}
		return hex.EncodeToString(b[:]), extra, nil
	}
}

// plainSize is the plaintext size of a stored stream of n bytes.
func plainSize(n int64) int64 {
	p, err := sse.PlaintextSize(n)
	if err != nil {
		return n // not a stream: a handler without keys stored it
	}
	return p
}

// plainReader reads an object's plaintext: Info has plaintext sizes and
// the client's metadata, WriteRange decrypts just the packages a range
// needs, part by part. It is a storage.ObjectReader.
type plainReader struct {
	rd    storage.ObjectReader // nil for HEAD
	info  storage.ObjectInfo
	enc   *objectEncryption
	parts []sse.Part
}

func (p *plainReader) Info() storage.ObjectInfo { return p.info }

// Close closes the stored object's reader (none for HEAD).
func (p *plainReader) Close() error {
	if p.rd == nil {
		return nil
	}
	return p.rd.Close()
}

func (p *plainReader) WriteRange(ctx context.Context, w io.Writer, offset, length int64) error {
	if p.enc == nil {
		return p.rd.WriteRange(ctx, w, offset, length)
	}
	spans, err := sse.ObjectRange(p.parts, offset, length)
	if err != nil {
		return fmt.Errorf("s3api: range %d+%d: %w", offset, length, err)
	}
	// The pipeline opens packages on storage's goroutine, the one that
	// reads the shards, and writes the plaintext to w (the socket) from
	// its own, so the two overlap on two cores; one pipeline serves every
	// part the range touches, so it does not drain at part boundaries.
	pl := sse.NewDecryptPipeline(w)
	// Close also on failure: it stops the pipeline's writer, which must
	// not touch w once the handler has returned. It is idempotent.
	defer pl.Close()
	for _, ps := range spans {
		dw, err := pl.DecryptSaltedWriter(p.enc.key, ps.Number, ps.Salt, ps.Span)
		if err != nil {
			return fmt.Errorf("s3api: decrypt part %d: %w", ps.Number, err)
		}
		werr := p.rd.WriteRange(ctx, dw, ps.Base+ps.CipherOffset, ps.CipherLength)
		cerr := dw.Close()
		if werr != nil {
			return werr
		}
		if cerr != nil {
			return fmt.Errorf("s3api: decrypt part %d: %w", ps.Number, cerr)
		}
	}
	if err := pl.Close(); err != nil {
		return fmt.Errorf("s3api: decrypt: %w", err)
	}
	return nil
}

// decrypt opens the object info describes (rd may be nil for HEAD) with
// the client key ck, and returns its plaintext view.
func (h *Handler) decrypt(rq *request, info storage.ObjectInfo, rd storage.ObjectReader, ck *customerKey) (*plainReader, error) {
	e, err := h.openEncryption(rq, info.Bucket, info.Key, info.Metadata, ck)
	if err != nil {
		return nil, err
	}
	p := &plainReader{rd: rd, info: info, enc: e}
	if e == nil {
		return p, nil
	}
	if p.info.Metadata, err = e.open(info.Metadata); err != nil {
		return nil, err
	}
	p.info.Parts = nil
	switch {
	case len(info.Parts) > 0:
		p.info.Size = 0
		for _, op := range info.Parts {
			n := plainSize(op.Size)
			salt, err := streamSalt(op.Metadata)
			if err != nil {
				return nil, err
			}
			p.parts = append(p.parts, sse.Part{Number: op.Number, Size: n, Salt: salt})
			p.info.Parts = append(p.info.Parts, storage.ObjectPart{Number: op.Number, Size: n, ETag: op.ETag, Metadata: op.Metadata})
			p.info.Size += n
		}
	default:
		number := 0
		if v := info.Metadata[mdSSEPart]; v != "" {
			if number, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("s3api: part number: %w", storage.ErrDataCorrupt)
			}
		}
		salt, err := streamSalt(info.Metadata)
		if err != nil {
			return nil, err
		}
		p.info.Size = plainSize(info.Size)
		p.parts = []sse.Part{{Number: number, Size: p.info.Size, Salt: salt}}
	}
	return p, nil
}

// streamSalt is the salt recorded for a stream in md (mdSSESalt): nil for
// a single PUT's, and for parts stored before salts existed.
func streamSalt(md map[string]string) ([]byte, error) {
	v := md[mdSSESalt]
	if v == "" {
		return nil, nil
	}
	salt, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(salt) != sse.SaltSize {
		return nil, fmt.Errorf("s3api: stream salt: %w", storage.ErrDataCorrupt)
	}
	return salt, nil
}

// kmsKeyIDOf is the master key recorded in an envelope.
func kmsKeyIDOf(md map[string]string) kms.KeyID { return kms.KeyID(md[mdSSEMaster]) }

// errNoKeys: encrypted data on a server started without keys.
var errNoKeys = errors.New("s3api: encryption keys unavailable")

// checkSSEHeadersFor refuses the SSE-S3 and SSE-KMS request headers on
// the operations AWS answers them with 400: reads, which decrypt with
// what the object was written with, and the parts of a multipart upload,
// whose encryption CreateMultipartUpload fixed. Taking them silently
// would let a client believe it chose an encryption it did not get.
// CompleteMultipartUpload (which AWS refuses them on too),
// GetObjectAttributes and UploadPartCopy take and ignore them: minio-go
// sends them to the first on every endpoint but AWS's and to the second
// with whatever encryption it is given, and its functional tests send
// them on the third.
func checkSSEHeadersFor(op string, h http.Header) error {
	switch op {
	case "GetObject", "HeadObject", "UploadPart":
	default:
		return nil
	}
	for _, k := range [...]string{hdrSSE, hdrSSEKMSKey, hdrSSEContext} {
		if h.Get(k) != "" {
			return withMessage(errInvalidArgument, strings.ToLower(k)+" header is not supported for this operation.")
		}
	}
	return nil
}
