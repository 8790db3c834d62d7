package erasure

import (
	"encoding/binary"
	"fmt"

	"github.com/zeebo/xxh3"
)

// Shard stream format constants; doc.go draws the layout.
const (
	headerSize   = 32
	checksumSize = 8

	// FormatVersion is the shard stream format this package writes and reads.
	FormatVersion = 1
	// ChecksumXXH3 is the algorithm id of the bitrot checksum: xxh3-64 of the
	// shard block, XORed with a key derived from (shard, block).
	ChecksumXXH3 = 1
)

// magic opens every shard stream.
var magic = [4]byte{'O', 'B', 'S', 'H'}

// Header field offsets.
const (
	hdrMagic     = 0
	hdrVersion   = 4
	hdrAlgorithm = 5
	hdrShard     = 6
	hdrData      = 7
	hdrParity    = 8
	hdrBlockSize = 12
	hdrChecksum  = 24
)

// Block buffer slot layout. Each shard of a block owns one slot; the shard
// bytes start 64-byte aligned (SIMD friendly) and the checksum and, for block
// 0, the header sit right before them, so one Write call sends a whole
// stream piece and one ReadAt call fetches one.
//
//	slot: [0,24) unused | [24,56) header | [56,64) checksum | [64,64+S) shard bytes | pad to 64
const (
	slotAlign  = 64
	slotPrefix = 64
	slotCS     = slotPrefix - checksumSize
	slotHdr    = slotCS - headerSize
)

// putHeader writes shard's header into b[:headerSize].
func (c *Codec) putHeader(b []byte, shard int) {
	b = b[:headerSize]
	clear(b)
	copy(b[hdrMagic:], magic[:])
	b[hdrVersion] = FormatVersion
	b[hdrAlgorithm] = ChecksumXXH3
	b[hdrShard] = byte(shard)
	b[hdrData] = byte(c.k)
	b[hdrParity] = byte(c.m)
	binary.LittleEndian.PutUint32(b[hdrBlockSize:], uint32(c.blockSize))
	binary.LittleEndian.PutUint64(b[hdrChecksum:], blockSum(b[:hdrChecksum], shard, HeaderBlock))
}

// checkHeader verifies that b holds the header this codec writes for shard.
func (c *Codec) checkHeader(b []byte, shard int) error {
	b = b[:headerSize]
	if [4]byte(b[hdrMagic:]) != magic {
		return fmt.Errorf("%w: bad magic %q", ErrHeader, b[hdrMagic:hdrMagic+4])
	}
	if binary.LittleEndian.Uint64(b[hdrChecksum:]) != blockSum(b[:hdrChecksum], shard, HeaderBlock) {
		return ErrChecksum
	}
	var want [headerSize]byte
	c.putHeader(want[:], shard)
	if [headerSize]byte(b) != want {
		return fmt.Errorf("%w: version %d algorithm %d shard %d geometry %d+%d block size %d, want version %d algorithm %d shard %d geometry %d+%d block size %d",
			ErrHeader, b[hdrVersion], b[hdrAlgorithm], b[hdrShard], b[hdrData], b[hdrParity], binary.LittleEndian.Uint32(b[hdrBlockSize:]),
			FormatVersion, ChecksumXXH3, shard, c.k, c.m, c.blockSize)
	}
	return nil
}

// blockSum is the bitrot checksum of one shard block. Keying it by position
// means a block that is intact but in the wrong place (another shard's file,
// another offset) fails verification like a corrupt one; the key is a
// bijection of (block, shard), so no two positions share it.
func blockSum(data []byte, shard int, block int64) uint64 {
	return xxh3.Hash(data) ^ positionKey(shard, block)
}

// positionKey mixes (shard, block) with the splitmix64 finalizer, a
// bijection on uint64. Blocks beyond 2^56 would alias; no stream addressable
// by an int64 offset gets near that with a non-trivial block size.
func positionKey(shard int, block int64) uint64 {
	x := uint64(block)<<8 | uint64(shard&0xff)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
