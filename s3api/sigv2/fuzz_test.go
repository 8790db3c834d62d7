package sigv2

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// knownSentinel reports whether err wraps one of the package's sentinels.
func knownSentinel(err error) bool {
	for _, s := range []error{ErrMissingAuth, ErrAuthorizationHeaderMalformed, ErrSignatureDoesNotMatch,
		ErrInvalidAccessKeyID, ErrRequestTimeTooSkewed, ErrExpiredPresign, ErrMalformedPresign,
		ErrMissingDate, ErrUnsupportedPayload} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzAuthorization: any Authorization header parses or fails with a
// sentinel, what parses re-serializes to the same parts, and Verify
// returns exactly one of an Auth and an error, never one that repeats the
// secret.
func FuzzAuthorization(f *testing.F) {
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", "Tue, 27 Mar 2007 19:36:42 +0000")
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "Tue, 27 Mar 2007 19:36:42 GMT")
	f.Add("AWS a:b:c", "20070327T193642Z")
	f.Add("AWS :", "")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request", "x")
	f.Add("AWS "+strings.Repeat("k", 200)+":"+strings.Repeat("=", 80), "Mon, 02 Jan 2006 15:04:05 MST")
	f.Add("", "")
	at, _ := parseTime("Tue, 27 Mar 2007 19:36:42 +0000")
	v := verifierAt(at)
	f.Fuzz(func(t *testing.T, h, date string) {
		key, sig, err := parseAuthorization(h)
		if err == nil {
			k2, s2, err := parseAuthorization("AWS " + key + ":" + sig)
			if err != nil || k2 != key || s2 != sig {
				t.Fatalf("re-parse of %q: %q %q %v", h, k2, s2, err)
			}
		} else if !errors.Is(err, ErrAuthorizationHeaderMalformed) {
			t.Fatalf("parse error without the sentinel: %v", err)
		}
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/photos/puppy.jpg"}, Host: "johnsmith.s3.amazonaws.com",
			Header: http.Header{"Authorization": {h}, "Date": {date}}}
		auth, err := v.Verify(r, "johnsmith")
		if (auth == nil) == (err == nil) {
			t.Fatalf("Verify returned auth %v and err %v", auth, err)
		}
		if err != nil {
			if !knownSentinel(err) {
				t.Fatalf("Verify error without a sentinel: %v", err)
			}
			if strings.Contains(err.Error(), exampleSecret) {
				t.Fatalf("error repeats the secret: %v", err)
			}
		}
	})
}

// FuzzPresignedQuery: any query string, as the presigned parameters or
// around them, never panics, fails with a sentinel, and a URL that
// PresignRequest signed still verifies with the fuzzed parameters in
// front of it.
func FuzzPresignedQuery(f *testing.F) {
	f.Add("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620")
	f.Add("AWSAccessKeyId=a&AWSAccessKeyId=b&Expires=&Signature=%zz")
	f.Add("Signature=+++&Expires=99999999999999999999")
	f.Add("uploads&uploadId=1&partNumber=%E2%82%AC&response-content-type=a%2Bb&x-amz-acl=private")
	f.Add("=&&==&%")
	f.Add("")
	now := time.Unix(1175139000, 0)
	v := verifierAt(now)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/photos/puppy.jpg", RawQuery: rawQuery},
			Host: "johnsmith.s3.amazonaws.com", Header: http.Header{}}
		auth, err := v.Verify(r, "johnsmith")
		if (auth == nil) == (err == nil) {
			t.Fatalf("Verify returned auth %v and err %v", auth, err)
		}
		if err != nil && !knownSentinel(err) {
			t.Fatalf("Verify error without a sentinel: %v", err)
		}
		for _, p := range parseQuery(rawQuery) {
			switch p.Key {
			case "AWSAccessKeyId", "Expires", "Signature":
				return
			}
		}
		if err := PresignRequest(r, exampleAccessKey, exampleSecret, "johnsmith", now.Add(time.Hour)); err != nil {
			t.Fatalf("PresignRequest: %v", err)
		}
		if _, err := v.Verify(r, "johnsmith"); err != nil {
			t.Fatalf("Verify of a URL PresignRequest signed (query %q): %v", rawQuery, err)
		}
	})
}

// FuzzStringToSign: arbitrary methods, paths, queries and headers never
// panic, and whatever SignRequest signs, Verify accepts.
func FuzzStringToSign(f *testing.F) {
	f.Add("GET", "/bucket/key", "versionId=1", "X-Amz-Meta-A", "b")
	f.Add("PUT", "/bucket/a b+c/€/日本//x", "uploadId=2&partNumber=1&uploads&=&==", "X-Amz-Meta-A", "  x \r\n  y ")
	f.Add("POST", "", "delete", "Content-Type", "")
	f.Add("DELETE", "/%", "%zz=%", "x", "\t")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := verifierAt(now)
	f.Fuzz(func(t *testing.T, method, path, rawQuery, name, value string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Host: "localhost:9000", Header: http.Header{}}
		if name != "" && !strings.ContainsAny(name, " :\r\n") {
			r.Header[name] = []string{value}
		}
		_ = firstStringToSign(r, false, "b")
		for _, p := range parseQuery(rawQuery) {
			switch p.Key {
			case "AWSAccessKeyId", "Expires", "Signature":
				return
			}
		}
		if strings.EqualFold(name, "x-amz-content-sha256") || strings.EqualFold(name, "x-amz-date") || strings.EqualFold(name, "authorization") {
			return
		}
		if err := SignRequest(r, exampleAccessKey, exampleSecret, "", now); err != nil {
			t.Fatalf("SignRequest: %v", err)
		}
		if _, err := v.Verify(r, ""); err != nil {
			t.Fatalf("Verify of a request SignRequest signed: %v\n%s %q ? %q, %q: %q", err, method, path, rawQuery, name, value)
		}
	})
}
