package s3api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/s3api/sigv4"
)

// TestSmallBodySignedChunkSteadyClient: a signed aws-chunked small body
// in one chunk, sent steadily far above minSmallBodyRate, is not cut
// off. Found by review: crediting only the bytes the decoder gave out
// never moved the deadline, since a signed chunk gives nothing until it
// is whole and verified; the bytes on the wire are credited, up to the
// cap (TestSmallBodyCreditCapped).
func TestSmallBodySignedChunkSteadyClient(t *testing.T) {
	e := newSlotEnv(t, Config{StallTimeout: time.Hour, SmallBodyTimeout: 100 * time.Millisecond})
	body := deleteDocument(64 << 10)

	now := time.Now()
	req, _ := http.NewRequest("POST", e.srv.URL+"/slots?delete", nil)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(body)))
	req.Header.Set("Content-MD5", md5b64(body))
	if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, now, sigv4.StreamingPayload); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	seed := auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
	mac := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	day := now.UTC().Format("20060102")
	k := mac(mac(mac(mac([]byte("AWS4"+testSecretKey), day), testRegion), "s3"), "aws4_request")
	prev := seed
	hs := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	sign := func(data []byte) string {
		prev = hex.EncodeToString(mac(k, "AWS4-HMAC-SHA256-PAYLOAD\n"+now.UTC().Format("20060102T150405Z")+"\n"+day+"/"+testRegion+"/s3/aws4_request\n"+prev+"\n"+hs(nil)+"\n"+hs(data)))
		return prev
	}
	var wire []byte
	wire = append(wire, fmt.Sprintf("%x;chunk-signature=%s\r\n", len(body), sign(body))...)
	wire = append(wire, body...)
	wire = append(wire, "\r\n"...)
	wire = append(wire, fmt.Sprintf("0;chunk-signature=%s\r\n\r\n", sign(nil))...)

	var head strings.Builder
	fmt.Fprintf(&head, "POST /slots?delete HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.Host, len(wire))
	for kk, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", kk, v)
		}
	}
	head.WriteString("\r\n")
	c := e.dial(t)
	if _, err := c.Write([]byte(head.String())); err != nil {
		t.Fatal(err)
	}
	go func() { // 1 KiB every 5 ms: ~200 KiB/s, twelve times minSmallBodyRate
		for off := 0; off < len(wire); off += 1024 {
			if _, err := c.Write(wire[off:min(off+1024, len(wire))]); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	resp, rb := readResponse(t, c, "POST")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("steady signed-chunk client cut off: %d %s", resp.StatusCode, rb)
	}
}
