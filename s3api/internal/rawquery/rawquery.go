// Package rawquery splits a request's raw query string into decoded
// pairs the way both signature verifiers (s3api/sigv2, s3api/sigv4) must
// read it: in the order sent, keeping repeated keys, empty values and
// keys without '='. url.ParseQuery gives a map, which loses the order
// and the difference between "a" and "a=", both of which a signature
// covers.
package rawquery

import (
	"net/url"
	"strings"
)

// Pair is one decoded query parameter.
type Pair struct{ Key, Value string }

// Parse splits raw into decoded pairs, in order. '+' decodes to a space
// (form encoding, as S3 and minio-go read it). A malformed escape is kept
// literally: the request then fails to match a signature instead of being
// refused for a reason the client cannot see (s3api refuses queries
// url.ParseQuery rejects before any verifier runs).
func Parse(raw string) []Pair {
	if raw == "" {
		return nil
	}
	pairs := make([]Pair, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		pairs = append(pairs, Pair{Unescape(k), Unescape(v)})
	}
	return pairs
}

// Unescape decodes one query component, returning s itself when it holds
// nothing to decode or a malformed escape.
func Unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}
