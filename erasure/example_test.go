package erasure_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/objstore/objstore/erasure"
)

// Encode an object into 4+2 shard streams, lose two of them, and read a
// range back.
func Example() {
	c, err := erasure.New(4, 2, 16) // tiny blocks to show several of them
	if err != nil {
		fmt.Println(err)
		return
	}
	data := []byte("the quick brown fox jumps over the lazy dog")

	streams := make([]bytes.Buffer, 6)
	ws := make([]io.Writer, 6)
	for i := range ws {
		ws[i] = &streams[i]
	}
	ctx := context.Background()
	res, err := c.Encode(ctx, bytes.NewReader(data), ws, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("encoded", res.Size, "bytes; each shard stream is", c.ShardSize(res.Size), "bytes")

	rs := make([]io.ReaderAt, 6)
	for i := range rs {
		rs[i] = bytes.NewReader(streams[i].Bytes())
	}
	rs[1], rs[4] = nil, nil // two drives offline

	dr, err := c.Decode(ctx, os.Stdout, rs, 4, 15, res.Size)
	fmt.Println()
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, e := range dr.Errs {
		if e != nil {
			fmt.Printf("shard %d: %v\n", i, e)
		}
	}
	// Output:
	// encoded 43 bytes; each shard stream is 67 bytes
	// quick brown fox
	// shard 1: erasure: shard missing: shard 1
	// shard 4: erasure: shard missing: shard 4
}
