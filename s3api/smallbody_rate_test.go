package s3api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSmallBodyTimeoutSteadyClient: SmallBodyTimeout is a grace, not a
// total: each byte received extends it by 1/minSmallBodyRate of a
// second. Before, a client that never stalled but whose link was slower
// than size/SmallBodyTimeout was cut off, on every retry: at the
// default 30 s, a 10,000-part CompleteMultipartUpload with SHA-256
// checksums (about 1.6 MB) below about 430 kbit/s, and its whole
// multipart upload was lost. Scaled down here: a 64 KiB DeleteObjects
// body against a 100 ms grace, sent 1 KiB at a time, steadily above
// the minimum rate (1 KiB every 5 ms, about 0.33 s in all: a loaded
// machine would have to stretch each pause twelve times to fall below
// the rate) or below it (1 KiB every 100 ms: cut off after about
// 0.27 s).
func TestSmallBodyTimeoutSteadyClient(t *testing.T) {
	e := newSlotEnv(t, Config{StallTimeout: time.Hour, SmallBodyTimeout: 100 * time.Millisecond})
	body := deleteDocument(64 << 10)
	for _, tt := range []struct {
		name  string
		pause time.Duration // between KiBs
		ok    bool
	}{
		{"above the minimum rate", 5 * time.Millisecond, true},
		{"below the minimum rate", 100 * time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			if _, err := c.Write(e.head(t, "POST", "/slots?delete", testAccessKey, testSecretKey, len(body), map[string]string{"Content-MD5": md5b64(body)})); err != nil {
				t.Fatal(err)
			}
			go func() {
				for off := 0; off < len(body); off += 1024 {
					if _, err := c.Write(body[off:min(off+1024, len(body))]); err != nil {
						return
					}
					time.Sleep(tt.pause)
				}
			}()
			resp, rb := readResponse(t, c, "POST")
			if tt.ok {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("steady client cut off: %d %s", resp.StatusCode, rb)
				}
				return
			}
			wantCodeIn(t, resp, rb, http.StatusBadRequest, "RequestTimeout")
		})
	}
}

// deleteDocument is a DeleteObjects body of at least size bytes, of keys
// that need not exist.
func deleteDocument(size int) []byte {
	var doc strings.Builder
	doc.WriteString("<Delete>")
	for i := 0; doc.Len() < size; i++ {
		fmt.Fprintf(&doc, "<Object><Key>tmp/%s%05d</Key></Object>", strings.Repeat("k", 60), i)
	}
	doc.WriteString("</Delete>")
	return []byte(doc.String())
}
