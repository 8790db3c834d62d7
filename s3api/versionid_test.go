package s3api

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestWellFormedVersionID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"null", true},
		{"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH", true},     // 32 characters of base64 and '.'
		{"096fKKXTRTtl3on89fVO_nfljtsv6q-o", true},     // with - and _
		{"c4b0d5a2-59b8-4b0e-9c45-0d4e1a2b3c4d", true}, // a UUID, as MinIO makes them
		{"C4B0D5A2-59B8-4B0E-9C45-0D4E1A2B3C4D", true},
		{"", false},
		{"abc", false},
		{"NULL", false},
		{"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbr", false},  // 31 characters
		{"3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", true}, // AWS's documentation example
		{"3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo", true},
		{"3HL4kqtJlcpXroDTDmJ rmSpXd3dIbrHY", false}, // not base64
		{"3HL4kqtJlcpXroDTDmJ%rmSpXd3dIbrHY", false},
		{strings.Repeat("a", 1025), false},
	}
	for _, tt := range tests {
		if got := wellFormedVersionID(tt.id); got != tt.want {
			t.Errorf("wellFormedVersionID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// TestDeleteVersionID: a delete naming a version id no store makes is
// refused as AWS refuses it (DeleteObject: 400 InvalidArgument;
// DeleteObjects: that key's NoSuchVersion, in a 200), while a well-formed
// id of no version deletes nothing and succeeds, and "null" deletes the
// object. Before, a malformed id was reported Deleted.
func TestDeleteVersionID(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("vdel")
	const awsID = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"
	exists := func(key string) bool {
		e.store.mu.Lock()
		defer e.store.mu.Unlock()
		_, ok := e.store.buckets["vdel"].objects[key]
		return ok
	}

	single := []struct {
		name, key, vid string
		status         int
		code, message  string
		gone           bool
	}{
		{"malformed, object exists", "k1", "abc", 400, "InvalidArgument", "Invalid version id specified", false},
		{"malformed, no object", "none", "abc", 400, "InvalidArgument", "Invalid version id specified", false},
		{"well-formed, no such version", "k2", awsID, 204, "", "", false},
		{"well-formed, no object", "none", awsID, 204, "", "", false},
		{"null", "k3", "null", 204, "", "", true},
	}
	for _, tt := range single {
		t.Run("DeleteObject "+tt.name, func(t *testing.T) {
			if tt.key != "none" {
				e.mustPut("vdel", tt.key, []byte("v"), minio.PutObjectOptions{})
			}
			resp, out := e.do(rawRequest{method: "DELETE", path: "/vdel/" + tt.key + "?versionId=" + tt.vid})
			if tt.code != "" {
				wantErrorMessage(t, resp, out, tt.status, tt.code, tt.message)
			} else if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, out)
			}
			if tt.key != "none" && exists(tt.key) == tt.gone {
				t.Fatalf("object exists: %t, want %t", !tt.gone, !tt.gone)
			}
		})
	}

	t.Run("DeleteObjects", func(t *testing.T) {
		for _, k := range []string{"m1", "m2", "m3"} {
			e.mustPut("vdel", k, []byte("v"), minio.PutObjectOptions{})
		}
		body := `<Delete>` +
			`<Object><Key>m1</Key><VersionId>abc</VersionId></Object>` +
			`<Object><Key>gone</Key><VersionId>abc</VersionId></Object>` +
			`<Object><Key>m2</Key><VersionId>` + awsID + `</VersionId></Object>` +
			`<Object><Key>m3</Key><VersionId>null</VersionId></Object></Delete>`
		resp, out := e.do(rawRequest{method: "POST", path: "/vdel?delete", body: []byte(body),
			header: map[string]string{"Content-MD5": md5b64([]byte(body))}})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		var res deleteResult
		if err := xml.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range res.Deleted {
			got[d.Key] = "deleted " + d.VersionID
		}
		for _, er := range res.Errors {
			got[er.Key] = fmt.Sprintf("%s %s %s", er.VersionID, er.Code, er.Message)
		}
		want := map[string]string{
			"m1":   "abc NoSuchVersion The specified version does not exist.",
			"gone": "abc NoSuchVersion The specified version does not exist.",
			"m2":   "deleted " + awsID,
			"m3":   "deleted null",
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %q, want %q (%s)", k, got[k], w, out)
			}
		}
		if !exists("m1") || !exists("m2") || exists("m3") {
			t.Fatalf("m1 %t m2 %t m3 %t, want true true false", exists("m1"), exists("m2"), exists("m3"))
		}
	})
}

// TestReadVersionID checks the version id of the requests that read one
// version: one no store could have made is 400 InvalidArgument, as AWS
// answers it, and a well-formed one of no version is NoSuchVersion.
func TestReadVersionID(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("vread")
	e.mustPut("vread", "k", []byte("v"), minio.PutObjectOptions{})
	const awsID = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"
	reqs := []struct {
		name string
		rr   func(vid string) rawRequest
	}{
		{"GetObject", func(vid string) rawRequest {
			return rawRequest{method: "GET", path: "/vread/k?versionId=" + vid}
		}},
		{"GetObjectAttributes", func(vid string) rawRequest {
			return rawRequest{method: "GET", path: "/vread/k?attributes&versionId=" + vid,
				header: map[string]string{"x-amz-object-attributes": "ETag"}}
		}},
		{"CopyObject", func(vid string) rawRequest {
			return rawRequest{method: "PUT", path: "/vread/copy",
				header: map[string]string{"x-amz-copy-source": "/vread/k?versionId=" + vid}}
		}},
	}
	for _, rq := range reqs {
		t.Run(rq.name+" malformed", func(t *testing.T) {
			resp, out := e.do(rq.rr("abc"))
			wantErrorMessage(t, resp, out, 400, "InvalidArgument", "Invalid version id specified")
		})
		t.Run(rq.name+" no such version", func(t *testing.T) {
			resp, out := e.do(rq.rr(awsID))
			if resp.StatusCode != 404 || !bytes.Contains(out, []byte("<Code>NoSuchVersion</Code>")) {
				t.Fatalf("status %d, want 404 NoSuchVersion: %s", resp.StatusCode, out)
			}
		})
	}
	t.Run("HeadObject malformed", func(t *testing.T) {
		resp, _ := e.do(rawRequest{method: "HEAD", path: "/vread/k?versionId=abc"})
		if resp.StatusCode != 400 {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
}
