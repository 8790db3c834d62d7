package sigv2

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkVerify measures the per-request cost of SigV2 authentication
// (no body is involved: SigV2 signs none). SetBytes counts the request
// head signed, so MB/s reads as head bytes verified per second.
func BenchmarkVerify(b *testing.B) {
	v := verifierAt(testNow)
	cases := []struct {
		name string
		make func() *http.Request
	}{
		{"header/GET", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://127.0.0.1:9000/bucket/dir/key.bin", nil)
			_ = SignRequest(r, exampleAccessKey, exampleSecret, "", testNow)
			return onWire(b, r)
		}},
		{"header/PUT-part-4-amz-headers", func() *http.Request {
			r := basePut(b)
			r.Header.Set("X-Amz-Meta-Unicode", "Grüße")
			_ = SignRequest(r, exampleAccessKey, exampleSecret, "", testNow)
			return onWire(b, r)
		}},
		{"presigned/GET", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://127.0.0.1:9000/bucket/dir/key.bin?response-content-type=text%2Fplain", nil)
			_ = PresignRequest(r, exampleAccessKey, exampleSecret, "", testNow.Add(time.Hour))
			return onWire(b, r)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r := tc.make()
			size := len(r.RequestURI)
			for k, vv := range r.Header {
				for _, v := range vv {
					size += len(k) + len(v) + 4
				}
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
