package s3api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/iam"
)

// postForm is a hand-built POST Object form. fields go in order, then
// the file (unless noFile), then after.
type postForm struct {
	fields   [][2]string
	fileName string
	fileData []byte
	noFile   bool
	after    [][2]string
}

func (f postForm) encode(t *testing.T) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range f.fields {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if !f.noFile {
		fw, err := w.CreateFormFile("file", f.fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(f.fileData)
	}
	for _, kv := range f.after {
		w.WriteField(kv[0], kv[1])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// signedPostFields returns the authentication fields for a policy with
// the given conditions, signed with the test credentials.
func signedPostFields(t *testing.T, expiration time.Time, conds []any, secret string) [][2]string {
	t.Helper()
	return signedPostFieldsIn(t, testRegion, expiration, conds, secret)
}

// signedPostFieldsIn is signedPostFields with the credential scope of
// region.
func signedPostFieldsIn(t *testing.T, region string, expiration time.Time, conds []any, secret string) [][2]string {
	t.Helper()
	now := time.Now().UTC()
	cred := testAccessKey + "/" + now.Format("20060102") + "/" + region + "/s3/aws4_request"
	amzDate := now.Format(postDateFormat)
	conds = append(conds,
		[]string{"eq", "$x-amz-algorithm", "AWS4-HMAC-SHA256"},
		[]string{"eq", "$x-amz-credential", cred},
		[]string{"eq", "$x-amz-date", amzDate})
	doc, err := json.Marshal(map[string]any{"expiration": expiration.UTC().Format(s3TimeFormat), "conditions": conds})
	if err != nil {
		t.Fatal(err)
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	key := []byte("AWS4" + secret)
	for _, p := range []string{now.Format("20060102"), region, "s3", "aws4_request", policy} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(p))
		key = m.Sum(nil)
	}
	return [][2]string{
		{"policy", policy},
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", cred},
		{"x-amz-date", amzDate},
		{"x-amz-signature", hex.EncodeToString(key)},
	}
}

func (e *testEnv) post(t *testing.T, bucket string, f postForm) (*http.Response, []byte) {
	t.Helper()
	return e.postWith(t, "/"+bucket, f, nil)
}

// postWith posts form f to path (which may carry a query) with the extra
// request headers hdr.
func (e *testEnv) postWith(t *testing.T, path string, f postForm, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	body, ct := f.encode(t)
	req, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, hdr)
	req.Header.Set("Content-Type", ct)
	// Never follow a redirect: the 303's target is not ours to visit.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestPostObjectMinioGo is the browser upload as minio-go builds it,
// which is an independent implementation of the policy signature.
func TestPostObjectMinioGo(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("forms")
	data := randomBytes(t, 21, 5000)
	p := minio.NewPostPolicy()
	p.SetBucket("forms")
	p.SetKey("up/loaded.bin")
	p.SetExpires(time.Now().Add(time.Hour))
	p.SetContentType("application/x-test")
	p.SetContentLengthRange(10, 1<<20)
	p.SetUserMetadata("origin", "browser")
	u, fields, err := e.client.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var form postForm
	for k, v := range fields {
		form.fields = append(form.fields, [2]string{k, v})
	}
	form.fileName, form.fileData = "local.bin", data
	body, ct := form.encode(t)
	resp, err := http.Post(u.String(), ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != e.srv.URL+"/forms/up/loaded.bin" {
		t.Fatalf("Location %q", loc)
	}
	if et := resp.Header.Get("ETag"); et != `"`+md5hex(data)+`"` {
		t.Fatalf("ETag %q", et)
	}
	o := e.store.buckets["forms"].objects["up/loaded.bin"]
	if o == nil || !bytes.Equal(o.data, data) {
		t.Fatal("object not stored as sent")
	}
	if o.info.Metadata["content-type"] != "application/x-test" || o.info.Metadata["x-amz-meta-origin"] != "browser" {
		t.Fatalf("metadata %v", o.info.Metadata)
	}
}

// TestPostObjectV2 is the browser upload as minio-go builds it with
// Signature Version 2 credentials (AWSAccessKeyId, policy, signature),
// then the ways such a form is refused.
func TestPostObjectV2(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("forms")
	data := randomBytes(t, 22, 3000)
	p := minio.NewPostPolicy()
	p.SetBucket("forms")
	p.SetKey("v2/loaded.bin")
	p.SetExpires(time.Now().Add(time.Hour))
	p.SetContentLengthRange(1, 1<<20)
	u, fields, err := e.newV2Client(testAccessKey, testSecretKey).PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if fields["AWSAccessKeyId"] != testAccessKey || fields["signature"] == "" || fields["x-amz-signature"] != "" {
		t.Fatalf("minio-go did not build a SigV2 form: %v", fields)
	}
	form := func(change func(map[string]string)) postForm {
		m := maps.Clone(fields)
		if change != nil {
			change(m)
		}
		var f postForm
		for k, v := range m {
			f.fields = append(f.fields, [2]string{k, v})
		}
		f.fileName, f.fileData = "local.bin", data
		return f
	}
	if strings.TrimSuffix(u.Path, "/") != "/forms" {
		t.Fatalf("form URL %s", u)
	}
	resp, body := e.post(t, "forms", form(nil))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if o := e.store.buckets["forms"].objects["v2/loaded.bin"]; o == nil || !bytes.Equal(o.data, data) {
		t.Fatal("object not stored as sent")
	}

	otherPolicy := base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2100-01-01T00:00:00.000Z","conditions":[["starts-with","$key",""]]}`))
	expired := base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2001-01-01T00:00:00.000Z","conditions":[]}`))
	signV2 := func(policy string) string {
		m := hmac.New(sha1.New, []byte(testSecretKey))
		m.Write([]byte(policy))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name   string
		change func(map[string]string)
		status int
		code   string
	}{
		{"policy swapped", func(m map[string]string) { m["policy"] = otherPolicy }, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"signature of another policy", func(m map[string]string) { m["signature"] = signV2(otherPolicy) }, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"signature not base64", func(m map[string]string) { m["signature"] = "not base64!" }, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"unknown access key", func(m map[string]string) { m["AWSAccessKeyId"] = "NOSUCHKEY" }, http.StatusForbidden, "InvalidAccessKeyId"},
		{"no signature", func(m map[string]string) { delete(m, "signature") }, http.StatusBadRequest, "InvalidArgument"},
		{"no access key", func(m map[string]string) { delete(m, "AWSAccessKeyId") }, http.StatusBadRequest, "InvalidArgument"},
		{"SigV4 fields too", func(m map[string]string) { m["x-amz-signature"] = "00" }, http.StatusBadRequest, "InvalidRequest"},
		{"expired", func(m map[string]string) { m["policy"], m["signature"] = expired, signV2(expired) }, http.StatusForbidden, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form(tt.change)
			for i := range f.fields {
				if f.fields[i][0] == "key" {
					f.fields[i][1] = "v2/refused"
				}
			}
			resp, body := e.post(t, "forms", f)
			wantError(t, resp, body, tt.status, tt.code)
			if e.store.buckets["forms"].objects["v2/refused"] != nil {
				t.Fatal("a refused form stored its object")
			}
		})
	}
}

func TestPostObject(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("forms")
	data := randomBytes(t, 22, 3000)
	future := time.Now().Add(time.Hour)
	base := []any{map[string]string{"bucket": "forms"}, []any{"content-length-range", 100, 10000}}
	with := func(conds ...any) []any { return append(append([]any{}, base...), conds...) }

	tests := []struct {
		name      string
		conds     []any
		expires   time.Time
		secret    string      // signing secret; default the right one
		fields    [][2]string // after the auth fields
		file      []byte
		fileName  string
		noFile    bool
		status    int
		code      string
		message   string // substring of the error message
		storedKey string // key that must hold file afterwards
	}{
		{name: "default 204", conds: with([]string{"eq", "$key", "a"}), fields: [][2]string{{"key", "a"}},
			status: http.StatusNoContent, storedKey: "a"},
		{name: "status 201 document", conds: with([]string{"eq", "$key", "b"}, []string{"eq", "$success_action_status", "201"}),
			fields: [][2]string{{"key", "b"}, {"success_action_status", "201"}}, status: http.StatusCreated, storedKey: "b"},
		{name: "status 200", conds: with([]string{"eq", "$key", "c"}, []string{"eq", "$success_action_status", "200"}),
			fields: [][2]string{{"key", "c"}, {"success_action_status", "200"}}, status: http.StatusOK, storedKey: "c"},
		{name: "redirect 303", conds: with([]string{"eq", "$key", "d"}, []string{"starts-with", "$success_action_redirect", "https://example.test/"}),
			fields: [][2]string{{"key", "d"}, {"success_action_redirect", "https://example.test/done"}}, status: http.StatusSeeOther, storedKey: "d"},
		{name: "filename substitution", conds: with([]string{"starts-with", "$key", "user/"}),
			fields: [][2]string{{"key", "user/${filename}"}}, fileName: "photo.jpg", status: http.StatusNoContent, storedKey: "user/photo.jpg"},
		{name: "field case and starts-with", conds: with([]string{"eq", "$key", "e"}, []string{"starts-with", "$Content-Type", "image/"}),
			fields: [][2]string{{"key", "e"}, {"Content-Type", "image/png"}}, status: http.StatusNoContent, storedKey: "e"},
		{name: "wrong signature", conds: with([]string{"eq", "$key", "f"}), secret: "not-the-secret",
			fields: [][2]string{{"key", "f"}}, status: http.StatusForbidden, code: "SignatureDoesNotMatch"},
		{name: "expired", conds: with([]string{"eq", "$key", "g"}), expires: time.Now().Add(-time.Minute),
			fields: [][2]string{{"key", "g"}}, status: http.StatusForbidden, code: "AccessDenied", message: "Policy expired"},
		{name: "condition fails", conds: with([]string{"eq", "$key", "h"}),
			fields: [][2]string{{"key", "other"}}, status: http.StatusForbidden, code: "AccessDenied", message: "Policy Condition failed: [eq, $key, h]"},
		{name: "bucket condition fails", conds: []any{map[string]string{"bucket": "elsewhere"}, []string{"eq", "$key", "i"}},
			fields: [][2]string{{"key", "i"}}, status: http.StatusForbidden, code: "AccessDenied", message: "$bucket"},
		{name: "field not in policy", conds: with([]string{"eq", "$key", "j"}),
			fields: [][2]string{{"key", "j"}, {"x-amz-meta-sneaky", "1"}}, status: http.StatusForbidden, code: "AccessDenied", message: "Extra input fields: x-amz-meta-sneaky"},
		{name: "x-ignore fields are free", conds: with([]string{"eq", "$key", "k"}),
			fields: [][2]string{{"key", "k"}, {"x-ignore-note", "1"}}, status: http.StatusNoContent, storedKey: "k"},
		{name: "too large", conds: with([]string{"eq", "$key", "l"}), file: randomBytes(t, 23, 10001),
			fields: [][2]string{{"key", "l"}}, status: http.StatusBadRequest, code: "EntityTooLarge"},
		{name: "too small", conds: with([]string{"eq", "$key", "m"}), file: []byte("tiny"),
			fields: [][2]string{{"key", "m"}}, status: http.StatusBadRequest, code: "EntityTooSmall"},
		{name: "no key", conds: with(), status: http.StatusBadRequest, code: "InvalidArgument"},
		{name: "no file", conds: with([]string{"eq", "$key", "n"}), fields: [][2]string{{"key", "n"}}, noFile: true,
			status: http.StatusBadRequest, code: "InvalidArgument"},
		{name: "duplicate field", conds: with([]string{"eq", "$key", "o"}), fields: [][2]string{{"key", "o"}, {"key", "o2"}},
			status: http.StatusBadRequest, code: "InvalidArgument"},
		// Form fields pass the same write-header checks as a PUT's.
		{name: "unsupported header field refused", conds: with([]string{"eq", "$key", "p"}, []string{"eq", "$x-amz-object-lock-legal-hold", "ON"}),
			fields: [][2]string{{"key", "p"}, {"x-amz-object-lock-legal-hold", "ON"}}, status: http.StatusNotImplemented, code: "NotImplemented"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp, secret, file := tc.expires, tc.secret, tc.file
			if exp.IsZero() {
				exp = future
			}
			if secret == "" {
				secret = testSecretKey
			}
			if file == nil {
				file = data
			}
			form := postForm{
				fields:   append(signedPostFields(t, exp, tc.conds, secret), tc.fields...),
				fileName: tc.fileName, fileData: file, noFile: tc.noFile,
				// Fields after the file are ignored, whatever they say.
				after: [][2]string{{"key", "after-the-file"}},
			}
			resp, body := e.post(t, "forms", form)
			if tc.code != "" {
				wantError(t, resp, body, tc.status, tc.code)
				if !strings.Contains(string(body), xmlEscaped(tc.message)) {
					t.Fatalf("message lacks %q: %s", tc.message, body)
				}
				if e.store.buckets["forms"].objects["after-the-file"] != nil {
					t.Fatal("a field after the file was used")
				}
				return
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			o := e.store.buckets["forms"].objects[tc.storedKey]
			if o == nil || !bytes.Equal(o.data, file) {
				t.Fatalf("%q not stored as sent", tc.storedKey)
			}
			switch tc.status {
			case http.StatusCreated:
				var pr postResponse
				if err := xml.Unmarshal(body, &pr); err != nil || pr.Key != tc.storedKey || pr.Bucket != "forms" || pr.ETag != `"`+md5hex(file)+`"` {
					t.Fatalf("PostResponse %+v (%v) from %s", pr, err, body)
				}
			case http.StatusSeeOther:
				u, err := url.Parse(resp.Header.Get("Location"))
				if err != nil || u.Host != "example.test" || u.Query().Get("key") != tc.storedKey || u.Query().Get("bucket") != "forms" {
					t.Fatalf("redirect Location %q", resp.Header.Get("Location"))
				}
			}
		})
	}

	t.Run("anonymous", func(t *testing.T) {
		resp, body := e.post(t, "forms", postForm{fields: [][2]string{{"key", "anon"}}, fileData: data})
		wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
	})
	t.Run("not a form", func(t *testing.T) {
		resp, err := http.Post(e.srv.URL+"/forms", "application/octet-stream", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, http.StatusBadRequest, "MalformedPOSTRequest")
	})
	t.Run("unnamed part", func(t *testing.T) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		fw, _ := w.CreateFormFile("", "x.bin")
		fw.Write(data)
		w.Close()
		resp, err := http.Post(e.srv.URL+"/forms", w.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, http.StatusBadRequest, "MalformedPOSTRequest")
	})
	t.Run("oversized fields", func(t *testing.T) {
		resp, body := e.post(t, "forms", postForm{fields: [][2]string{{"x-ignore-pad", strings.Repeat("p", maxPostFieldsBytes)}}, fileData: data})
		wantError(t, resp, body, http.StatusBadRequest, "MaxPostPreDataLengthExceeded")
	})
}

// TestPostObjectPreData: everything a form sends before its file, the
// part headers and boundaries included, is bounded in bytes
// (maxPostPreDataBytes) and in time (SmallBodyTimeout): the form is read
// before anyone's signature is checked. Before, only field names and
// values counted, so a part could carry 10 MiB of headers, which
// mime/multipart kept in memory for as long as the client trickled the
// rest.
func TestPostObjectPreData(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("forms")
	// raw is a form with the given parts before an empty file part.
	raw := func(parts ...string) []byte {
		var b bytes.Buffer
		for _, p := range parts {
			b.WriteString("--B\r\n" + p + "\r\n")
		}
		b.WriteString("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nx\r\n--B--\r\n")
		return b.Bytes()
	}
	post := func(t *testing.T, body []byte) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Post(e.srv.URL+"/forms", "multipart/form-data; boundary=B", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}
	var manyHeaders strings.Builder
	manyHeaders.WriteString("Content-Disposition: form-data; name=\"x-ignore-a\"\r\n")
	for i := range 3000 {
		fmt.Fprintf(&manyHeaders, "X-Pad-%d: aaaaaaaaaaaaaaaaaaaaaaaa\r\n", i)
	}
	manyHeaders.WriteString("\r\nv")
	var manyFields []string
	for i := range 2000 {
		manyFields = append(manyFields, fmt.Sprintf("Content-Disposition: form-data; name=\"x-ignore-%d\"\r\n\r\n", i))
	}
	tests := []struct {
		name string
		body []byte
	}{
		{"part headers", raw(manyHeaders.String())},
		{"many empty fields", raw(manyFields...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, tt.body)
			wantError(t, resp, body, http.StatusBadRequest, "MaxPostPreDataLengthExceeded")
			if !strings.Contains(string(body), "Your POST request fields preceeding the upload file was too large.") {
				t.Fatalf("message: %s", body)
			}
		})
	}

	t.Run("a signed form near the field budget still passes", func(t *testing.T) {
		conds := []any{map[string]string{"bucket": "forms"}, []string{"eq", "$key", "big"}}
		form := postForm{
			fields:   append(signedPostFields(t, time.Now().Add(time.Hour), conds, testSecretKey), [2]string{"key", "big"}, [2]string{"x-ignore-pad", strings.Repeat("p", 60<<10)}),
			fileData: []byte("file"),
		}
		resp, body := e.post(t, "forms", form)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})

	t.Run("fields sent slowly", func(t *testing.T) {
		// Half a field, then nothing: each read would wait an hour, the
		// fields as a whole get 200 ms.
		se := newSlotEnv(t, Config{StallTimeout: time.Hour, SmallBodyTimeout: 200 * time.Millisecond})
		c := se.dial(t)
		head := se.head(t, "POST", "/slots", "", "", 1<<20, map[string]string{"Content-Type": "multipart/form-data; boundary=B"})
		if _, err := c.Write(append(head, "--B\r\nContent-Disposition: form-data; name=\"key\"\r\n"...)); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, c, "POST")
		wantCodeIn(t, resp, body, http.StatusBadRequest, "RequestTimeout")
	})
}

// xmlEscaped is s as encoding/xml writes it in character data.
func xmlEscaped(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func TestParsePostPolicy(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr bool
		conds   int
		min     int64
		max     int64
	}{
		{name: "minimal", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[]}`, max: -1},
		{name: "all forms", doc: `{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["EQ","$Content-Type","t"],["content-length-range","1",2]]}`,
			conds: 3, min: 1, max: 2},
		{name: "object with two pairs", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b","key":"k"}]}`, conds: 2, max: -1},
		{name: "not JSON", doc: `expiration`, wantErr: true},
		{name: "no expiration", doc: `{"conditions":[]}`, wantErr: true},
		{name: "bad expiration", doc: `{"expiration":"tomorrow","conditions":[]}`, wantErr: true},
		{name: "unknown operator", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[["ends-with","$key","x"]]}`, wantErr: true},
		{name: "field without $", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","x"]]}`, wantErr: true},
		{name: "two elements", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","$key"]]}`, wantErr: true},
		{name: "inverted range", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",5,1]]}`, wantErr: true},
		{name: "negative range", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",-1,1]]}`, wantErr: true},
		{name: "non-string value", doc: `{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":1}]}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePostPolicy([]byte(tc.doc))
			if tc.wantErr {
				if !errors.Is(err, errInvalidPolicyDocument) {
					t.Fatalf("err %v, want InvalidPolicyDocument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.conds) != tc.conds || p.minSize != tc.min || p.maxSize != tc.max {
				t.Fatalf("policy %+v", p)
			}
		})
	}
}

// FuzzParsePostPolicy: any policy document parses or fails cleanly, and
// a parsed one checks any form without panicking.
func FuzzParsePostPolicy(f *testing.F) {
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range",1,2]]}`))
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","$x-amz-meta-a","v"],{"key":"k"}]}`))
	f.Add([]byte(`{"conditions":[[]]}`))
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range","9999999999999999999999",1]]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := parsePostPolicy(doc)
		if err != nil {
			if _, known := apiErrorFor(err); !known {
				t.Fatalf("error outside the table: %v", err)
			}
			return
		}
		fields := map[string]string{"key": string(doc), "bucket": "b", "x-amz-meta-a": "v"}
		if err := p.check(fields, "b"); err != nil && !errors.Is(err, errPolicyViolation) {
			t.Fatalf("check: %v", err)
		}
	})
}

// FuzzReadPostFields: any body under a fixed boundary yields fields and
// a file part, or an error from the table; never a panic.
func FuzzReadPostFields(f *testing.F) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.SetBoundary("fuzzboundary")
	w.WriteField("key", "k")
	fw, _ := w.CreateFormFile("file", "f")
	fw.Write([]byte("data"))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--fuzzboundary--\r\n"))
	f.Add([]byte("--fuzzboundary--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		pre := &preDataReader{r: bytes.NewReader(body), max: maxPostPreDataBytes}
		fields, file, err := readPostFields(multipart.NewReader(pre, "fuzzboundary"), pre)
		pre.lift()
		if err != nil {
			if _, known := apiErrorFor(err); !known {
				t.Fatalf("error outside the table: %v", err)
			}
			return
		}
		if file == nil || fields == nil {
			t.Fatal("no error and no file")
		}
		_, _ = io.Copy(io.Discard, file)
	})
}

// TestPostPolicyProperty: for random forms and random eq/starts-with
// conditions built from them, check agrees with a direct evaluation.
func TestPostPolicyProperty(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	word := func() string {
		b := make([]byte, rng.Intn(4))
		for i := range b {
			b[i] = "ab/$"[rng.Intn(4)]
		}
		return string(b)
	}
	for i := 0; i < 2000; i++ {
		fields := map[string]string{"key": word(), "x-amz-meta-m": word()}
		p := &postPolicy{maxSize: -1}
		want := true
		for name, v := range fields {
			op, val := "eq", word()
			if rng.Intn(2) == 0 {
				op = "starts-with"
			}
			ok := v == val
			if op == "starts-with" {
				ok = strings.HasPrefix(v, val)
			}
			want = want && ok
			p.conds = append(p.conds, policyCond{op: op, field: name, value: val, text: policyText(op, "$"+name, val)})
		}
		err := p.check(fields, "b")
		if (err == nil) != want {
			t.Fatalf("fields %v conds %+v: err %v, want ok=%v", fields, p.conds, err, want)
		}
	}
}

// formUserPolicies gives IAM users their policies in the form tests.
type formUserPolicies map[string][]iam.NamedPolicy

func (r formUserPolicies) UserPolicies(u string) ([]iam.NamedPolicy, bool) {
	p, ok := r[u]
	return p, ok
}

func (r formUserPolicies) UserCreated(string) time.Time { return time.Time{} }

// newAliceEnv is a Handler over a fakeStore with a bucket "ident" in
// which the IAM user alice (access key USERKEY, secret user-secret) may
// PutObject, except where denyCondition (an IAM Condition block) holds.
func newAliceEnv(t *testing.T, denyCondition string) *testEnv {
	t.Helper()
	pol, err := iam.ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::ident/*"},
	 {"Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":` + denyCondition + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	h, err := New(Config{
		Store:       store,
		Credentials: func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey },
		Identities:  staticIdentities{"USERKEY": {"user-secret", "alice"}},
		Authorizer:  iam.NewEngine(formUserPolicies{"alice": {{Name: "forms", Policy: pol}}}, iam.EngineOptions{}),
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, srv: httptest.NewServer(h), store: store}
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(testAccessKey, testSecretKey)
	e.mustMakeBucket("ident")
	return e
}

// presignedForm is the form c's PresignedPostPolicy builds for an upload
// of a small file to bucket/key, valid for an hour.
func presignedForm(t *testing.T, c *minio.Client, bucket, key string) postForm {
	t.Helper()
	p := minio.NewPostPolicy()
	p.SetBucket(bucket)
	p.SetKey(key)
	p.SetExpires(time.Now().Add(time.Hour))
	_, fields, err := c.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	f := postForm{fileName: "a", fileData: []byte("uploaded by form")}
	for k, v := range fields {
		f.fields = append(f.fields, [2]string{k, v})
	}
	return f
}

// TestPostObjectConditionKeys checks the condition keys an IAM policy
// sees for a form: s3:signatureversion by the form's signature, and
// s3:authType POST. A form is not a signed request; before these were
// set, a Deny on s3:signatureversion "AWS" stopped alice's SigV2 PUTs
// but not her SigV2 forms (found in review).
func TestPostObjectConditionKeys(t *testing.T) {
	tests := []struct {
		name      string
		condition string
		v2, v4    int // the status of alice's SigV2 and SigV4 forms
	}{
		{"deny SigV2", `{"StringEquals":{"s3:signatureversion":"AWS"}}`, http.StatusForbidden, http.StatusNoContent},
		{"deny SigV4", `{"StringEquals":{"s3:signatureversion":"AWS4-HMAC-SHA256"}}`, http.StatusNoContent, http.StatusForbidden},
		{"deny forms", `{"StringEquals":{"s3:authType":"POST"}}`, http.StatusForbidden, http.StatusForbidden},
		{"deny other auth types", `{"StringNotEquals":{"s3:authType":"POST"}}`, http.StatusNoContent, http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAliceEnv(t, tt.condition)
			for _, c := range []struct {
				client *minio.Client
				key    string
				want   int
			}{
				{e.newV2Client("USERKEY", "user-secret"), "v2", tt.v2},
				{e.newClient("USERKEY", "user-secret"), "v4", tt.v4},
			} {
				resp, body := e.post(t, "ident", presignedForm(t, c.client, "ident", c.key))
				if resp.StatusCode != c.want {
					t.Errorf("%s form: status %d, want %d: %s", c.key, resp.StatusCode, c.want, body)
				}
			}
		})
	}
}

// TestPostObjectSSEConditionFromForm: a policy that denies uploads
// without SSE sees the form's encryption field, never the POST's own
// unsigned header, which the upload does not apply. (Found in review: an
// x-amz-server-side-encryption header passed the Deny and the object
// was stored without SSE.)
func TestPostObjectSSEConditionFromForm(t *testing.T) {
	e := newAliceEnv(t, `{"Null":{"s3:x-amz-server-side-encryption":"true"}}`)
	for _, v2 := range []bool{false, true} {
		c := e.newClient("USERKEY", "user-secret")
		if v2 {
			c = e.newV2Client("USERKEY", "user-secret")
		}
		for _, tt := range []struct {
			name      string
			formSSE   bool
			headerSSE bool
			want      int
		}{
			{"no SSE", false, false, http.StatusForbidden},
			{"SSE only in an unsigned header", false, true, http.StatusForbidden},
			{"SSE in the form", true, false, http.StatusNoContent},
		} {
			f := presignedForm(t, c, "ident", "k")
			if tt.formSSE {
				// minio-go's SetEncryption adds the field but no policy
				// condition for it, so this form is built by hand (SigV2).
				doc, _ := json.Marshal(map[string]any{
					"expiration": time.Now().Add(time.Hour).UTC().Format(s3TimeFormat),
					"conditions": []any{
						map[string]string{"bucket": "ident"}, map[string]string{"key": "k"},
						map[string]string{"x-amz-server-side-encryption": "AES256"},
					},
				})
				policy := base64.StdEncoding.EncodeToString(doc)
				m := hmac.New(sha1.New, []byte("user-secret"))
				m.Write([]byte(policy))
				f.fields = [][2]string{{"key", "k"}, {"AWSAccessKeyId", "USERKEY"}, {"policy", policy},
					{"signature", base64.StdEncoding.EncodeToString(m.Sum(nil))}, {"x-amz-server-side-encryption", "AES256"}}
			}
			hdr := http.Header{}
			if tt.headerSSE {
				hdr.Set("x-amz-server-side-encryption", "AES256")
			}
			resp, b := e.postWith(t, "/ident", f, hdr)
			if resp.StatusCode != tt.want {
				t.Errorf("v2=%t, %s: status %d, want %d: %s", v2, tt.name, resp.StatusCode, tt.want, b)
			}
		}
	}
}

// TestPostObjectVersionIDNotFromQuery: the unsigned query of a form's
// POST cannot answer for s3:VersionId either (found in review: a Deny
// unless a version id is given was passed by ?versionId= on the URL).
func TestPostObjectVersionIDNotFromQuery(t *testing.T) {
	e := newAliceEnv(t, `{"Null":{"s3:VersionId":"true"}}`)
	c := e.newClient("USERKEY", "user-secret")
	for _, q := range []string{"", "?versionId=anything"} {
		resp, b := e.postWith(t, "/ident"+q, presignedForm(t, c, "ident", "k"), nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("query %q: status %d, want 403 (the Deny holds): %.200s", q, resp.StatusCode, b)
		}
	}
}

// TestPostObjectRefusedFormAudited: a form whose signature holds but
// whose policy refuses it is reported (to OnRequest, so to the audit
// log) as its signer's, not as anonymous; a form whose signature fails
// stays anonymous. Before, the identity was set only once every policy
// condition had passed. A signed form's event is Replayable.
func TestPostObjectRefusedFormAudited(t *testing.T) {
	events := make(chan Event, 1)
	store := newFakeStore()
	h, err := New(Config{
		Store:       store,
		Credentials: func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey },
		Logger:      slog.New(slog.DiscardHandler),
		OnRequest:   func(ev Event) { events <- ev },
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, srv: httptest.NewServer(h), store: store}
	t.Cleanup(e.srv.Close)
	if err := store.MakeBucket(context.Background(), "forms", ""); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	tests := []struct {
		name     string
		conds    []any
		expires  time.Time
		secret   string
		key      string
		code     string
		identity string
	}{
		{"condition fails", []any{map[string]string{"bucket": "forms"}, []string{"eq", "$key", "a"}}, future, testSecretKey, "other", "AccessDenied", "root"},
		{"bucket condition fails", []any{map[string]string{"bucket": "elsewhere"}, []string{"eq", "$key", "a"}}, future, testSecretKey, "a", "AccessDenied", "root"},
		{"expired", []any{map[string]string{"bucket": "forms"}, []string{"eq", "$key", "a"}}, time.Now().Add(-time.Minute), testSecretKey, "a", "AccessDenied", "root"},
		{"wrong signature", []any{map[string]string{"bucket": "forms"}, []string{"eq", "$key", "a"}}, future, "not-the-secret", "a", "SignatureDoesNotMatch", "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := postForm{fields: append(signedPostFields(t, tt.expires, tt.conds, tt.secret), [2]string{"key", tt.key}), fileData: []byte("f")}
			resp, body := e.post(t, "forms", form)
			wantError(t, resp, body, http.StatusForbidden, tt.code)
			ev := <-events
			if ev.Identity != tt.identity || ev.ErrorCode != tt.code {
				t.Fatalf("event %+v, want identity %q", ev, tt.identity)
			}
			if wantKey := map[bool]string{true: testAccessKey}[tt.identity != "anonymous"]; ev.AccessKey != wantKey {
				t.Fatalf("event access key %q, want %q", ev.AccessKey, wantKey)
			}
			// A signed form is anyone's to replay: its refusals are
			// aggregated like anonymous ones.
			if ev.Replayable != (tt.identity != "anonymous") {
				t.Fatalf("event replayable %v for identity %q", ev.Replayable, tt.identity)
			}
		})
	}
}
