package sse_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/objstore/objstore/sse"
)

// Example walks one object through a PUT and a ranged GET: a fresh object
// key sealed under the bucket key, the body encrypted as stream 0, then
// the key unsealed and only the packages of the range decrypted.
func Example() {
	bucketKey := make([]byte, sse.KeySize) // in objstore: unwrapped by the KMS
	if _, err := rand.Read(bucketKey); err != nil {
		log.Fatal(err)
	}

	// PUT: seal a new object key, encrypt the body.
	key, err := sse.NewObjectKey()
	if err != nil {
		log.Fatal(err)
	}
	sealedKey, err := sse.SealKey(bucketKey, key, "photos", "2024/cat.txt")
	if err != nil {
		log.Fatal(err)
	}
	body := strings.Repeat("the cat sat on the mat. ", 10000) // 240,000 bytes, 4 packages
	enc, err := sse.EncryptReader(strings.NewReader(body), key, 0)
	if err != nil {
		log.Fatal(err)
	}
	stored, err := io.ReadAll(enc) // in objstore: erasure-coded onto drives
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored", len(stored), "bytes, sealed key", len(sealedKey), "bytes")

	// GET bytes 131064..131086, across a package boundary: unseal the key,
	// then read and decrypt just the two packages holding them.
	key, err = sse.UnsealKey(bucketKey, sealedKey, "photos", "2024/cat.txt")
	if err != nil {
		log.Fatal(err)
	}
	span, err := sse.Range(131064, 23, int64(len(body)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("read ciphertext", span.CipherOffset, "+", span.CipherLength)
	dec, err := sse.DecryptWriter(os.Stdout, key, 0, span)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(dec, bytes.NewReader(stored[span.CipherOffset:span.CipherOffset+span.CipherLength])); err != nil {
		log.Fatal(err)
	}
	if err := dec.Close(); err != nil { // reports a truncated read
		log.Fatal(err)
	}
	fmt.Println()
	// Output:
	// stored 240064 bytes, sealed key 82 bytes
	// read ciphertext 65552 + 131104
	// the cat sat on the mat.
}

// ExampleDecryptPipeline reads a range across the parts of a multipart
// object: ObjectRange says which ciphertext of which part to read, and one
// pipeline decrypts the parts in order while its own goroutine writes the
// plaintext out.
func ExampleDecryptPipeline() {
	key, err := sse.NewObjectKey()
	if err != nil {
		log.Fatal(err)
	}
	// Two parts, numbered as uploaded, stored one after the other.
	parts := []sse.Part{{Number: 1, Size: 5}, {Number: 2, Size: 6}}
	var stored []byte
	for i, text := range []string{"hello", " world"} {
		enc, err := sse.EncryptReader(strings.NewReader(text), key, parts[i].Number)
		if err != nil {
			log.Fatal(err)
		}
		ct, err := io.ReadAll(enc)
		if err != nil {
			log.Fatal(err)
		}
		stored = append(stored, ct...)
	}

	spans, err := sse.ObjectRange(parts, 3, 6) // "lo wor"
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	pl := sse.NewDecryptPipeline(&out)
	defer pl.Close() // stops the writer goroutine on every path
	for _, s := range spans {
		w, err := pl.DecryptWriter(key, s.Number, s.Span)
		if err != nil {
			log.Fatal(err)
		}
		start := s.Base + s.CipherOffset // in objstore: storage's WriteRange
		if _, err := w.Write(stored[start : start+s.CipherLength]); err != nil {
			log.Fatal(err)
		}
		if err := w.Close(); err != nil {
			log.Fatal(err)
		}
	}
	if err := pl.Close(); err != nil { // waits until everything is written
		log.Fatal(err)
	}
	fmt.Printf("%q\n", out.String())
	// Output:
	// "lo wor"
}
