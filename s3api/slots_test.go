package s3api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/s3api/sigv4"
)

// slotEnv is a server with one admission slot, IAM users, a bucket
// "slots" whose policy lets everyone delete under tmp/ and a bucket
// "private" without a policy, for the tests of what a caller sending its
// body slowly can hold.
type slotEnv struct {
	h   *Handler
	srv *httptest.Server
}

func newSlotEnv(t *testing.T, cfg Config) *slotEnv {
	t.Helper()
	deleter, err := iam.ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::slots/tmp/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	creator, err := iam.ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"s3:CreateBucket","Resource":"*","Condition":{"StringEquals":{"s3:LocationConstraint":"eu-central-1"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	cfg.Store = store
	cfg.Credentials = func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey }
	cfg.Identities = staticIdentities{
		"NOBODYKEY":  {"nobody-secret", "nobody"},
		"DELETERKEY": {"deleter-secret", "deleter"},
		"CREATORKEY": {"creator-secret", "creator"},
	}
	cfg.Authorizer = iam.NewEngine(formUserPolicies{
		"nobody":  nil,
		"deleter": {{Name: "del", Policy: deleter}},
		"creator": {{Name: "create", Policy: creator}},
	}, iam.EngineOptions{})
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.MaxRequests = 1
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &slotEnv{h: h, srv: httptest.NewServer(h)}
	t.Cleanup(e.srv.Close)
	for _, b := range []string{"slots", "private"} {
		if err := store.MakeBucket(context.Background(), b, ""); err != nil {
			t.Fatal(err)
		}
	}
	store.buckets["slots"].info.Metadata = map[string]string{bucketPolicyKey: `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::slots/tmp/*"}]}`}
	return e
}

// head is a request head as a client writes it on the wire, declaring a
// body of declared bytes; signed (UNSIGNED-PAYLOAD) by ak unless ak is "".
func (e *slotEnv) head(t *testing.T, method, path, ak, sk string, declared int, hdr map[string]string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(declared)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if ak != "" {
		if err := sigv4.SignRequest(req, ak, sk, testRegion, time.Now(), "UNSIGNED-PAYLOAD"); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, path, req.Host, declared)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func (e *slotEnv) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRefusedBeforeBody: a DeleteObjects or CreateBucket that no policy
// could allow, whatever its body says, is refused before the body is
// read, so it never waits in an admission slot for a body sent slowly.
// The requests below declare a body larger than net/http drains before
// answering and send one byte of it: the server never has the rest, and
// its stall and body timeouts are an hour, so a refusal can only come
// before the body. (Before, an anonymous caller or a user without any
// grant held the slot for as long as it kept sending a byte now and
// then, and anonymous callers learnt from NoSuchBucket which buckets
// exist.)
func TestRefusedBeforeBody(t *testing.T) {
	e := newSlotEnv(t, Config{StallTimeout: time.Hour, SmallBodyTimeout: time.Hour})
	const declared = 1 << 20
	md5 := map[string]string{"Content-MD5": md5b64([]byte("<"))}
	tests := []struct {
		name, method, path, ak, sk string
	}{
		{"anonymous DeleteObjects", "POST", "/private?delete", "", ""},
		{"anonymous DeleteObjects, no such bucket", "POST", "/no-such-bucket?delete", "", ""},
		{"user without grants: DeleteObjects", "POST", "/private?delete", "NOBODYKEY", "nobody-secret"},
		{"user with grants in another bucket: DeleteObjects", "POST", "/other?delete", "DELETERKEY", "deleter-secret"},
		{"user without grants: CreateBucket", "PUT", "/newbucket", "NOBODYKEY", "nobody-secret"},
		{"user who may delete: CreateBucket", "PUT", "/newbucket", "DELETERKEY", "deleter-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			if _, err := c.Write(append(e.head(t, tt.method, tt.path, tt.ak, tt.sk, declared, md5), '<')); err != nil {
				t.Fatal(err)
			}
			resp, body := readResponse(t, c, tt.method)
			wantCodeIn(t, resp, body, http.StatusForbidden, "AccessDenied")
			if !bytes.Contains(body, []byte("<Message>Access Denied</Message>")) {
				t.Fatalf("not the plain anonymous denial: %s", body)
			}
		})
	}
	if got := e.h.Admission().Running; got != 0 {
		t.Fatalf("%d slots still held", got)
	}
}

// TestMayBeAllowedReadsBody: a caller some statement could allow still
// has its body read and decided per key or by location, as before.
func TestMayBeAllowedReadsBody(t *testing.T) {
	e := newSlotEnv(t, Config{})
	del := []byte(`<Delete><Object><Key>tmp/a</Key></Object><Object><Key>keep</Key></Object></Delete>`)
	eu := []byte(`<CreateBucketConfiguration><LocationConstraint>eu-central-1</LocationConstraint></CreateBucketConfiguration>`)
	us := []byte(`<CreateBucketConfiguration><LocationConstraint>us-west-2</LocationConstraint></CreateBucketConfiguration>`)
	tests := []struct {
		name, method, path, ak, sk string
		body                       []byte
		status                     int
		want                       string // in the body
	}{
		{"anonymous DeleteObjects under the public grant", "POST", "/slots?delete", "", "", del, 200, "<Code>AccessDenied</Code>"},
		{"user DeleteObjects", "POST", "/slots?delete", "DELETERKEY", "deleter-secret", del, 200, "<Deleted><Key>tmp/a</Key>"},
		{"CreateBucket in the allowed location", "PUT", "/eubucket", "CREATORKEY", "creator-secret", eu, 200, ""},
		{"CreateBucket elsewhere", "PUT", "/usbucket", "CREATORKEY", "creator-secret", us, 403, "<Code>AccessDenied</Code>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			hdr := map[string]string{"Content-MD5": md5b64(tt.body)}
			if _, err := c.Write(append(e.head(t, tt.method, tt.path, tt.ak, tt.sk, len(tt.body), hdr), tt.body...)); err != nil {
				t.Fatal(err)
			}
			resp, body := readResponse(t, c, tt.method)
			if resp.StatusCode != tt.status || !bytes.Contains(body, []byte(tt.want)) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
}

// TestSmallBodyTimeout: a small XML body (readBody, which the bucket
// policy and encryption documents are read with too) that has not all
// arrived within SmallBodyTimeout fails with RequestTimeout and gives its
// admission slot back, though each read alone would wait an hour
// (StallTimeout). Before, a client that sent a byte now and then held
// the slot for ever. The client here sends half its body and then
// nothing: only the total bound can end the request.
func TestSmallBodyTimeout(t *testing.T) {
	e := newSlotEnv(t, Config{StallTimeout: time.Hour, SmallBodyTimeout: 200 * time.Millisecond})
	tests := []struct {
		name, method, path string
	}{
		{"DeleteObjects", "POST", "/slots?delete"},
		{"CreateBucket", "PUT", "/slowbucket"},
		{"CompleteMultipartUpload", "POST", "/slots/k?uploadId=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			if _, err := c.Write(append(e.head(t, tt.method, tt.path, testAccessKey, testSecretKey, 100, nil), "<Delete>"...)); err != nil {
				t.Fatal(err)
			}
			resp, body := readResponse(t, c, tt.method)
			wantCodeIn(t, resp, body, http.StatusBadRequest, "RequestTimeout")
			if !bytes.Contains(body, []byte("Your socket connection to the server was not read from or written to within the timeout period.")) {
				t.Fatalf("message: %s", body)
			}
			// The one slot is free again: the next request gets it.
			c2 := e.dial(t)
			if _, err := c2.Write(e.head(t, "HEAD", "/slots", testAccessKey, testSecretKey, 0, nil)); err != nil {
				t.Fatal(err)
			}
			if resp, _ := readResponse(t, c2, "HEAD"); resp.StatusCode != http.StatusOK {
				t.Fatalf("HEAD after the timeout: %d", resp.StatusCode)
			}
		})
	}
}
