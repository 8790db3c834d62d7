package drive_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/objstore/objstore/storage/drive"
)

// Example formats a drive, stores a shard file and the metadata record
// naming it, and reads both back.
func Example() {
	base, err := os.MkdirTemp("", "drive-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(base)
	ctx := context.Background()

	want := drive.Format{ClusterID: "6f1c2a9e-0d3b-4f57-9a51-2c8e7b4d1f30", Set: 0, Position: 3, Zone: "eu-1a"}
	d, err := drive.Open(filepath.Join(base, "disk3"), want, drive.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	// Data first: stage, then commit under a fresh data id.
	dataID := drive.NewDataID()
	sf, err := d.CreateStaging(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer sf.Abort() // no-op once committed
	if _, err := io.WriteString(sf, "shard bytes"); err != nil {
		log.Fatal(err)
	}
	if err := sf.Commit(ctx, dataID, "part.1"); err != nil {
		log.Fatal(err)
	}

	// Then the metadata that makes it visible, in one synced batch.
	key := []byte("obj/photos/cat.jpg")
	if err := d.Apply(ctx, []drive.Op{{Key: key, Value: []byte(dataID)}}); err != nil {
		log.Fatal(err)
	}

	id, err := d.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	f, err := d.OpenData(ctx, string(id), "part.1")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, f.Size())
	if _, err := f.ReadAt(buf, 0); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("position %d: %s\n", d.Info().Format.Position, buf)
	// Output: position 3: shard bytes
}
