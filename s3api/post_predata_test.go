package s3api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
	"testing"
)

// formWithPreData builds a form whose bytes before the file's first byte are
// exactly pre (fields padded), followed by a file of size bytes.
func formWithPreData(t *testing.T, pre, size int) ([]byte, string) {
	const boundary = "----WebKitFormBoundaryABCDEFGHIJKLMNOP"
	build := func(pad int) []byte {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary(boundary)
		for i := 0; i < 200; i++ {
			mw.WriteField(fmt.Sprintf("x-amz-meta-f%03d", i), strings.Repeat("v", 200))
		}
		mw.WriteField("x-amz-meta-pad", strings.Repeat("p", pad))
		mw.CreateFormFile("file", "f")
		return b.Bytes()
	}
	head := build(0)
	pad := pre - len(head)
	if pad < 0 {
		t.Fatalf("pre %d too small", pre)
	}
	head = build(pad)
	if len(head) != pre {
		t.Fatalf("head %d, want %d", len(head), pre)
	}
	body := append(head, bytes.Repeat([]byte("F"), size)...)
	return append(body, "\r\n--"+boundary+"--\r\n"...), boundary
}

// TestPostPreDataBoundary: a form exactly at maxPostPreDataBytes
// before its file is accepted, one byte more is refused, whatever the
// parser reads ahead into the file.
func TestPostPreDataBoundary(t *testing.T) {
	for _, tc := range []struct {
		pre  int
		want bool
	}{{maxPostPreDataBytes - 4096, true}, {maxPostPreDataBytes - 1, true}, {maxPostPreDataBytes, true}, {maxPostPreDataBytes + 1, false}} {
		body, boundary := formWithPreData(t, tc.pre, 1<<20)
		pre := &preDataReader{r: bytes.NewReader(body), max: maxPostPreDataBytes}
		_, file, err := readPostFields(multipart.NewReader(pre, boundary), pre)
		pre.lift()
		if tc.want {
			if err != nil {
				t.Errorf("pre-data %d (limit %d): %v", tc.pre, maxPostPreDataBytes, err)
				continue
			}
			n, err := io.Copy(io.Discard, file)
			if err != nil || n != 1<<20 {
				t.Errorf("pre-data %d: file read %d, %v", tc.pre, n, err)
			}
		} else if !errors.Is(err, errPostPreDataTooLarge) {
			t.Errorf("pre-data %d: %v, want too large", tc.pre, err)
		}
	}
}
