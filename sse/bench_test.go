package sse

import (
	"crypto/rand"
	"fmt"
	"io"
	"testing"
)

// sizedSource yields n bytes without writing them, so that the benchmarks
// measure the cipher and the framing, not a plaintext copy.
type sizedSource struct{ n int64 }

func (s *sizedSource) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	m := int(min(int64(len(p)), s.n))
	s.n -= int64(m)
	return m, nil
}

var benchSizes = []struct {
	name string
	size int64
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

func cipherName(c Cipher) string {
	if c == AES256GCM {
		return "AES-GCM"
	}
	return "ChaCha20"
}

// BenchmarkEncrypt reads whole streams through EncryptReader into a 1 MiB
// buffer, the way the erasure encoder reads its blocks.
func BenchmarkEncrypt(b *testing.B) {
	for _, c := range ciphers {
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", cipherName(c), s.name), func(b *testing.B) {
				key := fixedKey(b, c)
				buf := make([]byte, 1<<20)
				src := &sizedSource{}
				b.SetBytes(s.size)
				b.ReportAllocs()
				for b.Loop() {
					src.n = s.size
					r, err := EncryptReader(src, key, 1)
					if err != nil {
						b.Fatal(err)
					}
					for {
						if _, err := r.Read(buf); err == io.EOF {
							break
						} else if err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkDecrypt writes whole streams into DecryptWriter in 1 MiB
// writes, the way the erasure decoder hands out its blocks.
func BenchmarkDecrypt(b *testing.B) {
	for _, c := range ciphers {
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", cipherName(c), s.name), func(b *testing.B) {
				key := fixedKey(b, c)
				ct := encrypt(b, key, 1, make([]byte, s.size), 1<<20)
				span, _ := Range(0, s.size, s.size)
				b.SetBytes(s.size)
				b.ReportAllocs()
				for b.Loop() {
					w, err := DecryptWriter(io.Discard, key, 1, span)
					if err != nil {
						b.Fatal(err)
					}
					for c := ct; len(c) > 0; c = c[min(len(c), 1<<20):] {
						if _, err := w.Write(c[:min(len(c), 1<<20)]); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSeal is the bare AEAD on one 64 KiB package, sealed in place:
// the ceiling the stream benchmarks are measured against.
func BenchmarkSeal(b *testing.B) {
	for _, c := range ciphers {
		b.Run(cipherName(c)+"/64KiB", func(b *testing.B) {
			aead, err := newAEAD(c, make([]byte, KeySize))
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, packageMax)
			var n [nonceSize]byte
			b.SetBytes(P)
			b.ReportAllocs()
			for b.Loop() {
				aead.Seal(buf[:0], n[:], buf[:P], nil)
			}
		})
	}
}

// BenchmarkSealKey is the per-object cost of sealing and unsealing a key.
func BenchmarkSealKey(b *testing.B) {
	kek := make([]byte, KeySize)
	rand.Read(kek)
	key := fixedKey(b, PreferredCipher())
	sealed, _ := SealKey(kek, key, "bucket", "object")
	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := SealKey(kek, key, "bucket", "object"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Unseal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnsealKey(kek, sealed, "bucket", "object"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// copyWriter stands in for a socket: it copies every write into a buffer
// of its own, which costs about what a loopback socket write does.
type copyWriter struct{ buf []byte }

func (c *copyWriter) Write(p []byte) (int, error) {
	for q := p; len(q) > 0; {
		q = q[copy(c.buf, q):]
	}
	return len(p), nil
}

// BenchmarkDecryptGET is the decryption of a 64 MiB GET as s3api drives
// it: storage writes the ciphertext one shard of a 1 MiB erasure block
// (256 KiB, 4+2) at a time. "sync" is DecryptWriter, "pipeline" a
// DecryptPipeline; into io.Discard, or into copyWriter. Both run at about
// the cipher's speed; a memory copy is too cheap a writer for the
// pipeline to pay off (handing 1 MiB batches to another core costs more
// than copying them), which is why the pipeline is meant for socket
// writes, where the server benchmark (server/sse_decrypt_bench_test.go)
// shows the gain.
func BenchmarkDecryptGET(b *testing.B) {
	const size = 64 << 20
	key := fixedKey(b, AES256GCM)
	ct := encrypt(b, key, 0, make([]byte, size), 1<<20)
	span, _ := Range(0, size, size)
	for _, mode := range []struct {
		name string
		open func(io.Writer, ObjectKey, int, Span) (io.WriteCloser, error)
	}{{"sync", DecryptWriter}, {"pipeline", pipelined}} {
		for _, out := range []string{"discard", "copy"} {
			b.Run(fmt.Sprintf("%s/%s/AES-GCM/64MiB/256KiB-writes", mode.name, out), func(b *testing.B) {
				var dst io.Writer = io.Discard
				if out == "copy" {
					dst = &copyWriter{buf: make([]byte, 1<<20)}
				}
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					w, err := mode.open(dst, key, 0, span)
					if err != nil {
						b.Fatal(err)
					}
					for c := ct; len(c) > 0; c = c[min(len(c), 1<<18):] {
						if _, err := w.Write(c[:min(len(c), 1<<18)]); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
