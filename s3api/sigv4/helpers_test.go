package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// AWS's documented example credentials and request time.
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// verifierAt knows the example key (and "other"/"othersecret") and whose
// clock reads now.
func verifierAt(now time.Time) *Verifier {
	return &Verifier{
		Secret: func(ak string) (string, bool) {
			switch ak {
			case exampleAccessKey:
				return exampleSecret, true
			case "other":
				return "othersecret", true
			}
			return "", false
		},
		Now: func() time.Time { return now },
	}
}

// header is one raw request header line, kept in order.
type header struct{ name, value string }

// serverRequest builds the request the way net/http's server does, from raw
// bytes, so that Host, Content-Length and RequestURI sit where they do in
// production.
func serverRequest(t testing.TB, method, target string, headers []header, body []byte) *http.Request {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(method + " " + target + " HTTP/1.1\r\n")
	hasLen := false
	for _, h := range headers {
		b.WriteString(h.name + ": " + h.value + "\r\n")
		hasLen = hasLen || strings.EqualFold(h.name, "Content-Length")
	}
	if !hasLen && len(body) > 0 {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	r, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	return r
}

// chunkSigner is an independent, plain implementation of the aws-chunked
// signer for tests: it rebuilds every string to sign from scratch.
type chunkSigner struct {
	key   [32]byte
	date  string // 20130524T000000Z
	scope string
	prev  string // hex of the previous signature
}

func newChunkSigner(secret, region string, t time.Time, seed string) *chunkSigner {
	day := t.UTC().Format("20060102")
	mac := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	k := mac([]byte("AWS4"+secret), day)
	k = mac(k, region)
	k = mac(k, "s3")
	k = mac(k, "aws4_request")
	s := &chunkSigner{date: t.UTC().Format("20060102T150405Z"), scope: day + "/" + region + "/s3/aws4_request", prev: seed}
	copy(s.key[:], k)
	return s
}

func (s *chunkSigner) sign(kind, hashes string) string {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte(kind + "\n" + s.date + "\n" + s.scope + "\n" + s.prev + "\n" + hashes))
	s.prev = hex.EncodeToString(m.Sum(nil))
	return s.prev
}

func hexSHA(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// chunk signs one chunk of data.
func (s *chunkSigner) chunk(data []byte) string {
	return s.sign("AWS4-HMAC-SHA256-PAYLOAD", hexSHA(nil)+"\n"+hexSHA(data))
}

// trailer signs the trailer text ("name:value\n" lines).
func (s *chunkSigner) trailer(text string) string {
	return s.sign("AWS4-HMAC-SHA256-TRAILER", hexSHA([]byte(text)))
}

// encodeSigned frames chunks with signatures; with trailers (name, value
// pairs) it appends them and their signature in the AWS documented layout.
func encodeSigned(s *chunkSigner, chunks [][]byte, trailers []header) []byte {
	var b bytes.Buffer
	for _, c := range append(chunks, nil) {
		b.WriteString(strconv.FormatInt(int64(len(c)), 16) + ";chunk-signature=" + s.chunk(c) + "\r\n")
		if len(c) > 0 {
			b.Write(c)
			b.WriteString("\r\n")
		}
	}
	if trailers == nil {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	var text strings.Builder
	for _, t := range trailers {
		text.WriteString(t.name + ":" + t.value + "\n")
		b.WriteString(t.name + ":" + t.value + "\r\n")
	}
	b.WriteString("x-amz-trailer-signature:" + s.trailer(text.String()) + "\r\n\r\n")
	return b.Bytes()
}

// encodeUnsigned frames chunks without signatures, then trailers.
func encodeUnsigned(chunks [][]byte, trailers []header) []byte {
	var b bytes.Buffer
	for _, c := range append(chunks, nil) {
		b.WriteString(strconv.FormatInt(int64(len(c)), 16) + "\r\n")
		if len(c) > 0 {
			b.Write(c)
			b.WriteString("\r\n")
		}
	}
	for _, t := range trailers {
		b.WriteString(t.name + ":" + t.value + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// split cuts data into chunks of size n (the last one shorter).
func split(data []byte, n int) [][]byte {
	var out [][]byte
	for len(data) > n {
		out = append(out, data[:n])
		data = data[n:]
	}
	if len(data) > 0 {
		out = append(out, data)
	}
	return out
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
