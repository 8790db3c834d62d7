// Command gentree writes a deterministic tree of files for the
// compatibility gate (compat/run.sh): many small files in nested folders,
// a few large ones, and a folder of awkward names (spaces, '+', '%',
// '=', '&', non-ASCII) that catch key-encoding bugs in signing and
// listing. The same -seed always gives the same bytes and names, so a
// failure can be replayed.
//
// Usage:
//
//	gentree -dir DIR -seed N [-small N] [-small-max BYTES] [-large N] [-large-size BYTES]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// oddNames are file names that exercise URL and signature encoding.
var oddNames = [...]string{
	"with space.txt",
	"plus+sign.bin",
	"percent%20literal.bin",
	"equals=and&amp.bin",
	"ünïcødé-名前.bin",
	"tilde~and'quote.bin",
	"semi;colon,comma.bin",
}

type options struct {
	dir       string
	seed      uint64
	small     int
	smallMax  int
	large     int
	largeSize int64
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "folder to create (must not exist or be empty)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of names, sizes and contents")
	flag.IntVar(&o.small, "small", 1000, "number of small files")
	flag.IntVar(&o.smallMax, "small-max", 64<<10, "largest small file in bytes")
	flag.IntVar(&o.large, "large", 3, "number of large files")
	flag.Int64Var(&o.largeSize, "large-size", 48<<20, "size of each large file in bytes")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.dir == "" {
		return errors.New("-dir is required")
	}
	if o.small < 0 || o.large < 0 || o.smallMax < 0 || o.largeSize < 0 {
		return errors.New("counts and sizes must not be negative")
	}
	rng := rand.New(rand.NewPCG(o.seed, 0x636f6d706174))
	// Contents come from a separate stream so that changing a count does
	// not change every other file's bytes.
	data := rand.NewChaCha8(seed32(o.seed))

	for i := 0; i < o.small; i++ {
		// Nest by two levels so listings with delimiters have prefixes.
		name := filepath.Join(o.dir, "small", fmt.Sprintf("d%02d", i%17), fmt.Sprintf("e%d", i%5), fmt.Sprintf("f%05d.dat", i))
		size := 0
		if i%50 != 0 { // every 50th file is empty
			size = rng.IntN(o.smallMax + 1)
		}
		if err := writeFile(name, int64(size), data); err != nil {
			return err
		}
	}
	for i, n := range oddNames {
		if err := writeFile(filepath.Join(o.dir, "odd", n), int64(100+i*1000), data); err != nil {
			return err
		}
	}
	for i := 0; i < o.large; i++ {
		// Sizes straddle block and part boundaries: not a multiple of
		// anything a client or the server uses.
		size := o.largeSize + int64(i)*12345
		if err := writeFile(filepath.Join(o.dir, "large", fmt.Sprintf("large-%d.bin", i)), size, data); err != nil {
			return err
		}
	}
	return nil
}

func seed32(s uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(s >> (8 * i))
	}
	copy(b[8:], "objstore compat gentree")
	return b
}

func writeFile(name string, size int64, src io.Reader) (err error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if _, err := io.CopyN(f, src, size); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
