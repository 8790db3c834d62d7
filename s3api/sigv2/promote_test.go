package sigv2

import (
	"errors"
	"net/http"
	"testing"
)

func TestPromoteQueryHeaders(t *testing.T) {
	const presign = "AWSAccessKeyId=AKIA&Expires=1&Signature=x"
	tests := []struct {
		name    string
		query   string
		header  map[string]string
		want    map[string]string // headers after
		wantErr error
	}{
		{"moved back", presign + "&x-amz-copy-source=%2Fb%2Fsrc&content-md5=abc&content-type=text%2Fplain&x-amz-meta-o=alice",
			nil, map[string]string{"X-Amz-Copy-Source": "/b/src", "Content-Md5": "abc", "Content-Type": "text/plain", "X-Amz-Meta-O": "alice"}, nil},
		{"same value in both", presign + "&x-amz-acl=private", map[string]string{"X-Amz-Acl": "private"}, map[string]string{"X-Amz-Acl": "private"}, nil},
		{"different values", presign + "&x-amz-meta-o=alice", map[string]string{"X-Amz-Meta-O": "mallory"}, nil, ErrMalformedPresign},
		{"twice in the query", presign + "&x-amz-meta-o=a&X-Amz-Meta-O=b", nil, nil, ErrMalformedPresign},
		{"other parameters stay", presign + "&prefix=x&uploadId=1", nil, map[string]string{"Prefix": "", "Uploadid": ""}, nil},
		{"SigV4 presigned untouched", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=c&X-Amz-Signature=s&x-amz-meta-o=a",
			nil, map[string]string{"X-Amz-Meta-O": "", "X-Amz-Algorithm": ""}, nil},
		{"header auth untouched", "x-amz-meta-o=a", map[string]string{"Authorization": "AWS AKIA:sig"}, map[string]string{"X-Amz-Meta-O": ""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodPut, "http://h/b/k?"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			err = PromoteQueryHeaders(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			for k, v := range tc.want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
