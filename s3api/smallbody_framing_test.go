package s3api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSmallBodyBoundIgnoresChunkFraming: the small-body bound grows with
// the bytes the body decodes to, not with those on the wire. Found by
// review: countingBody counted wire bytes, beneath the aws-chunked
// decoder, so chunk extensions (ignored, up to ~4 KiB a header) bought
// time without adding to the body. Here an anonymous DeleteObjects (the
// bucket policy grants Principal * delete) sends a ~50-byte document as
// 1-byte chunks each padded with a 4000-byte extension, 20 ms apart:
// ~200 KB/s on the wire, 50 B/s decoded. The bound is 100 ms plus 50
// bytes' worth; before, the request held its slot for the whole second
// and succeeded.
func TestSmallBodyBoundIgnoresChunkFraming(t *testing.T) {
	e := newSlotEnv(t, Config{StallTimeout: time.Hour, SmallBodyTimeout: 100 * time.Millisecond})
	doc := []byte("<Delete><Object><Key>tmp/a</Key></Object></Delete>")
	pad := strings.Repeat("x", 4000)
	var chunks [][]byte
	total := 0
	for _, c := range doc {
		ch := []byte(fmt.Sprintf("1;pad=%s\r\n%c\r\n", pad, c))
		chunks = append(chunks, ch)
		total += len(ch)
	}
	final := []byte("0\r\n\r\n")
	total += len(final)
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /slots?delete HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n", total)
	fmt.Fprintf(&head, "X-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\nContent-Encoding: aws-chunked\r\n")
	fmt.Fprintf(&head, "X-Amz-Decoded-Content-Length: %d\r\nContent-MD5: %s\r\n\r\n", len(doc), md5b64(doc))
	c := e.dial(t)
	if _, err := c.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		for _, ch := range append(chunks, final) {
			if _, err := c.Write(ch); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	resp, rb := readResponse(t, c, "POST")
	held := time.Since(start)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(rb), "RequestTimeout") {
		t.Fatalf("a %d-byte body held its slot %v (bound 100ms + %v): %d %s",
			len(doc), held, time.Duration(len(doc))*time.Second/minSmallBodyRate, resp.StatusCode, rb)
	}
}
