package storage

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The drives' metadata key space. Object keys are arbitrary UTF-8 and
// only ever appear inside these byte strings, never in a file path.
//
//	B<bucket>                          bucket record (every drive)
//	O<bucket>\x00<key>                 object record: all versions of a key
//	I<dataID>                          this drive's shard of an inline version
//	U<bucket>\x00<key>\x00<uploadID>   multipart upload in progress
//	P<uploadID>\x00<part number u32>   an uploaded part
//	Xscan                              this drive's note of the last heal pass
//
// Bucket names never contain NUL and keys are refused if they do, so the
// separator keeps keys of one bucket contiguous and in byte order.
const (
	prefixBucket = 'B'
	prefixObject = 'O'
	prefixInline = 'I'
	prefixUpload = 'U'
	prefixPart   = 'P'
	prefixLocal  = 'X' // state of this process kept per drive, not replicated data
)

func bucketKey(bucket string) []byte {
	return append([]byte{prefixBucket}, bucket...)
}

func objectKey(bucket, key string) []byte {
	b := make([]byte, 0, 2+len(bucket)+len(key))
	b = append(b, prefixObject)
	b = append(b, bucket...)
	b = append(b, 0)
	return append(b, key...)
}

func inlineKey(dataID string) []byte {
	return append([]byte{prefixInline}, dataID...)
}

func uploadKey(bucket, key, uploadID string) []byte {
	b := objectKey(bucket, key)
	b[0] = prefixUpload
	b = append(b, 0)
	return append(b, uploadID...)
}

func partKey(uploadID string, number int) []byte {
	b := make([]byte, 0, 2+len(uploadID)+4)
	b = append(b, prefixPart)
	b = append(b, uploadID...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint32(b, uint32(number))
}

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil when there is none (all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// ValidLocation reports whether s is a region-like bucket location:
// 1 to 64 letters, digits, dashes and underscores. Every way of creating
// a bucket (S3, the admin API) applies it: the location comes back in
// headers and listings.
func ValidLocation(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkKey refuses object keys S3 would refuse and keys the key space
// cannot hold.
func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty object key", ErrInvalidArgument)
	case len(key) > MaxObjectKeyLen:
		return fmt.Errorf("%w: object key longer than %d bytes", ErrInvalidArgument, MaxObjectKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: object key is not UTF-8", ErrInvalidArgument)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: object key contains NUL", ErrInvalidArgument)
	}
	return nil
}
