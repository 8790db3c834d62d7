package sigv4

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// leaveUnsigned reports the headers SignRequest leaves out when it signs
// "every header": proxies and transports rewrite them.
func leaveUnsigned(name string) bool {
	switch name {
	case "authorization", "user-agent", "accept-encoding", "connection", "expect":
		return true
	}
	return false
}

// SignRequest signs r with header authentication, as an S3 client would: it
// sets X-Amz-Date to t, X-Amz-Content-Sha256 to payloadHash ("" means
// UNSIGNED-PAYLOAD) and Authorization, signing host and every header already
// in r.Header (except Authorization, User-Agent, Accept-Encoding, Connection
// and Expect). The credential scope uses region and service s3.
func SignRequest(r *http.Request, accessKey, secret, region string, t time.Time, payloadHash string) error {
	if r == nil || r.URL == nil {
		return errors.New("sigv4: sign: nil request or URL")
	}
	if err := checkSignArgs(accessKey, secret, region); err != nil {
		return err
	}
	if payloadHash == "" {
		payloadHash = UnsignedPayload
	}
	if err := checkPayloadHash(payloadHash, false); err != nil {
		return fmt.Errorf("sigv4: sign: %w", err)
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	t = t.UTC()
	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", t.Format(iso8601))
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)

	signed := []string{"host"}
	for k := range r.Header {
		k = strings.ToLower(k)
		if !leaveUnsigned(k) && !slices.Contains(signed, k) {
			signed = append(signed, k)
		}
	}
	slices.Sort(signed)

	cred := credential{accessKey: accessKey, date: t.Format(yyyymmdd), region: region}
	key := deriveKey(secret, cred.date, region)
	path := canonicalPaths(r.URL)[0]
	creq := canonicalRequest(r, path, canonicalQuery(parseQuery(r.URL.RawQuery), ""), signed, payloadHash)
	sig := signString(key, t.Format(iso8601), cred.scope(), creq)
	r.Header.Set("Authorization", algorithm+" Credential="+accessKey+"/"+cred.scope()+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+hex.EncodeToString(sig[:]))
	return nil
}

// PresignURL returns u presigned for method at time t, valid for expires
// (whole seconds, 1s..7 days), signing only the host header and
// UNSIGNED-PAYLOAD, as S3 SDKs do. u must be absolute and must not already
// carry presign parameters; its other query parameters are signed too.
func PresignURL(method string, u *url.URL, accessKey, secret, region string, t time.Time, expires time.Duration) (string, error) {
	if u == nil || u.Host == "" {
		return "", errors.New("sigv4: presign: URL has no host")
	}
	if err := checkSignArgs(accessKey, secret, region); err != nil {
		return "", err
	}
	secs := int64(expires / time.Second)
	if expires%time.Second != 0 || secs < 1 || secs > maxPresignExpires {
		return "", fmt.Errorf("sigv4: presign: expiry %s: %w", expires, ErrInvalidExpires)
	}
	query := parseQuery(u.RawQuery)
	if hasPresignParams(query) {
		return "", errors.New("sigv4: presign: URL already carries presign parameters")
	}
	t = t.UTC()
	cred := credential{accessKey: accessKey, date: t.Format(yyyymmdd), region: region}
	query = append(query,
		queryPair{Key: "X-Amz-Algorithm", Value: algorithm},
		queryPair{Key: "X-Amz-Credential", Value: accessKey + "/" + cred.scope()},
		queryPair{Key: "X-Amz-Date", Value: t.Format(iso8601)},
		queryPair{Key: "X-Amz-Expires", Value: strconv.FormatInt(secs, 10)},
		queryPair{Key: "X-Amz-SignedHeaders", Value: "host"},
	)
	out := *u
	if out.Path == "" {
		out.Path = "/"
	}
	out.RawQuery = canonicalQuery(query, "")
	// Carry the path in exactly its canonical encoding, so that the URL on
	// the wire and the signed canonical URI are the same bytes.
	path := canonicalPaths(&out)[0]
	if path != out.Path {
		out.RawPath = path
	}
	req := &http.Request{Method: method, URL: &out, Host: u.Host, Header: http.Header{}}
	creq := canonicalRequest(req, path, out.RawQuery, []string{"host"}, UnsignedPayload)
	sig := signString(deriveKey(secret, cred.date, region), t.Format(iso8601), cred.scope(), creq)
	out.RawQuery += "&X-Amz-Signature=" + hex.EncodeToString(sig[:])
	return out.String(), nil
}

func checkSignArgs(accessKey, secret, region string) error {
	switch {
	case accessKey == "":
		return errors.New("sigv4: sign: empty access key")
	case secret == "":
		return errors.New("sigv4: sign: empty secret key")
	case region == "" || strings.Contains(region, "/"):
		return errors.New("sigv4: sign: empty or invalid region")
	}
	return nil
}
