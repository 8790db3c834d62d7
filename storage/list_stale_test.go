package storage

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestListDelimiterStaleRecord: a key deleted while one drive was
// offline stays on that drive until it is healed. Listed without a
// delimiter it is gone, as no read quorum holds it; listed with a
// delimiter its folder must not come back as a CommonPrefix either, as
// no object under it exists. AWS derives CommonPrefixes from the keys it
// would otherwise list ("All of the keys that roll up into a common
// prefix count as a single return"), so a prefix with no key under it
// is never listed (else `aws s3 ls` shows a phantom "PRE gone/" and
// rclone an empty directory that cannot be entered or removed).
func TestListDelimiterStaleRecord(t *testing.T) {
	s, fds, _ := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for p := range fds {
		top := fmt.Sprintf("t%d/", p)
		put(t, s, "b", top+"gone/x", []byte("x"))
		put(t, s, "b", top+"live", []byte("y"))
		fds[p].set(func(f *faultDrive) { f.offline = true })
		if err := s.DeleteObject(ctx, "b", top+"gone/x", DeleteOptions{}); err != nil {
			t.Fatalf("delete with drive %d offline: %v", p, err)
		}
		fds[p].clear()

		keys, prefixes := listAll(t, s, "b", ListOptions{Prefix: top})
		if !slices.Equal(keys, []string{top + "live"}) || len(prefixes) != 0 {
			t.Fatalf("no delimiter: keys %q prefixes %q", keys, prefixes)
		}
		keys, prefixes = listAll(t, s, "b", ListOptions{Prefix: top, Delimiter: "/"})
		if !slices.Equal(keys, []string{top + "live"}) || len(prefixes) != 0 {
			t.Errorf("drive %d missed the delete: with delimiter listed keys %q and prefixes %q, want only %q (no key is under %q)",
				p, keys, prefixes, top+"live", top+"gone/")
		}
	}
}

// TestListUploadsDelimiterStaleRecord is the same for
// ListMultipartUploads: an upload aborted while one drive was offline is
// not listed, and neither is its folder, as a CommonPrefix of no upload.
func TestListUploadsDelimiterStaleRecord(t *testing.T) {
	s, fds, _ := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for p := range fds {
		top := fmt.Sprintf("t%d/", p)
		id, err := s.NewMultipartUpload(ctx, "b", top+"gone/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.NewMultipartUpload(ctx, "b", top+"live", nil); err != nil {
			t.Fatal(err)
		}
		fds[p].set(func(f *faultDrive) { f.offline = true })
		if err := s.AbortMultipartUpload(ctx, "b", top+"gone/x", id); err != nil {
			t.Fatalf("abort with drive %d offline: %v", p, err)
		}
		fds[p].clear()

		res, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{Prefix: top})
		if err != nil || len(res.Uploads) != 1 || res.Uploads[0].Key != top+"live" {
			t.Fatalf("no delimiter: %+v %v", res, err)
		}
		res, err = s.ListMultipartUploads(ctx, "b", ListUploadsOptions{Prefix: top, Delimiter: "/"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Prefixes) != 0 || len(res.Uploads) != 1 {
			t.Errorf("drive %d missed the abort: with delimiter listed %d uploads and prefixes %q, want only the upload of %q",
				p, len(res.Uploads), res.Prefixes, top+"live")
		}
	}
}
