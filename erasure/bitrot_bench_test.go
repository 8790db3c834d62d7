package erasure

import (
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"math/rand"
	"testing"

	"github.com/minio/crc64nvme"
	"github.com/zeebo/xxh3"
	"golang.org/x/crypto/blake2b"
)

// BenchmarkBitrotHash compares the bitrot checksum candidates on shard-block
// sized inputs (a 1 MiB block gives 256 KiB shards at 4+2 and ~85 KiB at
// 12+4). The numbers behind the choice of xxh3-64 are in doc.go.
func BenchmarkBitrotHash(b *testing.B) {
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	algos := []struct {
		name string
		sum  func([]byte) uint64
	}{
		{"xxh3-64", xxh3.Hash},
		{"crc32c", func(p []byte) uint64 { return uint64(crc32.Checksum(p, castagnoli)) }},
		{"crc64nvme", crc64nvme.Checksum},
		{"blake2b-256", func(p []byte) uint64 { s := blake2b.Sum256(p); return uint64(s[0]) }},
		{"sha256", func(p []byte) uint64 { s := sha256.Sum256(p); return uint64(s[0]) }},
	}
	for _, a := range algos {
		for _, size := range []int{4 << 10, 85 << 10, 256 << 10} {
			data := make([]byte, size)
			rand.New(rand.NewSource(1)).Read(data)
			b.Run(fmt.Sprintf("%s/%dKiB", a.name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				var sink uint64
				for b.Loop() {
					sink ^= a.sum(data)
				}
				_ = sink
			})
		}
	}
}
