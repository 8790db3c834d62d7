package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// TestBodyCutShort: a client whose connection ends before the body it
// declared gets 400 IncompleteBody from the real store, for a PUT and
// for a part (one of 5 GiB too), and nothing is stored (before: 500 from the erasure
// reader, and 503 "write quorum" for a part, the drives having seen the
// request cancelled).
func TestBodyCutShort(t *testing.T) {
	ctx := context.Background()
	srv, c := startServer(t)
	if err := c.MakeBucket(ctx, "cut", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	uploadID, err := (&minio.Core{Client: c}).NewMultipartUpload(ctx, "cut", "parts", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	user, secret := srv.Credentials()
	send := func(path string, declared int, sent []byte) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", "http://"+srv.Addr()+path, nil)
		req.ContentLength = int64(declared)
		req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
		req = signer.SignV4(*req, user, secret, "", "us-east-1")
		conn, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var head bytes.Buffer
		fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.Host, declared)
		for k, vs := range req.Header {
			for _, v := range vs {
				fmt.Fprintf(&head, "%s: %s\r\n", k, v)
			}
		}
		head.WriteString("\r\n")
		head.Write(sent)
		if _, err := conn.Write(head.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	half := randBody(7, 1<<20)
	for _, path := range []string{"/cut/object", fmt.Sprintf("/cut/parts?partNumber=1&uploadId=%s", uploadID)} {
		resp, body := send(path, 2<<20, half)
		if resp.StatusCode != 400 || !strings.Contains(body, "<Code>IncompleteBody</Code>") {
			t.Fatalf("%s cut short: %d %s", path, resp.StatusCode, body)
		}
	}
	// A part of exactly 5 GiB, AWS's largest, is taken (its ciphertext
	// is larger: storage refused it as too large before reading a byte),
	// and one byte more is refused before the body.
	partPath := fmt.Sprintf("/cut/parts?partNumber=2&uploadId=%s", uploadID)
	if resp, body := send(partPath, 5<<30, half); resp.StatusCode != 400 || !strings.Contains(body, "<Code>IncompleteBody</Code>") {
		t.Fatalf("part of 5 GiB cut short: %d %s", resp.StatusCode, body)
	}
	if resp, body := send(partPath, 5<<30+1, nil); resp.StatusCode != 400 || !strings.Contains(body, "<Code>EntityTooLarge</Code>") {
		t.Fatalf("part of 5 GiB + 1: %d %s", resp.StatusCode, body)
	}
	if _, err := c.StatObject(ctx, "cut", "object", minio.StatObjectOptions{}); err == nil {
		t.Fatal("a PUT cut short stored an object")
	}
	parts, err := (&minio.Core{Client: c}).ListObjectParts(ctx, "cut", "parts", uploadID, 0, 100)
	if err != nil || len(parts.ObjectParts) != 0 {
		t.Fatalf("parts after a cut part: %+v, %v", parts.ObjectParts, err)
	}
}

// TestHeaderLimit: request headers are bounded at 64 KiB, not Go's 1 MiB.
func TestHeaderLimit(t *testing.T) {
	srv, _ := startServer(t)
	for _, tt := range []struct {
		size int
		want int
	}{{32 << 10, 403}, {200 << 10, 431}} {
		req, _ := http.NewRequest("GET", "http://"+srv.Addr()+"/", nil)
		req.Header.Set("X-Filler", strings.Repeat("a", tt.size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Fatalf("%d bytes of headers: %d, want %d", tt.size, resp.StatusCode, tt.want)
		}
	}
}
