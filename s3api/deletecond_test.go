package s3api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestConditionalDelete: DeleteObject's If-Match (and the size and time
// conditions) and DeleteObjects' per-key ETag keep the object when they
// fail, as AWS answers them: 412, NoSuchKey for a missing object.
func TestConditionalDelete(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("cdel")
	data := []byte("conditional delete")
	etag := `"` + md5hex(data) + `"`
	put := func(key string) time.Time {
		e.mustPut("cdel", key, data, minio.PutObjectOptions{})
		return e.store.buckets["cdel"].objects[key].info.ModTime
	}
	exists := func(key string) bool {
		e.store.mu.Lock()
		defer e.store.mu.Unlock()
		_, ok := e.store.buckets["cdel"].objects[key]
		return ok
	}
	mod := put("k")
	tests := []struct {
		name   string
		header map[string]string
		status int
		code   string
		gone   bool
	}{
		{"wrong ETag", map[string]string{"If-Match": `"00000000000000000000000000000000"`}, 412, "PreconditionFailed", false},
		{"weak ETag", map[string]string{"If-Match": "W/" + etag}, 412, "PreconditionFailed", false}, // If-Match compares strongly
		{"wrong size", map[string]string{"If-Match": etag, "x-amz-if-match-size": "3"}, 412, "PreconditionFailed", false},
		{"wrong time", map[string]string{"x-amz-if-match-last-modified-time": mod.Add(-time.Hour).Format(http.TimeFormat)}, 412, "PreconditionFailed", false},
		{"bad size", map[string]string{"x-amz-if-match-size": "big"}, 400, "InvalidArgument", false},
		{"all match", map[string]string{"If-Match": etag, "x-amz-if-match-size": fmt.Sprint(len(data)),
			"x-amz-if-match-last-modified-time": mod.Format(http.TimeFormat)}, 204, "", true},
		{"missing object with If-Match", map[string]string{"If-Match": "*"}, 404, "NoSuchKey", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, out := e.do(rawRequest{method: "DELETE", path: "/cdel/k", header: tt.header})
			if tt.status == 204 {
				if resp.StatusCode != 204 {
					t.Fatalf("%d %s", resp.StatusCode, out)
				}
			} else {
				wantError(t, resp, out, tt.status, tt.code)
			}
			if exists("k") == tt.gone {
				t.Fatalf("object exists: %t, want %t", !tt.gone, !tt.gone)
			}
		})
	}
	t.Run("unconditional delete of nothing is 204", func(t *testing.T) {
		resp, out := e.do(rawRequest{method: "DELETE", path: "/cdel/k"})
		if resp.StatusCode != 204 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
	})

	t.Run("DeleteObjects with ETags", func(t *testing.T) {
		put("a")
		put("b")
		body := `<Delete>` +
			`<Object><Key>a</Key><ETag>"00000000000000000000000000000000"</ETag></Object>` +
			`<Object><Key>b</Key><ETag>` + etag + `</ETag><Size>` + fmt.Sprint(len(data)) + `</Size></Object>` +
			`<Object><Key>c</Key><ETag>` + etag + `</ETag></Object>` +
			`<Object><Key>d</Key></Object></Delete>`
		resp, out := e.do(rawRequest{method: "POST", path: "/cdel?delete", body: []byte(body),
			header: map[string]string{"Content-MD5": md5b64([]byte(body))}})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		for _, want := range []string{
			"<Error><Key>a</Key><Code>PreconditionFailed</Code>",
			"<Deleted><Key>b</Key></Deleted>",
			"<Error><Key>c</Key><Code>NoSuchKey</Code>",
			"<Deleted><Key>d</Key></Deleted>",
		} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("result lacks %s: %s", want, out)
			}
		}
		if !exists("a") || exists("b") {
			t.Fatalf("a exists %t (want true), b exists %t (want false)", exists("a"), exists("b"))
		}
	})
}
