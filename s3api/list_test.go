package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/storage"
)

// oddKeys are names that break naive routing, path cleaning or encoding.
var oddKeys = []string{
	"a/../b", "a//b", "sp ace", "unicodé", "+plus", "a/b/c", "a/b/d", "a/c", "a%2Fencoded",
	"q?mark", "amp&er", "lt<gt>", "tab\tkey", "dot/./seg", "trailing/", "日本語/キー", "~tilde", "e=mc2",
}

func TestListing(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("list")
	keys := slices.Clone(oddKeys)
	for i := 0; i < 40; i++ {
		keys = append(keys, fmt.Sprintf("many/%03d", i))
	}
	for _, k := range keys {
		e.mustPut("list", k, []byte(k), minio.PutObjectOptions{})
	}
	sort.Strings(keys)

	t.Run("odd keys round trip", func(t *testing.T) {
		for _, k := range oddKeys {
			st, err := e.client.StatObject(ctx, "list", k, minio.StatObjectOptions{})
			if err != nil || st.Key != k || st.Size != int64(len(k)) {
				t.Fatalf("StatObject(%q) = %+v, %v", k, st, err)
			}
		}
	})
	for _, v1 := range []bool{false, true} {
		name := "v2"
		if v1 {
			name = "v1"
		}
		t.Run(name+" recursive paginated", func(t *testing.T) {
			var got []string
			for o := range e.client.ListObjects(ctx, "list", minio.ListObjectsOptions{Recursive: true, UseV1: v1, MaxKeys: 7}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				got = append(got, o.Key)
			}
			if !slices.Equal(got, keys) {
				t.Fatalf("listed\n%q\nwant\n%q", got, keys)
			}
		})
		t.Run(name+" delimiter", func(t *testing.T) {
			var got []string
			for o := range e.client.ListObjects(ctx, "list", minio.ListObjectsOptions{Prefix: "a/", UseV1: v1, MaxKeys: 2}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				got = append(got, o.Key)
			}
			want := []string{"a/../", "a//", "a/b/", "a/c"}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Fatalf("listed %q, want %q", got, want)
			}
		})
	}
	t.Run("v1 core with markers", func(t *testing.T) {
		res, err := e.core.ListObjects("list", "", "", "/", 3)
		if err != nil {
			t.Fatal(err)
		}
		if !res.IsTruncated || res.NextMarker == "" || len(res.Contents)+len(res.CommonPrefixes) != 3 {
			t.Fatalf("page 1: %+v", res)
		}
		var all []string
		marker := ""
		for {
			res, err := e.core.ListObjects("list", "", marker, "/", 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Contents {
				all = append(all, c.Key)
			}
			for _, p := range res.CommonPrefixes {
				all = append(all, p.Prefix)
			}
			if !res.IsTruncated {
				break
			}
			marker = res.NextMarker
		}
		want := []string{"+plus", "a%2Fencoded", "a/", "amp&er", "dot/", "e=mc2", "lt<gt>", "many/", "q?mark", "sp ace", "tab\tkey", "trailing/", "unicodé", "~tilde", "日本語/"}
		sort.Strings(all)
		if !slices.Equal(all, want) {
			t.Fatalf("top level\n%q\nwant\n%q", all, want)
		}
	})
	t.Run("v2 core start-after and token", func(t *testing.T) {
		res, err := e.core.ListObjectsV2("list", "many/", "many/010", "", "", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Contents) != 5 || res.Contents[0].Key != "many/011" || !res.IsTruncated {
			t.Fatalf("page: %+v", res)
		}
		res2, err := e.core.ListObjectsV2("list", "many/", "", res.NextContinuationToken, "", 5)
		if err != nil {
			t.Fatal(err)
		}
		if res2.Contents[0].Key != "many/016" || res2.ContinuationToken != res.NextContinuationToken {
			t.Fatalf("page 2 starts at %q", res2.Contents[0].Key)
		}
	})
	t.Run("raw encoding-type url", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "GET", path: "/list?list-type=2&prefix=" + url.QueryEscape("sp ") + "&encoding-type=url&fetch-owner=true"})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var res listBucketResultV2
		if err := xml.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		if res.EncodingType != "url" || res.Prefix != "sp%20" || len(res.Contents) != 1 || res.Contents[0].Key != "sp%20ace" {
			t.Fatalf("result %s", body)
		}
		// An owner ID and no DisplayName, which AWS stopped returning.
		if o := res.Contents[0].Owner; o == nil || len(o.ID) != 64 || o.DisplayName != "" || strings.Contains(string(body), "DisplayName") {
			t.Fatalf("fetch-owner: owner %+v", res.Contents[0].Owner)
		}
		resp, body = e.do(rawRequest{method: "GET", path: "/list?list-type=2&prefix=tab"})
		res = listBucketResultV2{}
		if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || len(res.Contents) != 1 || res.Contents[0].Key != "tab\tkey" {
			t.Fatalf("unencoded result %s: %v", body, err)
		}
		if res.Contents[0].Owner != nil {
			t.Fatal("owner without fetch-owner")
		}
	})
	t.Run("max-keys", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "GET", path: "/list?max-keys=0"})
		var res listBucketResultV1
		if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || len(res.Contents) != 0 || res.IsTruncated {
			t.Fatalf("max-keys=0: %s", body)
		}
		resp, body = e.do(rawRequest{method: "GET", path: "/list?max-keys=5000"})
		res = listBucketResultV1{}
		if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || res.MaxKeys != 1000 || len(res.Contents) != len(keys) {
			t.Fatalf("max-keys=5000: %d keys, MaxKeys %d", len(res.Contents), res.MaxKeys)
		}
		for _, bad := range []string{"-1", "ten"} {
			resp, body = e.do(rawRequest{method: "GET", path: "/list?max-keys=" + bad})
			wantError(t, resp, body, 400, "InvalidArgument")
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for _, p := range []string{
			"/list?list-type=2&continuation-token=",
			"/list?list-type=2&continuation-token=%21%21",
			"/list?encoding-type=base64",
		} {
			resp, body := e.do(rawRequest{method: "GET", path: p})
			wantError(t, resp, body, 400, "InvalidArgument")
		}
		resp, body := e.do(rawRequest{method: "GET", path: "/nobucket?list-type=2"})
		wantError(t, resp, body, 404, "NoSuchBucket")
	})
	t.Run("versions", func(t *testing.T) {
		var got []string
		for o := range e.client.ListObjects(ctx, "list", minio.ListObjectsOptions{Recursive: true, WithVersions: true, Prefix: "many/", MaxKeys: 15}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			if o.VersionID != "null" || !o.IsLatest {
				t.Fatalf("version %+v", o)
			}
			got = append(got, o.Key)
		}
		if len(got) != 40 {
			t.Fatalf("%d versions listed", len(got))
		}
	})
}

// TestListingProperty compares paginated listings with a model over
// random keys, page sizes, prefixes and delimiters.
func TestListingProperty(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("prop")
	seed := int64(42)
	t.Logf("seed %d", seed)
	rnd := randomBytes(t, seed, 4096)
	alphabet := []string{"a", "b", "/", "-", "é", " ", "+"}
	keySet := map[string]bool{}
	for i := 0; len(keySet) < 120; i++ {
		n := 1 + int(rnd[i%len(rnd)])%6
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteString(alphabet[int(rnd[(i*7+j)%len(rnd)])%len(alphabet)])
		}
		keySet[b.String()] = true
	}
	var keys []string
	for k := range keySet {
		keys = append(keys, k)
		e.store.buckets["prop"].objects[k] = &fakeObject{info: storage.ObjectInfo{
			Bucket: "prop", Key: k, ETag: md5hex([]byte(k)), ModTime: time.Now(), Metadata: map[string]string{}}}
	}
	sort.Strings(keys)
	model := func(prefix, delim string) []string {
		var out []string
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if delim != "" {
				if i := strings.Index(k[len(prefix):], delim); i >= 0 {
					p := prefix + k[len(prefix):][:i+len(delim)]
					if len(out) == 0 || out[len(out)-1] != p {
						out = append(out, p)
					}
					continue
				}
			}
			out = append(out, k)
		}
		return out
	}
	for _, prefix := range []string{"", "a", "a/", "é", "+"} {
		for _, delim := range []string{"", "/", "-", "é"} {
			for _, page := range []int{1, 3, 1000} {
				name := fmt.Sprintf("prefix=%q delim=%q page=%d", prefix, delim, page)
				want := model(prefix, delim)
				var got []string
				token := ""
				for {
					res, err := e.core.ListObjectsV2("prop", prefix, "", token, delim, page)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					for _, c := range res.Contents {
						got = append(got, c.Key)
					}
					for _, p := range res.CommonPrefixes {
						got = append(got, p.Prefix)
					}
					if !res.IsTruncated {
						break
					}
					token = res.NextContinuationToken
				}
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Fatalf("%s:\n got %q\nwant %q", name, got, want)
				}
			}
		}
	}
}

// TestParseMax: page sizes are Java ints at AWS: a value beyond int32 is
// "not an integer", a negative one out of range, each in AWS's words for
// the parameter; up to the int32 maximum the page is capped at 1000.
func TestParseMax(t *testing.T) {
	const (
		notInt   = "Provided max-keys not an integer or within integer range."
		negative = "Argument maxKeys must be an integer between 0 and 2147483647"
	)
	tests := []struct {
		name, param, value string
		want               int
		msg                string // "": accepted
	}{
		{"absent", "max-keys", "", 1000, ""},
		{"zero", "max-keys", "0", 0, ""},
		{"small", "max-keys", "17", 17, ""},
		{"capped", "max-keys", "5000", 1000, ""},
		{"int32 maximum", "max-keys", "2147483647", 1000, ""},
		{"beyond int32", "max-keys", "2147483648", 0, notInt},
		{"beyond int64", "max-keys", "99999999999999999999", 0, notInt},
		{"below int32", "max-keys", "-2147483649", 0, notInt},
		{"negative", "max-keys", "-1", 0, negative},
		{"not a number", "max-keys", "ten", 0, notInt},
		{"fraction", "max-keys", "1.5", 0, notInt},
		{"max-parts beyond int32", "max-parts", "2147483648", 0, "Provided max-parts not an integer or within integer range."},
		{"max-parts negative", "max-parts", "-3", 0, "Argument maxParts must be an integer between 0 and 2147483647"},
		{"max-uploads negative", "max-uploads", "-3", 0, "Argument maxUploads must be an integer between 0 and 2147483647"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			if tt.value != "" {
				q.Set(tt.param, tt.value)
			}
			n, err := parseMax(q, tt.param)
			if tt.msg == "" {
				if err != nil || n != tt.want {
					t.Fatalf("parseMax = %d, %v; want %d", n, err, tt.want)
				}
				return
			}
			ae, ok := apiErrorFor(err)
			if !ok || ae.Code != "InvalidArgument" || ae.Status != 400 || ae.Message != tt.msg {
				t.Fatalf("parseMax error %v answers %+v, want InvalidArgument %q", err, ae, tt.msg)
			}
		})
	}
}

// TestListMaxOutOfRange: the answers for page sizes beyond int32 from
// ListObjects, ListObjectsV2 and ListParts.
func TestListMaxOutOfRange(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("maxk")
	id, err := e.core.NewMultipartUpload(ctx, "maxk", "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, msg string }{
		{"/maxk?max-keys=2147483648", "Provided max-keys not an integer or within integer range."},
		{"/maxk?list-type=2&max-keys=2147483648", "Provided max-keys not an integer or within integer range."},
		{"/maxk?list-type=2&max-keys=-1", "Argument maxKeys must be an integer between 0 and 2147483647"},
		{"/maxk/mp?uploadId=" + id + "&max-parts=2147483648", "Provided max-parts not an integer or within integer range."},
		{"/maxk/mp?uploadId=" + id + "&max-parts=-1", "Argument maxParts must be an integer between 0 and 2147483647"},
	} {
		resp, body := e.do(rawRequest{method: "GET", path: tt.path})
		wantErrorMessage(t, resp, body, 400, "InvalidArgument", tt.msg)
	}
	resp, body := e.do(rawRequest{method: "GET", path: "/maxk?list-type=2&max-keys=2147483647"})
	var res listBucketResultV2
	if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || res.MaxKeys != 1000 {
		t.Fatalf("max-keys=2147483647: %d %s", resp.StatusCode, body)
	}
}
