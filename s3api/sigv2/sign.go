package sigv2

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SignRequest signs r with header authentication, as a SigV2 client would:
// it sets Date to t (unless r has x-amz-date, which then stands for it) and
// Authorization, signing r's path as it will be sent (r.URL.EscapedPath),
// its sub-resources and its x-amz-* headers. hostBucket is the bucket
// named by the Host header in virtual-host style, "" for path style.
func SignRequest(r *http.Request, accessKey, secret, hostBucket string, t time.Time) error {
	if err := checkSignArgs(r, accessKey, secret); err != nil {
		return err
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Del("Authorization")
	dateLine := ""
	if r.Header.Get("X-Amz-Date") == "" {
		dateLine = t.UTC().Format(http.TimeFormat)
		r.Header.Set("Date", dateLine)
	}
	sig := sign(secret, stringToSign(r, parseQuery(r.URL.RawQuery), form{dateLine: dateLine, hostBucket: hostBucket, path: sentPath(r.URL)}))
	r.Header.Set("Authorization", "AWS "+accessKey+":"+base64.StdEncoding.EncodeToString(sig[:]))
	return nil
}

// PresignRequest turns r into a presigned URL valid until expires: it adds
// AWSAccessKeyId, Expires and Signature to r.URL's query (after the
// parameters already there). Headers in r that are signed (x-amz-*,
// Content-MD5, Content-Type) must be sent with the URL.
func PresignRequest(r *http.Request, accessKey, secret, hostBucket string, expires time.Time) error {
	if err := checkSignArgs(r, accessKey, secret); err != nil {
		return err
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	// Header stand-ins already in the query are signed as the headers
	// the server will make of them (PromoteQueryHeaders).
	signed := *r
	signed.Header = r.Header.Clone()
	if err := promote(&signed); err != nil {
		return err
	}
	sig := sign(secret, stringToSign(&signed, parseQuery(r.URL.RawQuery), form{presigned: true, dateLine: exp, hostBucket: hostBucket, path: sentPath(r.URL)}))
	add := url.Values{
		"AWSAccessKeyId": {accessKey},
		"Expires":        {exp},
		"Signature":      {base64.StdEncoding.EncodeToString(sig[:])},
	}.Encode()
	if r.URL.RawQuery != "" {
		r.URL.RawQuery += "&" + add
	} else {
		r.URL.RawQuery = add
	}
	return nil
}

func checkSignArgs(r *http.Request, accessKey, secret string) error {
	switch {
	case r == nil || r.URL == nil:
		return errors.New("sigv2: sign: nil request or URL")
	case accessKey == "" || secret == "":
		return errors.New("sigv2: sign: empty access key or secret")
	}
	return nil
}

func sentPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}
