package s3api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// slowStore is a fakeStore whose PutObject, once it has read the whole
// body, works for a while longer, as a large commit may.
type slowStore struct {
	*fakeStore
	after time.Duration
}

func (s *slowStore) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	// Readers may read again past the end (a framing check does).
	if n, err := body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return storage.ObjectInfo{}, fmt.Errorf("slow store: read past the end: %d, %v", n, err)
	}
	select {
	case <-time.After(s.after):
	case <-ctx.Done():
		return storage.ObjectInfo{}, fmt.Errorf("slow store: %w", ctx.Err())
	}
	return s.fakeStore.PutObject(ctx, bucket, key, bytes.NewReader(data), opts)
}

// stallEnv is a server whose requests give up on a stalled client after
// stall, reporting each finished request on events.
type stallEnv struct {
	srv    *httptest.Server
	store  *slowStore
	events chan Event
}

func newStallEnv(t *testing.T, stall time.Duration) *stallEnv {
	t.Helper()
	e := &stallEnv{store: &slowStore{fakeStore: newFakeStore()}, events: make(chan Event, 16)}
	h, err := New(Config{
		Store: e.store,
		Credentials: func(ak string) (string, bool) {
			return testSecretKey, ak == testAccessKey
		},
		Logger:       slog.New(slog.DiscardHandler),
		StallTimeout: stall,
		OnRequest:    func(ev Event) { e.events <- ev },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	if err := e.store.MakeBucket(context.Background(), "stall", ""); err != nil {
		t.Fatal(err)
	}
	return e
}

// rawHead returns a signed request head (with UNSIGNED-PAYLOAD) for a
// body of declared bytes, as a client would write it on the wire.
func (e *stallEnv) rawHead(t *testing.T, method, path string, declared int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(declared)
	if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), "UNSIGNED-PAYLOAD"); err != nil {
		t.Fatal(err)
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

func (e *stallEnv) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readResponse reads one response from c; the deadline only keeps a
// broken server from hanging the test.
func readResponse(t *testing.T, c net.Conn, method string) (*http.Response, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func wantCodeIn(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(string(body), "<Code>"+code+"</Code>") {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, status, code)
	}
}

func TestStalledClients(t *testing.T) {
	const stall = 300 * time.Millisecond
	e := newStallEnv(t, stall)

	t.Run("body stalls", func(t *testing.T) {
		c := e.dial(t)
		if _, err := c.Write(append(e.rawHead(t, "PUT", "/stall/stalled", 10), "12345"...)); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, c, "PUT")
		wantCodeIn(t, resp, body, 400, "RequestTimeout")
		if _, err := e.store.ObjectInfo(context.Background(), "stall", "stalled", storage.GetOptions{}); err == nil {
			t.Fatal("a stalled PUT stored an object")
		}
	})

	t.Run("body cut short", func(t *testing.T) {
		c := e.dial(t)
		if _, err := c.Write(append(e.rawHead(t, "PUT", "/stall/short", 10), "12345"...)); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, c, "PUT")
		wantCodeIn(t, resp, body, 400, "IncompleteBody")
	})

	t.Run("refused before the body, which never comes", func(t *testing.T) {
		// net/http drains an unread body before it answers; a client
		// that declared a body and sends none must still get the
		// answer.
		c := e.dial(t)
		if _, err := c.Write(e.rawHead(t, "PUT", "/no/key", 10)); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, c, "PUT")
		wantCodeIn(t, resp, body, 400, "InvalidBucketName")
	})

	t.Run("refused with the body sent: the connection is kept", func(t *testing.T) {
		c := e.dial(t)
		if _, err := c.Write(append(e.rawHead(t, "PUT", "/nosuchbucket/k", 5), "12345"...)); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, c, "PUT")
		wantCodeIn(t, resp, body, 404, "NoSuchBucket")
		if _, err := c.Write(e.rawHead(t, "HEAD", "/stall", 0)); err != nil {
			t.Fatal(err)
		}
		resp, _ = readResponse(t, c, "HEAD")
		if resp.StatusCode != 200 {
			t.Fatalf("HEAD on the same connection: %d", resp.StatusCode)
		}
	})

	t.Run("slow but steady body", func(t *testing.T) {
		// Each piece comes within the stall timeout, the whole takes
		// longer than it: only silence counts.
		c := e.dial(t)
		if _, err := c.Write(e.rawHead(t, "PUT", "/stall/steady", 6)); err != nil {
			t.Fatal(err)
		}
		for _, b := range []byte("steady") {
			time.Sleep(stall / 3)
			if _, err := c.Write([]byte{b}); err != nil {
				t.Fatal(err)
			}
		}
		resp, body := readResponse(t, c, "PUT")
		if resp.StatusCode != 200 {
			t.Fatalf("steady PUT: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("work after the body is not cut short", func(t *testing.T) {
		// Once the body is read, net/http watches the connection in the
		// background; a read deadline left from the body would cancel
		// the request when it passed.
		e.store.after = 3 * stall
		defer func() { e.store.after = 0 }()
		c := e.dial(t)
		if _, err := c.Write(append(e.rawHead(t, "PUT", "/stall/slowcommit", 4), "data"...)); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, c, "PUT")
		if resp.StatusCode != 200 {
			t.Fatalf("PUT with a long commit: %d %s", resp.StatusCode, body)
		}
		// The connection is still good for the next request.
		if _, err := c.Write(e.rawHead(t, "GET", "/stall/slowcommit", 0)); err != nil {
			t.Fatal(err)
		}
		resp, body = readResponse(t, c, "GET")
		if resp.StatusCode != 200 || string(body) != "data" {
			t.Fatalf("GET after it: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("100 Continue on a connection idle for a while", func(t *testing.T) {
		// The last request's write deadline must not fail net/http's
		// own 100 Continue, written before any handler write.
		c := e.dial(t)
		if _, err := c.Write(e.rawHead(t, "HEAD", "/stall", 0)); err != nil {
			t.Fatal(err)
		}
		readResponse(t, c, "HEAD")
		time.Sleep(3 * stall)
		head := e.rawHead(t, "PUT", "/stall/continued", 4)
		head = bytes.Replace(head, []byte("\r\n\r\n"), []byte("\r\nExpect: 100-continue\r\n\r\n"), 1)
		if _, err := c.Write(head); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, err := br.ReadString('\n')
		if err != nil || !strings.Contains(line, "100 Continue") {
			t.Fatalf("interim response %q, %v", line, err)
		}
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: "PUT"})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT after 100 Continue: %v, %v", resp, err)
		}
		resp.Body.Close()
	})

	t.Run("a reader that stops reading", func(t *testing.T) {
		data := bytes.Repeat([]byte("x"), 32<<20)
		sum := sha256.Sum256(data)
		req, err := http.NewRequest("PUT", e.srv.URL+"/stall/big", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT big: %d", resp.StatusCode)
		}
		drain(e.events)

		c := e.dial(t)
		if err := c.SetReadBuffer(4096); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(e.rawHead(t, "GET", "/stall/big", 0)); err != nil {
			t.Fatal(err)
		}
		// Nothing is read: the server's writes fill the socket buffers
		// and must give up rather than wait for ever.
		select {
		case ev := <-e.events:
			if ev.Operation != "GetObject" || ev.BytesOut >= int64(len(data)) {
				t.Fatalf("event %+v", ev)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a GET whose client stopped reading never finished")
		}
	})
}

func drain(ch chan Event) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// pausingStore pauses as slow drives may: a PUT between the first 4 KiB
// of its body and the rest, a GET between its first 1 KiB and the rest.
type pausingStore struct {
	*fakeStore
	pause time.Duration
}

func (s *pausingStore) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	first := make([]byte, 4096)
	if _, err := io.ReadFull(body, first); err != nil {
		return storage.ObjectInfo{}, err
	}
	time.Sleep(s.pause)
	return s.fakeStore.PutObject(ctx, bucket, key, io.MultiReader(bytes.NewReader(first), body), opts)
}

func (s *pausingStore) OpenObject(ctx context.Context, bucket, key string, opts storage.GetOptions) (storage.ObjectReader, error) {
	rd, err := s.fakeStore.OpenObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	return &pausingReader{ObjectReader: rd, pause: s.pause}, nil
}

type pausingReader struct {
	storage.ObjectReader
	pause time.Duration
}

func (r *pausingReader) WriteRange(ctx context.Context, w io.Writer, offset, length int64) error {
	var buf bytes.Buffer
	if err := r.ObjectReader.WriteRange(ctx, &buf, offset, length); err != nil {
		return err
	}
	if _, err := w.Write(buf.Next(1024)); err != nil {
		return err
	}
	time.Sleep(r.pause)
	_, err := w.Write(buf.Bytes())
	return err
}

// TestServerPausesAreNotStalls: the stall timeout counts the client's
// silence, not the server's. Over HTTP/2 a deadline is a timer that
// fires even between reads and writes; left set, a slow drive made a
// PUT RequestTimeout and reset a GET.
func TestServerPausesAreNotStalls(t *testing.T) {
	const stall = 300 * time.Millisecond
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			st := &pausingStore{fakeStore: newFakeStore(), pause: 3 * stall}
			if err := st.MakeBucket(context.Background(), "pause", ""); err != nil {
				t.Fatal(err)
			}
			h, err := New(Config{Store: st, Credentials: func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey },
				Logger: slog.New(slog.DiscardHandler), StallTimeout: stall})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(h)
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			defer srv.Close()
			data := bytes.Repeat([]byte("p"), 8<<20)
			sum := sha256.Sum256(data)
			do := func(method string, body []byte, hash string) (*http.Response, []byte) {
				t.Helper()
				req, _ := http.NewRequest(method, srv.URL+"/pause/k", bytes.NewReader(body))
				if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hash); err != nil {
					t.Fatal(err)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatalf("%s: %v", method, err)
				}
				defer resp.Body.Close()
				got, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("%s body after %d bytes: %v", method, len(got), err)
				}
				if resp.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] {
					t.Fatalf("served over %s", resp.Proto)
				}
				return resp, got
			}
			if resp, got := do("PUT", data, hex.EncodeToString(sum[:])); resp.StatusCode != 200 {
				t.Fatalf("PUT with a pause of the server's: %d %s", resp.StatusCode, got)
			}
			if resp, got := do("GET", nil, sha256Empty); resp.StatusCode != 200 || !bytes.Equal(got, data) {
				t.Fatalf("GET with a pause of the server's: %d, %d bytes", resp.StatusCode, len(got))
			}
		})
	}
}
