package s3api

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// POST Object: browser-based uploads. The request is a multipart/form-data
// body, not a signed request: the form carries a base64 JSON policy, the
// policy's signature (SigV4, or SigV2's AWSAccessKeyId and signature) and
// the fields the policy constrains, then the file. The order on the wire
// is
//
//	field, field, ..., file, [fields after the file are ignored]
//
// so everything that authorises the upload is known before the first
// byte of the file is read, and the file streams into storage like a PUT
// body.

const (
	// maxPostFieldsBytes bounds the form fields before the file, names
	// and values together. AWS's limit is 20 KB for the policy document;
	// a form with long metadata stays well under this.
	maxPostFieldsBytes = 64 << 10
	// maxPostPreDataBytes bounds everything read before the file's first
	// byte: the fields, and the boundaries and part headers around them,
	// which mime/multipart would otherwise take up to 10 MiB of per part
	// (10,000 lines), held in memory by a form nobody has signed yet. It
	// leaves 16 KiB for the framing of a form's few dozen fields. (AWS
	// refuses more than 20 KB before the file.)
	maxPostPreDataBytes = maxPostFieldsBytes + 16<<10
	postDateFormat      = "20060102T150405Z"
)

// postExempt reports whether a form field needs no policy condition.
func postExempt(name string) bool {
	switch name {
	case "policy", "x-amz-signature", "file", "awsaccesskeyid", "signature":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-")
}

// postObject answers POST /<bucket> with a multipart/form-data body.
func (h *Handler) postObject(rq *request) error {
	mt, params, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return withMessage(errMalformedPOSTRequest, "Bucket POST must be of the enclosure-type multipart/form-data.")
	}
	// The fields are read within SmallBodyTimeout and maxPostPreDataBytes:
	// no one has signed them yet, and the connection, the goroutine and
	// what the parser buffers must not be held by a form sent slowly.
	pre := &preDataReader{r: rq.countedRequest().Body, max: maxPostPreDataBytes}
	done := rq.in.within(rq.smallBody, maxPostPreDataBytes)
	fields, file, err := readPostFields(multipart.NewReader(pre, params["boundary"]), pre)
	done()
	pre.lift()
	if err != nil {
		return err
	}
	pol, sigVersion, err := h.authorizePost(rq, fields)
	if err != nil {
		return err
	}
	key := fields["key"]
	if key == "" {
		return withMessage(errInvalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	// ${filename} is the browser's name for the file, as AWS substitutes
	// it; the policy is checked against the resulting key.
	key = strings.ReplaceAll(key, "${filename}", file.FileName())
	if err := checkObjectKey(key); err != nil {
		return err
	}
	fields["key"] = key
	rq.key = key
	if err := pol.check(fields, rq.bucket); err != nil {
		return err
	}
	// The signature proves who signed the policy; whether that identity
	// may write this key is IAM's decision, as for a PUT.
	if err := h.authorizeForm(rq, sigVersion, fields); err != nil {
		return err
	}

	hdr := postHeaders(fields)
	if err := checkWriteHeaders(hdr); err != nil {
		return err
	}
	md, err := objectMetadata(hdr)
	if err != nil {
		return err
	}
	requested, err := requestedAlgorithm(hdr)
	if err != nil {
		return err
	}
	if err := h.refuseChange(rq); err != nil {
		return err
	}
	// A slot only now, with the form's policy verified: an unsigned
	// form sent slowly must not hold one.
	leave, err := h.admit.enter(rq.ctx, rq.principal())
	if err != nil {
		return err
	}
	defer leave()
	body := &boundedReader{r: file, max: maxSinglePutSize}
	if pol.maxSize >= 0 {
		body.max = min(body.max, pol.maxSize)
	}
	in, err := newIngest(hdr, body, nil, requested)
	if err != nil {
		return err
	}
	finish := func() (string, map[string]string, error) {
		if body.n < pol.minSize {
			return "", nil, fmt.Errorf("%w: %d bytes, the policy's content-length-range starts at %d", errEntityTooSmall, body.n, pol.minSize)
		}
		return in.finish()
	}
	// Encrypted like a PUT (sse*.go): the form's SSE fields, else the
	// bucket's default.
	enc, err := h.newEncryptionFrom(rq, hdr, key)
	if err != nil {
		return err
	}
	in.encryptedWith(enc)
	if md, err = enc.seal(md); err != nil {
		return err
	}
	stored, _, err := enc.encrypt(in.hr, 0, -1)
	if err != nil {
		return err
	}
	info, err := h.store.PutObject(rq.ctx, rq.bucket, key, stored, storage.PutOptions{
		Metadata: md,
		Size:     -1, // a form part has no length of its own
		Finish:   enc.finish(finish),
	})
	if err != nil {
		return fmt.Errorf("s3api: post %q: %w", key, err)
	}
	h.setEncryptionHeaders(rq.w.Header(), enc)
	return h.postResponse(rq, fields, info, in.stored)
}

// postResponse answers a successful POST as the form asked: a redirect
// (success_action_redirect), or success_action_status 200, 201 (with a
// PostResponse document) or, by default, 204.
func (h *Handler) postResponse(rq *request, fields map[string]string, info storage.ObjectInfo, stored map[string]string) error {
	out := rq.w.Header()
	etag := quoteETag(info.ETag)
	out.Set("ETag", etag)
	setChecksumHeaders(out, stored)
	setVersionHeader(out, info.VersionID)
	location := objectURL(rq, h.domain)
	out.Set("Location", location)

	redirect := fields["success_action_redirect"]
	if redirect == "" {
		redirect = fields["redirect"]
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		q := u.Query()
		q.Set("bucket", rq.bucket)
		q.Set("key", rq.key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		out.Set("Location", u.String())
		return rq.writeEmpty(http.StatusSeeOther)
	}
	switch fields["success_action_status"] {
	case "200":
		return rq.writeEmpty(http.StatusOK)
	case "201":
		return rq.writeXML(http.StatusCreated, postResponse{
			Location: location, Bucket: rq.bucket, Key: rq.key, ETag: etag,
		})
	}
	return rq.writeEmpty(http.StatusNoContent)
}

// postResponse is the document of success_action_status 201.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// objectURL is the absolute URL of the request's object, in the style
// the request used (virtual host or path).
func objectURL(rq *request, domain string) string {
	scheme := "http"
	if rq.r.TLS != nil {
		scheme = "https"
	}
	p := "/" + rq.bucket + "/" + rq.key
	if hostBucket(domain, rq.r.Host) != "" {
		p = "/" + rq.key
	}
	return (&url.URL{Scheme: scheme, Host: rq.r.Host, Path: p}).String()
}

// readPostFields reads the form up to the file part and returns the
// fields by lower-case name, and the file part positioned at its first
// byte. A field given twice is refused, so that no field can say one
// thing to the policy check and another to the upload. pre is the reader
// under mr, whose limit the form must not reach before its file.
func readPostFields(mr *multipart.Reader, pre *preDataReader) (map[string]string, *multipart.Part, error) {
	fields := make(map[string]string)
	budget := maxPostFieldsBytes
	for {
		p, err := mr.NextPart()
		if pre.hit {
			// Also when the file part was found: the parser may have read
			// past its headers into the limit, and the error it then
			// holds would fail the file's first read.
			return nil, nil, fmt.Errorf("%w: more than %d bytes", errPostPreDataTooLarge, pre.max)
		}
		if errors.Is(err, io.EOF) {
			return nil, nil, withMessage(errInvalidArgument, "POST requires exactly one file upload per request.")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errMalformedPOSTRequest, err)
		}
		name := strings.ToLower(p.FormName())
		if name == "" {
			// A part without a field name (a file input with no name)
			// is not a form AWS accepts.
			return nil, nil, fmt.Errorf("%w: a part without a form field name", errMalformedPOSTRequest)
		}
		if name == "file" {
			return fields, p, nil
		}
		b, err := io.ReadAll(io.LimitReader(p, int64(budget)+1))
		if pre.hit {
			return nil, nil, fmt.Errorf("%w: more than %d bytes", errPostPreDataTooLarge, pre.max)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: field %q: %v", errMalformedPOSTRequest, name, err)
		}
		budget -= len(b) + len(name)
		if budget < 0 {
			return nil, nil, fmt.Errorf("%w: fields of more than %d bytes", errPostPreDataTooLarge, maxPostFieldsBytes)
		}
		if _, dup := fields[name]; dup {
			return nil, nil, withMessage(errInvalidArgument, "The form field "+strconv.Quote(name)+" is given more than once.")
		}
		fields[name] = string(b)
	}
}

// postHeaders turns the form fields that describe the object into the
// request headers a PUT would carry, so that the PUT path's checks and
// metadata rules apply unchanged.
func postHeaders(fields map[string]string) http.Header {
	hdr := make(http.Header)
	for name, v := range fields {
		switch name {
		case "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "x-amz-security-token":
			continue
		case "content-type", "cache-control", "content-disposition", "content-encoding",
			"content-language", "expires", "content-md5":
		default:
			if !strings.HasPrefix(name, "x-amz-") {
				continue
			}
		}
		hdr.Set(name, v)
	}
	return hdr
}

// authorizePost checks the policy's signature, SigV4 or SigV2 by the
// fields the form carries, sets rq.identity to its signer, and returns
// the decoded policy and the signature version as s3:signatureversion
// names it. A form without a policy is anonymous: AccessDenied. The
// identity is set as soon as the signature holds, so that a form refused
// for its policy (expired, a condition failed) is audited as its
// signer's; rq.formSigned marks it replayable (Event.Replayable): a
// published form is anyone's to send, so its refusals are aggregated.
func (h *Handler) authorizePost(rq *request, f map[string]string) (pol *postPolicy, sigVersion string, err error) {
	if f["x-amz-security-token"] != "" {
		return nil, "", fmt.Errorf("%w: temporary credentials are not issued here", errInvalidToken)
	}
	policy := f["policy"]
	if policy == "" {
		return nil, "", fmt.Errorf("s3api: POST form without a policy: %w", sigv4.ErrMissingAuth)
	}
	var accessKey string
	if f["awsaccesskeyid"] != "" || f["signature"] != "" {
		accessKey, err = h.verifyPostV2(f, policy)
		sigVersion = "AWS"
	} else {
		accessKey, err = h.verifyPostV4(f, policy)
		sigVersion = "AWS4-HMAC-SHA256"
	}
	if err != nil {
		return nil, "", err
	}
	id, ok := h.identify(accessKey)
	if !ok {
		return nil, "", fmt.Errorf("s3api: POST form: %w", sigv4.ErrInvalidAccessKeyID)
	}
	rq.identity, rq.formSigned = id, true
	doc, err := base64.StdEncoding.DecodeString(policy)
	if err != nil {
		return nil, "", withMessage(errInvalidPolicyDocument, "Invalid Policy: Invalid Base64 Encoding.")
	}
	if pol, err = parsePostPolicy(doc); err != nil {
		return nil, "", err
	}
	if !h.verifier.Now().Before(pol.expiration) {
		return nil, "", withMessage(errPolicyViolation, "Invalid according to Policy: Policy expired.")
	}
	return pol, sigVersion, nil
}

// verifyPostV4 checks a SigV4 form: x-amz-signature is the SigV4
// signature of the base64 policy under x-amz-credential's scope.
func (h *Handler) verifyPostV4(f map[string]string, policy string) (string, error) {
	if alg := f["x-amz-algorithm"]; alg != "AWS4-HMAC-SHA256" {
		return "", fmt.Errorf("s3api: POST form x-amz-algorithm %q: %w", alg, sigv4.ErrUnsupportedAlgorithm)
	}
	cred := strings.Split(f["x-amz-credential"], "/")
	if len(cred) != 5 || cred[0] == "" || len(cred[1]) != 8 || cred[2] == "" || cred[3] != "s3" || cred[4] != "aws4_request" {
		return "", withMessage(sigv4.ErrAuthorizationHeaderMalformed,
			"The x-amz-credential form field is malformed; it must be <access key>/<YYYYMMDD>/<region>/s3/aws4_request.")
	}
	if err := h.checkFormRegion(cred[2], f["x-amz-credential"]); err != nil {
		return "", err
	}
	date, err := time.Parse(postDateFormat, f["x-amz-date"])
	if err != nil || date.Format("20060102") != cred[1] {
		return "", withMessage(sigv4.ErrAuthorizationHeaderMalformed,
			"The x-amz-date form field is missing, malformed, or not the day of x-amz-credential.")
	}
	secret, ok := h.verifier.Secret(cred[0])
	if !ok {
		return "", fmt.Errorf("s3api: POST form: %w", sigv4.ErrInvalidAccessKeyID)
	}
	got, err := hex.DecodeString(f["x-amz-signature"])
	if err != nil || len(got) != sha256.Size {
		return "", fmt.Errorf("s3api: POST form x-amz-signature: %w", sigv4.ErrSignatureDoesNotMatch)
	}
	// The string to sign of a POST is the base64 policy itself.
	key := []byte("AWS4" + secret)
	for _, part := range []string{cred[1], cred[2], "s3", "aws4_request", policy} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	if !hmac.Equal(key, got) {
		return "", fmt.Errorf("s3api: POST form: %w", sigv4.ErrSignatureDoesNotMatch)
	}
	return cred[0], nil
}

// verifyPostV2 checks a SigV2 form (what minio-go builds with V2
// credentials, and older browser-upload code): signature is the base64
// HMAC-SHA1 of the base64 policy under AWSAccessKeyId's secret. The
// policy's expiration is its only time limit, as in AWS; `--no-sigv2`
// refuses these forms like every other SigV2 request.
func (h *Handler) verifyPostV2(f map[string]string, policy string) (string, error) {
	if h.noSigV2 {
		return "", withMessage(errInvalidRequest, "Signature Version 2 is disabled on this server. Please use AWS4-HMAC-SHA256.")
	}
	for _, v4 := range []string{"x-amz-algorithm", "x-amz-credential", "x-amz-signature"} {
		if f[v4] != "" {
			return "", withMessage(errInvalidRequest, "A POST form carries either Signature Version 2 fields or Signature Version 4 fields, not both.")
		}
	}
	accessKey := f["awsaccesskeyid"]
	if accessKey == "" || f["signature"] == "" {
		return "", withMessage(errInvalidArgument, "Bucket POST with Signature Version 2 must contain both AWSAccessKeyId and signature.")
	}
	secret, ok := h.verifier.Secret(accessKey)
	if !ok {
		return "", fmt.Errorf("s3api: POST form: %w", sigv4.ErrInvalidAccessKeyID)
	}
	got, err := base64.StdEncoding.DecodeString(f["signature"])
	if err != nil || len(got) != sha1.Size {
		return "", fmt.Errorf("s3api: POST form signature: %w", sigv4.ErrSignatureDoesNotMatch)
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(policy))
	if !hmac.Equal(m.Sum(nil), got) {
		return "", fmt.Errorf("s3api: POST form: %w", sigv4.ErrSignatureDoesNotMatch)
	}
	return accessKey, nil
}

// postPolicy is a decoded POST policy document:
//
//	{"expiration": "2030-01-01T00:00:00.000Z",
//	 "conditions": [{"bucket": "b"}, ["starts-with", "$key", "uploads/"],
//	                ["eq", "$Content-Type", "image/png"],
//	                ["content-length-range", 1, 1048576]]}
type postPolicy struct {
	expiration time.Time
	conds      []policyCond
	// content-length-range; maxSize is -1 without one.
	minSize, maxSize int64
}

// policyCond is one eq or starts-with condition.
type policyCond struct {
	op    string // "eq" or "starts-with"
	field string // lower-case form field name, without the '$'
	value string
	text  string // the condition as errors quote it: [eq, $key, value]
}

// parsePostPolicy decodes a policy document. It never panics on bad
// input; anything it does not understand is InvalidPolicyDocument.
func parsePostPolicy(doc []byte) (*postPolicy, error) {
	var raw struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	bad := func(why string) error { return withMessage(errInvalidPolicyDocument, "Invalid Policy: "+why) }
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, bad("Invalid JSON.")
	}
	if raw.Expiration == "" {
		return nil, bad("Policy missing expiration.")
	}
	exp, err := time.Parse(time.RFC3339Nano, raw.Expiration)
	if err != nil {
		return nil, bad("Invalid 'expiration' value: " + strconv.Quote(raw.Expiration) + ".")
	}
	p := &postPolicy{expiration: exp, maxSize: -1}
	for _, c := range raw.Conditions {
		var obj map[string]string
		if err := json.Unmarshal(c, &obj); err == nil {
			names := make([]string, 0, len(obj))
			for k := range obj {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				p.conds = append(p.conds, policyCond{
					op: "eq", field: strings.ToLower(strings.TrimPrefix(k, "$")), value: obj[k],
					text: policyText("eq", "$"+strings.TrimPrefix(k, "$"), obj[k]),
				})
			}
			continue
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(c, &arr); err != nil || len(arr) != 3 {
			return nil, bad("Invalid condition " + truncateText(string(c)) + ".")
		}
		var op string
		if err := json.Unmarshal(arr[0], &op); err != nil {
			return nil, bad("Invalid condition " + truncateText(string(c)) + ".")
		}
		switch op = strings.ToLower(op); op {
		case "content-length-range":
			lo, err1 := policyInt(arr[1])
			hi, err2 := policyInt(arr[2])
			if err1 != nil || err2 != nil || lo < 0 || hi < lo {
				return nil, bad("Invalid content-length-range " + truncateText(string(c)) + ".")
			}
			p.minSize, p.maxSize = lo, hi
		case "eq", "starts-with":
			var field, value string
			if json.Unmarshal(arr[1], &field) != nil || json.Unmarshal(arr[2], &value) != nil || !strings.HasPrefix(field, "$") {
				return nil, bad("Invalid condition " + truncateText(string(c)) + ".")
			}
			p.conds = append(p.conds, policyCond{
				op: op, field: strings.ToLower(field[1:]), value: value,
				text: policyText(op, field, value),
			})
		default:
			return nil, bad("Invalid condition operator " + strconv.Quote(truncateText(op)) + ".")
		}
	}
	return p, nil
}

// policyText renders a condition for an error message. Unlike AWS it
// leaves out the JSON quotes, as MinIO does: XML would escape them to
// &#34; and clients that match the message text (minio-go's functional
// tests do) expect them either literal or absent.
func policyText(op, field, value string) string {
	return "[" + op + ", " + field + ", " + value + "]"
}

// policyInt reads a content-length-range bound, a JSON number or a
// string of digits.
func policyInt(m json.RawMessage) (int64, error) {
	var s string
	if json.Unmarshal(m, &s) != nil {
		s = string(m)
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

func truncateText(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// check evaluates every condition against the form and requires every
// field to be named by some condition, as AWS does.
func (p *postPolicy) check(fields map[string]string, bucket string) error {
	covered := map[string]bool{}
	for _, c := range p.conds {
		covered[c.field] = true
		v := fields[c.field]
		if c.field == "bucket" {
			v = bucket
		}
		ok := false
		switch c.op {
		case "eq":
			ok = v == c.value
		case "starts-with":
			ok = strings.HasPrefix(v, c.value)
		}
		if !ok {
			return withMessage(errPolicyViolation, "Invalid according to Policy: Policy Condition failed: "+c.text)
		}
	}
	var extra []string
	for name := range fields {
		if !covered[name] && !postExempt(name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return withMessage(errPolicyViolation, "Invalid according to Policy: Extra input fields: "+strings.Join(extra, ", "))
	}
	return nil
}

// preDataReader fails once max bytes came through, until lift: the
// reader under a form's multipart parser, which must find the file
// within max bytes. (mime/multipart has no limit of its own to set: its
// part headers may take 10 MiB each.)
type preDataReader struct {
	r   io.Reader
	n   int64
	max int64 // < 0: lifted
	hit bool  // a read was refused for the limit
}

func (p *preDataReader) Read(b []byte) (int, error) {
	if p.max < 0 {
		return p.r.Read(b)
	}
	if p.n >= p.max {
		p.hit = true
		return 0, errPostPreDataTooLarge
	}
	if rest := p.max - p.n; int64(len(b)) > rest {
		b = b[:rest]
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// lift ends the limit, once the file part is found.
func (p *preDataReader) lift() { p.max = -1 }

// boundedReader counts what it passes and fails once more than max
// bytes came through: the policy's content-length-range, or the largest
// single PUT.
type boundedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n, fmt.Errorf("%w: the file is larger than %d bytes", errEntityTooLarge, b.max)
	}
	return n, err
}
