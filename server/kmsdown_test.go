//go:build linux

package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/objstore/objstore/admin"

	"github.com/objstore/objstore/kms/kmip"
	"github.com/objstore/objstore/kms/kmstest"
)

func TestMain(m *testing.M) {
	kmstest.BecomeSubreaper() // PyKMIP's children, reaped by PyKMIP.Stop
	os.Exit(m.Run())
}

// startPyKMIP starts a real KMIP server for t, stopped when t ends.
func startPyKMIP(t *testing.T) *kmstest.PyKMIP {
	t.Helper()
	kmstest.SkipWithoutPyKMIP(t)
	p, err := kmstest.NewPyKMIP(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// kmipConfig is the server's configuration for the KMIP server p
// reached through link.
func kmipConfig(p *kmstest.PyKMIP, link *kmstest.Link) Config {
	return Config{KMSBackend: KMSKMIP, KMIP: kmip.Config{
		Endpoint: link.Addr, ServerName: "127.0.0.1",
		CAFile: p.CAFile, CertFile: p.CertFile, KeyFile: p.KeyFile,
	}}
}

// elapsed runs f and returns how long it took and its error.
func elapsed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// kmsOutage is a server on a real KMIP server reached through a
// kmstest.Link, with buckets whose keys are cached ("warm") and not
// ("cold", written before a restart and not read since).
type kmsOutage struct {
	t     *testing.T
	link  *kmstest.Link
	srv   *Server
	c     *minio.Client
	admin *admin.Client
}

func startKMSOutage(t *testing.T, timeout time.Duration) *kmsOutage {
	p := startPyKMIP(t)
	link := kmstest.NewLink(t, p.Endpoint)
	cfg := kmipConfig(p, link)
	cfg.KMIP.Timeout = timeout
	cfg.DataDir = t.TempDir()
	cfg.MaxRequests = 4 // 2 for one principal
	ctx := context.Background()
	srv, c := startServerWith(t, cfg)
	o := &kmsOutage{t: t, link: link}
	for _, b := range []string{"cold", "warm"} {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := o.put(c, b, "o", minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close(ctx)
	o.srv, o.c = startServerWith(t, cfg)
	user, secret := o.srv.Credentials()
	o.admin = &admin.Client{URL: "http://" + o.srv.Addr(), RootUser: user, RootSecret: secret}
	if err := o.admin.Do(ctx, "POST", "/kms/keys", admin.CreateKMSKeyRequest{ID: "unused"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.get(o.c, "warm", "o"); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *kmsOutage) put(c *minio.Client, bucket, object string, opts minio.PutObjectOptions) error {
	body := []byte("ledger")
	_, err := c.PutObject(context.Background(), bucket, object, bytes.NewReader(body), int64(len(body)), opts)
	return err
}

func (o *kmsOutage) get(c *minio.Client, bucket, object string) error {
	r, err := c.GetObject(context.Background(), bucket, object, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.ReadAll(r)
	return err
}

func sseKMS(key string) minio.PutObjectOptions {
	sse, _ := encrypt.NewSSEKMS(key, nil)
	return minio.PutObjectOptions{ServerSideEncryption: sse}
}

// kmsCase is a request and the answer it gets while the KMS is away.
type kmsCase struct {
	name   string
	needs  bool // needs the KMS: 503, else success
	f      func() error
	admin  bool
	status int
}

func (o *kmsOutage) cases(fresh string) []kmsCase {
	ctx := context.Background()
	return []kmsCase{
		{name: "PUT, bucket key cached", f: func() error { return o.put(o.c, "warm", "p", minio.PutObjectOptions{}) }},
		{name: "GET, bucket key cached", f: func() error { return o.get(o.c, "warm", "o") }},
		{name: "CreateBucket", f: func() error { return o.c.MakeBucket(ctx, fresh, minio.MakeBucketOptions{}) }},
		{name: "ListObjects", f: func() error {
			for oi := range o.c.ListObjects(ctx, "cold", minio.ListObjectsOptions{}) {
				return oi.Err
			}
			return nil
		}},
		{name: "PUT to a new bucket", needs: true, f: func() error { return o.put(o.c, fresh, "p", minio.PutObjectOptions{}) }},
		{name: "PUT SSE-KMS, key not used yet", needs: true, f: func() error { return o.put(o.c, "warm", "k", sseKMS("unused")) }},
		{name: "GET, bucket key not cached", needs: true, f: func() error { return o.get(o.c, "cold", "o") }},
		{name: "admin: list keys", needs: true, admin: true, f: func() error { return o.admin.Do(ctx, "GET", "/kms/keys", nil, nil) }},
		{name: "admin: create key", needs: true, admin: true, f: func() error {
			return o.admin.Do(ctx, "POST", "/kms/keys", admin.CreateKMSKeyRequest{ID: "k-" + fresh}, nil)
		}},
		{name: "admin: rotate key", needs: true, admin: true, f: func() error { return o.admin.Do(ctx, "POST", "/kms/keys/unused/rotate", nil, nil) }},
	}
}

// check runs tc and checks its answer: success, or for a request that
// needs the KMS, 503 (S3 ServiceUnavailable, admin KMSUnavailable)
// within limit.
func (o *kmsOutage) check(tc kmsCase, limit time.Duration) {
	o.t.Helper()
	d, err := elapsed(tc.f)
	o.t.Logf("%-32s %7v  %v", tc.name, d.Round(time.Millisecond), err)
	switch {
	case !tc.needs && err != nil:
		o.t.Errorf("%s needs no KMS, failed: %v", tc.name, err)
	case !tc.needs:
	case tc.admin:
		var ae *admin.Error
		if !errors.As(err, &ae) || ae.Status != 503 || ae.Code != "KMSUnavailable" {
			o.t.Errorf("%s: %v, want 503 KMSUnavailable", tc.name, err)
		}
	default:
		if r := minio.ToErrorResponse(err); r.StatusCode != 503 || r.Code != "ServiceUnavailable" {
			o.t.Errorf("%s: %v (%d %s), want 503 ServiceUnavailable", tc.name, err, r.StatusCode, r.Code)
		}
	}
	if d > limit {
		o.t.Errorf("%s took %v, want at most %v", tc.name, d, limit)
	}
}

// recovered checks that every request succeeds again, without a restart.
func (o *kmsOutage) recovered(fresh string) {
	o.t.Helper()
	for _, tc := range o.cases(fresh) {
		d, err := elapsed(tc.f)
		if err != nil {
			o.t.Errorf("%s once the KMS is back: %v after %v", tc.name, err, d)
		}
	}
	if code, body := readyStatus(o.t, o.srv); code != 200 {
		o.t.Errorf("ready = %d %q once the KMS is back", code, body)
	}
}

// TestKMSDown: with the KMS refusing connections, requests that need it
// answer 503 at once, the others succeed, the server stays ready, and
// once the KMS is back everything works without a restart.
func TestKMSDown(t *testing.T) {
	o := startKMSOutage(t, 10*time.Second)
	o.link.Set("down")
	for _, tc := range o.cases("fresh1") {
		o.check(tc, 2*time.Second)
	}
	if code, body := readyStatus(t, o.srv); code != 200 {
		t.Errorf("ready = %d %q with the KMS down, want 200 (see docs/architecture.md, When the KMS is down)", code, body)
	}
	o.link.Set("up")
	o.recovered("fresh2")
}

// TestKMSHang: a KMS that accepts connections and never answers. A
// request that needs it answers 503 within the KMIP timeout, not later;
// once one call has timed out, the others answer 503 at once while one at
// a time asks the KMS, so that requests waiting on it do not hold the
// server's request slots and reads of cached bucket keys go on; a client
// that gives up ends the KMS call and its connection; and once the KMS
// answers again everything works without a restart.
func TestKMSHang(t *testing.T) {
	const timeout = 2 * time.Second
	const slack = time.Second
	o := startKMSOutage(t, timeout)
	o.link.Set("hang")
	for _, tc := range o.cases("fresh1") {
		o.check(tc, timeout+slack)
	}
	if code, body := readyStatus(t, o.srv); code != 200 {
		t.Errorf("ready = %d %q with the KMS hanging, want 200", code, body)
	}

	// Six reads of the cold bucket from root, whose share is two of the
	// four slots, and a read of the warm one by root too.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = o.get(o.c, "cold", "o")
		}()
	}
	time.Sleep(100 * time.Millisecond)
	o.check(kmsCase{name: "GET cached beside 6 uncached", f: func() error { return o.get(o.c, "warm", "o") }}, 500*time.Millisecond)
	wg.Wait()
	for i, err := range errs {
		if r := minio.ToErrorResponse(err); r.StatusCode != 503 || r.Code != "ServiceUnavailable" {
			t.Errorf("uncached GET %d: %v, want 503 ServiceUnavailable", i, err)
		}
	}

	// A client that gives up: its KMS call ends and the connection closes.
	for deadline := time.Now().Add(timeout + slack); o.link.Open() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the KMS open before the cancelled GET", o.link.Open())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	r, err := o.c.GetObject(ctx, "cold", "o", minio.GetObjectOptions{})
	if err == nil {
		_, err = io.ReadAll(r)
		r.Close()
	}
	cancel()
	// It waited for the hung KMS (the probe of the outage) until the
	// client gave up; an answer at once would mean it never asked.
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled GET: %v, want the client's deadline to end it", err)
	}
	for deadline := time.Now().Add(slack); o.link.Open() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the KMS open after the client gave up", o.link.Open())
		}
	}

	o.link.Set("up")
	o.recovered("fresh2")
}
