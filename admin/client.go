package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Client calls the admin API: the CLI's transport, usable by any Go
// program. Set Token for bearer authentication, or RootUser and
// RootSecret for HTTP Basic with the root credentials (needed to mint
// tokens).
//
// A Client with credentials sends them only over https://, or over
// plain http:// to a loopback address (127.0.0.0/8, ::1; not the name
// localhost, which /etc/hosts or DNS resolves), on
// the first request and on every redirect: anywhere else it refuses
// before the request leaves, because the server can only refuse a
// secret after it crossed the network in clear.
type Client struct {
	// URL is the server's base URL ("http://127.0.0.1:9000"); Prefix is
	// appended.
	URL string
	// Token is an admin token.
	Token string
	// RootUser and RootSecret are the root credentials.
	RootUser, RootSecret string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// Do sends a request to path (below Prefix, e.g. "/users") with in
// encoded as JSON (nil: no body; []byte: sent as is) and decodes a JSON
// response into out (nil: discarded). A failed request returns *Error.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.Open(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin: decode %s %s response: %w", method, path, err)
	}
	return nil
}

// Open sends a request like Do and returns the successful response for
// the caller to read (streams such as /audit/export); the caller closes
// its body.
func (c *Client) Open(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("admin: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+Prefix+path, body)
	if err != nil {
		return nil, fmt.Errorf("admin: request: %w", err)
	}
	withCreds := c.RootUser != "" || c.Token != ""
	if withCreds && !safeForCredentials(req.URL) {
		return nil, errCleartext(req.URL)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.RootUser != "":
		req.SetBasicAuth(c.RootUser, c.RootSecret)
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	if withCreds {
		// net/http keeps Authorization across a redirect to the same
		// host, https:// to http:// included: check every hop too.
		guarded := *hc
		next := hc.CheckRedirect
		guarded.CheckRedirect = func(r *http.Request, via []*http.Request) error {
			if !safeForCredentials(r.URL) {
				return errCleartext(r.URL)
			}
			if next != nil {
				return next(r, via)
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		}
		hc = &guarded
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(b))
		}
		return nil, e
	}
	return resp, nil
}

// safeForCredentials reports whether credentials may be sent to u: over
// TLS, or in clear to a loopback host only, where they never cross a
// network.
func safeForCredentials(u *url.URL) bool {
	if strings.EqualFold(u.Scheme, "https") {
		return true
	}
	if !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	// An address, not a name: "localhost" goes through /etc/hosts and
	// then DNS (with search domains), so it may not be this machine.
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// errCleartext is the error of a request whose credentials would cross
// the network in clear.
func errCleartext(u *url.URL) error {
	return fmt.Errorf("admin: refusing to send credentials in clear text to %s://%s: use an https:// URL "+
		"(plain http:// is allowed to the loopback addresses 127.0.0.0/8 and ::1 only, not to a name such as localhost)", u.Scheme, u.Host)
}
