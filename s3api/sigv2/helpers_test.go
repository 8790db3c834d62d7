package sigv2

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example credentials of the AWS documentation.
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// verifierAt is a Verifier that knows the example key and whose clock
// stands at now.
func verifierAt(now time.Time) *Verifier {
	return &Verifier{
		Secret: func(k string) (string, bool) {
			if k == exampleAccessKey {
				return exampleSecret, true
			}
			return "", false
		},
		Now: func() time.Time { return now },
	}
}

// readRequest parses a raw HTTP/1.1 request head as the server would
// (RequestURI, Host and headers as on the wire). Lines are joined with
// CRLF; the body, if any, is not part of the text.
func readRequest(t testing.TB, lines ...string) *http.Request {
	t.Helper()
	raw := strings.Join(lines, "\r\n") + "\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("parse request: %v", err)
	}
	return r
}

// firstStringToSign is the string to sign of r's first candidate reading.
func firstStringToSign(r *http.Request, presigned bool, hostBucket string) string {
	q := parseQuery(r.URL.RawQuery)
	var f form
	switch {
	case presigned:
		for _, p := range q {
			if p.Key == "Expires" {
				f.dateLine = p.Value
			}
		}
		f.presigned = true
	case r.Header.Get("X-Amz-Date") == "":
		f.dateLine = r.Header.Get("Date")
	}
	f.hostBucket = hostBucket
	f.path = resourcePaths(r)[0]
	return stringToSign(r, q, f)
}
