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
	leave, err := a.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.enter(ctx)
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
	if l, err := none.enter(ctx); err != nil || l == nil {
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
