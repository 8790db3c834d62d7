package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/objstore/objstore/admin"
)

// roundTrip is an http.RoundTripper made of a function.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// recorder returns a transport that counts the requests it would send,
// answering 204 (or resp when set), and the counter.
func recorder(resp func(*http.Request) *http.Response) (*http.Client, *[]*http.Request) {
	var sent []*http.Request
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r)
		if resp != nil {
			return resp(r), nil
		}
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
	})}, &sent
}

// TestClientRefusesCleartextCredentials: credentials go over https://,
// or over http:// to loopback hosts only; elsewhere the client refuses
// before anything is sent.
func TestClientRefusesCleartextCredentials(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		client admin.Client
		ok     bool
	}{
		{"token to a remote http host", "http://192.0.2.10:9000", admin.Client{Token: "ost_x"}, false},
		{"token to a remote http name", "http://objstore.example.com:9000", admin.Client{Token: "ost_x"}, false},
		{"root to a remote http host", "http://192.0.2.10:9000", admin.Client{RootUser: "root", RootSecret: "s"}, false},
		{"token to 0.0.0.0", "http://0.0.0.0:9000", admin.Client{Token: "ost_x"}, false},
		{"token to a loopback-looking name", "http://localhost.example.com", admin.Client{Token: "ost_x"}, false},
		{"token over https", "https://objstore.example.com", admin.Client{Token: "ost_x"}, true},
		{"root over https", "HTTPS://192.0.2.10", admin.Client{RootUser: "root", RootSecret: "s"}, true},
		{"token to localhost (a name, resolved by /etc/hosts or DNS)", "http://localhost:9000", admin.Client{Token: "ost_x"}, false},
		{"token to LOCALHOST", "http://LOCALHOST:9000/", admin.Client{Token: "ost_x"}, false},
		{"token to 127.0.0.1", "http://127.0.0.1:9000", admin.Client{Token: "ost_x"}, true},
		{"token to 127.1.2.3", "http://127.1.2.3", admin.Client{Token: "ost_x"}, true},
		{"root to ::1", "http://[::1]:9000", admin.Client{RootUser: "root", RootSecret: "s"}, true},
		{"no credentials to a remote http host", "http://192.0.2.10:9000", admin.Client{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc, sent := recorder(nil)
			c := tt.client
			c.URL, c.HTTP = tt.url, hc
			err := c.Do(context.Background(), "GET", "/cluster", nil, nil)
			if tt.ok {
				if err != nil || len(*sent) != 1 {
					t.Fatalf("error %v, %d requests sent", err, len(*sent))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "https://") || len(*sent) != 0 {
				t.Fatalf("error %v, %d requests sent; want a refusal naming https:// and nothing sent", err, len(*sent))
			}
		})
	}
}

// TestClientRedirectToCleartext: a redirect from https:// to plain
// http:// keeps Authorization in net/http (same host); the client stops
// instead of following it.
func TestClientRedirectToCleartext(t *testing.T) {
	hc, sent := recorder(func(r *http.Request) *http.Response {
		if r.URL.Scheme == "https" {
			h := http.Header{"Location": {"http://" + r.URL.Host + r.URL.Path}}
			return &http.Response{StatusCode: http.StatusFound, Header: h, Body: http.NoBody, Request: r}
		}
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}
	})
	c := &admin.Client{URL: "https://objstore.example.com", Token: "ost_x", HTTP: hc}
	err := c.Do(context.Background(), "GET", "/cluster", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "https://") || len(*sent) != 1 {
		t.Fatalf("error %v after %d requests; want the redirect to http:// refused", err, len(*sent))
	}
}

// TestClientSendsJSONContentType: the server refuses bodies not
// declared as JSON, so the client declares every body it sends.
func TestClientSendsJSONContentType(t *testing.T) {
	for _, in := range []any{admin.CreateUserRequest{Name: "x"}, []byte(`{"Statement":[]}`)} {
		hc, sent := recorder(nil)
		c := &admin.Client{URL: "http://127.0.0.1:9", Token: "ost_x", HTTP: hc}
		if err := c.Do(context.Background(), "POST", "/users", in, nil); err != nil {
			t.Fatal(err)
		}
		if ct := (*sent)[0].Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%T body sent with Content-Type %q", in, ct)
		}
	}
}

// TestErrorIsPrintable: an error's text shows what the server sent, so
// control characters in it are escaped.
func TestErrorIsPrintable(t *testing.T) {
	hc, _ := recorder(func(r *http.Request) *http.Response {
		body := `{"code":"NotFound","message":"no admin endpoint GET /\u001b[2J\nobjstore: all good","requestId":"1"}`
		return &http.Response{StatusCode: 404, Body: io.NopCloser(strings.NewReader(body)), Request: r}
	})
	c := &admin.Client{URL: "http://127.0.0.1:9", HTTP: hc}
	err := c.Do(context.Background(), "GET", "/x", nil, nil)
	var ae *admin.Error
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "\x1b") {
		t.Fatalf("error %v; want the message as sent in Message", err)
	}
	if s := err.Error(); strings.ContainsAny(s, "\x1b\n") || !strings.Contains(s, `\x1b[2J\n`) {
		t.Fatalf("Error() = %q; want control characters escaped", s)
	}
}
