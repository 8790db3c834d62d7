package s3api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/objstore/objstore/storage"
)

// deleteConditions are the preconditions of a delete: If-Match, which
// AWS takes on general purpose buckets (and DeleteObjects as each
// Object's ETag), and the size and modification time AWS takes on
// directory buckets, honoured here too: ignoring any of them would
// delete an object its client asked to keep.
type deleteConditions struct {
	ifMatch string    // an ETag list, or "*"; "" for none
	size    int64     // the plaintext size; -1 for none
	modTime time.Time // compared at one-second resolution; zero for none
}

// any reports whether the delete has a condition at all.
func (d deleteConditions) any() bool { return d.ifMatch != "" || d.size >= 0 || !d.modTime.IsZero() }

// readDeleteConditions reads If-Match, x-amz-if-match-size and
// x-amz-if-match-last-modified-time (an HTTP date) of a DeleteObject.
func readDeleteConditions(h http.Header) (deleteConditions, error) {
	d := deleteConditions{ifMatch: strings.TrimSpace(h.Get("If-Match")), size: -1}
	if v := strings.TrimSpace(h.Get("x-amz-if-match-size")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return d, withMessage(errInvalidArgument, "Invalid value for x-amz-if-match-size.")
		}
		d.size = n
	}
	if v := strings.TrimSpace(h.Get("x-amz-if-match-last-modified-time")); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return d, withMessage(errInvalidArgument, "Invalid value for x-amz-if-match-last-modified-time.")
		}
		d.modTime = t
	}
	return d, nil
}

// deleteConditionsOf reads the conditions of one Object of a
// DeleteObjects body (LastModifiedTime is an XML timestamp there).
func deleteConditionsOf(o deleteObject) (deleteConditions, error) {
	d := deleteConditions{ifMatch: strings.TrimSpace(o.ETag), size: -1}
	if o.Size != nil {
		if *o.Size < 0 {
			return d, withMessage(errMalformedXML, "Size must not be negative.")
		}
		d.size = *o.Size
	}
	if v := strings.TrimSpace(o.LastModifiedTime); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return d, withMessage(errMalformedXML, "LastModifiedTime is not a timestamp.")
		}
		d.modTime = t
	}
	return d, nil
}

// deletePrecondition returns the check storage runs under the object's lock,
// nil when there is none. Sizes are compared as the client sees them:
// the plaintext's, not the sealed packages storage holds.
func (h *Handler) deletePrecondition(d deleteConditions) func(*storage.ObjectInfo) error {
	if !d.any() {
		return nil
	}
	return func(cur *storage.ObjectInfo) error {
		if d.ifMatch != "" && !etagMatches(d.ifMatch, cur.ETag, strongComparison) {
			return fmt.Errorf("s3api: delete If-Match: %w", storage.ErrPreconditionFailed)
		}
		if d.size >= 0 {
			size := cur.Size
			if h.keys != nil {
				size = listedPlainSize(*cur)
			}
			if size != d.size {
				return fmt.Errorf("s3api: delete x-amz-if-match-size: %w", storage.ErrPreconditionFailed)
			}
		}
		if !d.modTime.IsZero() && !cur.ModTime.Truncate(time.Second).Equal(d.modTime.Truncate(time.Second)) {
			return fmt.Errorf("s3api: delete x-amz-if-match-last-modified-time: %w", storage.ErrPreconditionFailed)
		}
		return nil
	}
}
