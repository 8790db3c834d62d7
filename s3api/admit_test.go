package s3api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// gatedStore is a fakeStore whose PutObject, once the body is read,
// reports on entered and holds its request until release closes.
type gatedStore struct {
	*fakeStore
	entered chan struct{}
	release chan struct{}
}

func (s *gatedStore) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.fakeStore.PutObject(ctx, bucket, key, body, opts)
}

// admissionEnv serves store with one request slot, waiting up to wait
// for it, on a loopback port, with bucket "adm" made in fake.
func admissionEnv(t *testing.T, store ObjectLayer, fake *fakeStore, wait time.Duration) (*Handler, *testEnv) {
	t.Helper()
	h, err := New(Config{
		Store:       store,
		Credentials: func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey },
		Logger:      slog.New(slog.DiscardHandler),
		MaxRequests: 1,
		RequestWait: wait,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if err := fake.MakeBucket(context.Background(), "adm", ""); err != nil {
		t.Fatal(err)
	}
	return h, &testEnv{t: t, store: fake, srv: srv}
}

func TestAdmission(t *testing.T) {
	store := &gatedStore{fakeStore: newFakeStore(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	const wait = 300 * time.Millisecond
	h, e := admissionEnv(t, store, store.fakeStore, wait)
	if got := h.Admission(); got != (AdmissionStats{Limit: 1}) {
		t.Fatalf("idle: %+v", got)
	}

	// A PUT takes the only slot and keeps it.
	held := make(chan int, 1)
	go func() {
		resp, _ := e.do(rawRequest{method: http.MethodPut, path: "/adm/first", body: []byte("first")})
		held <- resp.StatusCode
	}()
	<-store.entered

	// Unauthenticated requests are refused at once, without a slot.
	resp, body := e.do(rawRequest{method: http.MethodGet, path: "/adm/first", secret: "wrong secret"})
	wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")

	// A signed request waits its time, then is told to slow down.
	start := time.Now()
	resp, body = e.do(rawRequest{method: http.MethodGet, path: "/adm?list-type=2"})
	wantError(t, resp, body, http.StatusServiceUnavailable, "SlowDown")
	if waited := time.Since(start); waited < wait {
		t.Fatalf("SlowDown after %v, before the wait of %v", waited, wait)
	}
	if got := h.Admission(); got.Refused != 1 || got.Running != 1 || got.Waiting != 0 {
		t.Fatalf("after a refusal: %+v", got)
	}

	// One that is waiting when the slot frees is served.
	waited := make(chan *http.Response, 1)
	go func() {
		resp, _ := e.do(rawRequest{method: http.MethodGet, path: "/adm?list-type=2"})
		waited <- resp
	}()
	for h.Admission().Waiting == 0 {
		time.Sleep(time.Millisecond)
	}
	close(store.release)
	if code := <-held; code != http.StatusOK {
		t.Fatalf("held PUT: %d", code)
	}
	if resp := <-waited; resp.StatusCode != http.StatusOK {
		t.Fatalf("waiting request: %d", resp.StatusCode)
	}
	if got := h.Admission(); got.Running != 0 || got.Waiting != 0 || got.Refused != 1 {
		t.Fatalf("after: %+v", got)
	}
}

// A client that goes away while its request waits leaves no trace.
func TestAdmissionClientGone(t *testing.T) {
	a := newAdmission(1, time.Hour)
	leave, err := a.enter(context.Background(), "key:a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.enter(ctx, "key:a")
		done <- err
	}()
	for a.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("enter after cancel: %v", err)
	}
	leave()
	if len(a.slots) != 0 || a.waiting.Load() != 0 || a.refused.Load() != 0 {
		t.Fatalf("slots %d, waiting %d, refused %d", len(a.slots), a.waiting.Load(), a.refused.Load())
	}
	// Unbounded: nil admits everything.
	var none *admission
	if l, err := none.enter(ctx, "key:a"); err != nil || l == nil {
		t.Fatalf("nil admission: %v", err)
	}
}

// TestAdmissionUnsignedPost: a browser POST takes its slot only once its
// form's policy is verified, so an anonymous client trickling a form
// holds none.
func TestAdmissionUnsignedPost(t *testing.T) {
	store := newFakeStore()
	h, e := admissionEnv(t, store, store, 300*time.Millisecond)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// No credentials at all; the rest of the form never comes.
	fmt.Fprintf(conn, "POST /adm HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n--XX\r\n")
	time.Sleep(200 * time.Millisecond) // the POST is being served by now
	resp, body := e.do(rawRequest{method: http.MethodGet, path: "/adm?list-type=2"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("beside a stalled unsigned POST, a signed request got %d %s", resp.StatusCode, body)
	}
	if a := h.Admission(); a.Running != 0 || a.Refused != 0 {
		t.Fatalf("admission %+v", a)
	}
}

// TestAdmissionShare: one principal holds at most half of the slots, so
// a caller sending slow bodies under one key cannot take them all; the
// others' requests still get the rest, and every share is given back.
func TestAdmissionShare(t *testing.T) {
	for _, tt := range []struct{ n, share int }{{1, 1}, {2, 1}, {3, 2}, {4, 2}, {1205, 603}} {
		if a := newAdmission(tt.n, time.Hour); a.share != tt.share {
			t.Errorf("newAdmission(%d).share = %d, want %d", tt.n, a.share, tt.share)
		}
	}

	a := newAdmission(4, time.Hour)
	ctx := context.Background()
	var leaves []func()
	for range 2 {
		l, err := a.enter(ctx, "key:slow")
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, l)
	}
	// A third request of the same key waits, though two slots are free.
	third := make(chan func(), 1)
	go func() {
		l, err := a.enter(ctx, "key:slow")
		if err != nil {
			t.Error(err)
		}
		third <- l
	}()
	for a.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Another principal gets the free slots.
	for range 2 {
		l, err := a.enter(ctx, "addr:192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, l)
	}
	select {
	case <-third:
		t.Fatal("a third request of one key admitted beyond its share")
	default:
	}
	// One of the key's requests ends: its third takes the share and slot.
	leaves[0]()
	leaves[0] = <-third
	if got := len(a.slots); got != 4 {
		t.Fatalf("slots held %d, want 4", got)
	}
	for _, l := range leaves {
		l()
	}
	if len(a.slots) != 0 || len(a.shares) != 0 || a.waiting.Load() != 0 {
		t.Fatalf("after: slots %d, shares %d, waiting %d", len(a.slots), len(a.shares), a.waiting.Load())
	}

	// A wait for a share, and one for a slot with the share held, both
	// give everything back when they fail.
	a = newAdmission(2, 20*time.Millisecond)
	l1, err := a.enter(ctx, "key:slow")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.enter(ctx, "key:slow"); err != errSlowDown {
		t.Fatalf("beyond the share: %v, want SlowDown", err)
	}
	l2, err := a.enter(ctx, "key:other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.enter(ctx, "key:third"); err != errSlowDown {
		t.Fatalf("no slot: %v, want SlowDown", err)
	}
	l1()
	l2()
	if len(a.slots) != 0 || len(a.shares) != 0 || a.refused.Load() != 2 {
		t.Fatalf("after failures: slots %d, shares %d, refused %d", len(a.slots), len(a.shares), a.refused.Load())
	}
}

func TestRequestPrincipal(t *testing.T) {
	for _, tt := range []struct {
		remote, key, want string
		presigned, form   bool
	}{
		// Anyone holding a presigned URL or a signed form may send it:
		// it counts against its key from the sender's address only.
		{"192.0.2.7:5000", "AKIA1", "key:AKIA1@192.0.2.7", true, false},
		{"[2001:db8:1:2::9]:5000", "AKIA1", "key:AKIA1@2001:db8:1:2::/64", false, true},
		{"192.0.2.7:5000", "AKIA1", "key:AKIA1", false, false},
		{"192.0.2.7:5000", "", "addr:192.0.2.7", false, false},
		{"[::ffff:192.0.2.7]:5000", "", "addr:192.0.2.7", false, false},
		{"[2001:db8:1:2:3:4:5:6]:5000", "", "addr:2001:db8:1:2::/64", false, false},
		{"[2001:db8:1:2:ffff::1]:5000", "", "addr:2001:db8:1:2::/64", false, false},
		{"[fe80::1%eth0]:5000", "", "addr:fe80::/64", false, false},
		{"junk", "", "addr:junk", false, false},
	} {
		rq := &request{r: &http.Request{RemoteAddr: tt.remote}, identity: Identity{AccessKey: tt.key}, formSigned: tt.form}
		if tt.presigned {
			rq.auth = &sigv4.Auth{Presigned: true}
		}
		if got := rq.principal(); got != tt.want {
			t.Errorf("principal(%q, %q) = %q, want %q", tt.remote, tt.key, got, tt.want)
		}
	}
}
