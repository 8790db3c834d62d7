package checksum_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/objstore/objstore/s3api/checksum"
)

func Example() {
	// The client declared a CRC32C in a header.
	h := http.Header{"X-Amz-Checksum-Crc32c": {"yZRlqg=="}}
	want, err := checksum.FromHeaders(h)
	if err != nil {
		panic(err)
	}

	// One pass over the body computes the ETag's MD5 and the CRC32C.
	r := checksum.NewReader(strings.NewReader("hello world"), want.Algorithm)
	if _, err := io.Copy(io.Discard, r); err != nil {
		panic(err)
	}
	fmt.Println(hex.EncodeToString(r.MD5()), r.Size(), r.Sum(checksum.CRC32C), r.Check(want.Algorithm, want.Value))
	// Output: 5eb63bbbe01eeed093cb22bb8f5acdc3 11 yZRlqg== <nil>
}

func ExampleComposite() {
	// Two parts' CRC32s: of "a" and of "b".
	s, _ := checksum.Composite(checksum.CRC32, []string{"6Le+Qw==", "cb7v+Q=="})
	fmt.Println(s)
	// Output: 7pJxdw==-2
}

func ExampleParallelReader() {
	// Blocks shared by all requests; the zero value uses 1 MiB blocks.
	var pool checksum.BlockPool
	r := checksum.NewParallelReader(strings.NewReader("hello world"), checksum.ParallelOptions{Pool: &pool}, checksum.CRC32C)
	defer r.Close() // stops the goroutines, whatever happened

	// The bytes arrive while MD5 and CRC32C are computed on other
	// goroutines...
	if _, err := io.Copy(io.Discard, r); err != nil {
		panic(err)
	}
	// ... and the digests wait for them. Only now may the body count as
	// verified.
	fmt.Println(r.Err(), hex.EncodeToString(r.MD5()), r.Check(checksum.CRC32C, "yZRlqg=="))
	// Output: <nil> 5eb63bbbe01eeed093cb22bb8f5acdc3 <nil>
}
