package erasure

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden shard files in testdata")

// TestGolden pins the shard stream format: a fixed input encoded with fixed
// parameters must give exactly the bytes in testdata/golden. Run with
// -update after an intended format change (and bump FormatVersion).
func TestGolden(t *testing.T) {
	tests := []struct {
		k, m, bs, size int
	}{
		{4, 2, 100, 250}, // two full blocks and a short one
		{3, 2, 7, 20},    // block size not a multiple of k
		{2, 1, 64, 0},    // header only
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%d+%d_bs%d_size%d", tt.k, tt.m, tt.bs, tt.size)
		t.Run(name, func(t *testing.T) {
			c := mustCodec(t, tt.k, tt.m, tt.bs, config{})
			data := make([]byte, tt.size)
			for i := range data {
				data[i] = byte(i*7 + 3)
			}
			shards := encodeAll(t, c, data)
			for i, s := range shards {
				path := filepath.Join("testdata", "golden", name, fmt.Sprintf("shard-%d.bin", i))
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, s, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create)", err)
				}
				if !bytes.Equal(s, want) {
					t.Fatalf("shard %d differs from %s:\ngot  %x\nwant %x", i, path, s, want)
				}
			}
			// The stored files must read back, from parity too.
			rs := readersOf(shards)
			rs[0] = nil
			got, _, err := decodeRange(c, rs, 0, int64(tt.size), int64(tt.size))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("decode of golden shards: %v", err)
			}
		})
	}
}

// TestHeaderBytes spells out one header byte by byte, so a change to the
// header cannot slip through a careless -update.
func TestHeaderBytes(t *testing.T) {
	c := mustCodec(t, 4, 2, 1<<20, config{})
	var h [headerSize]byte
	c.putHeader(h[:], 5)
	want := "4f425348" + // magic "OBSH"
		"01" + // format version
		"01" + // checksum algorithm: xxh3-64, position keyed
		"05" + // shard index
		"04" + "02" + // k, m
		"000000" + // reserved
		"00001000" + // block size 1 MiB, little endian
		"0000000000000000" // reserved
	if got := hex.EncodeToString(h[:hdrChecksum]); got != want {
		t.Fatalf("header\ngot  %s\nwant %s", got, want)
	}
	if err := c.checkHeader(h[:], 5); err != nil {
		t.Fatalf("checkHeader: %v", err)
	}
	if err := c.checkHeader(h[:], 4); err == nil {
		t.Fatal("header of shard 5 accepted as shard 4's")
	}
}
