package drive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FormatVersion is the version of format.json this package writes. Readers
// accept every version up to it; a newer one is refused with ErrBadFormat so
// that an old binary never misreads a drive a newer one has migrated.
const FormatVersion = 1

// maxFormatSize bounds how much of format.json is read: the real file is a
// few hundred bytes, anything far larger is not ours.
const maxFormatSize = 64 << 10

// Format is the drive's identity, stored as JSON in <dir>/format.json.
// It lets Open refuse a drive from another cluster or one plugged into the
// wrong slot, before anything is written to it.
type Format struct {
	// Version is the format file version, FormatVersion (1).
	Version int `json:"version"`
	// ClusterID is the random id of the cluster (UUID-like string).
	ClusterID string `json:"cluster_id"`
	// DriveID is the random id of this drive, generated at format time
	// when the caller leaves it empty.
	DriveID string `json:"drive_id"`
	// Set is the erasure set index.
	Set int `json:"set"`
	// Position is the drive's position within the set (0..k+m-1).
	Position int `json:"position"`
	// Zone is the name of the zone the drive belongs to.
	Zone string `json:"zone"`
}

// validate reports why f cannot be stored or used, wrapping ErrBadFormat.
func (f Format) validate() error {
	switch {
	case f.Version < 1 || f.Version > FormatVersion:
		return fmt.Errorf("%w: unsupported version %d (this build reads 1..%d)", ErrBadFormat, f.Version, FormatVersion)
	case f.ClusterID == "":
		return fmt.Errorf("%w: empty cluster id", ErrBadFormat)
	case f.DriveID == "":
		return fmt.Errorf("%w: empty drive id", ErrBadFormat)
	case f.Set < 0:
		return fmt.Errorf("%w: negative set %d", ErrBadFormat, f.Set)
	case f.Position < 0:
		return fmt.Errorf("%w: negative position %d", ErrBadFormat, f.Position)
	}
	return nil
}

// ReadFormat reads <dir>/format.json. It returns ErrUnformatted if the
// folder is missing, empty or has no format file, ErrBadFormat if the file
// cannot be used, and an ErrOffline-wrapped error on device errors.
func ReadFormat(dir string) (Format, error) {
	f, err := os.Open(filepath.Join(dir, fileFormat))
	if err != nil {
		if isNotExist(err) {
			return Format{}, fmt.Errorf("drive: read format in %s: %w", dir, ErrUnformatted)
		}
		return Format{}, ioError("read format", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFormatSize+1))
	if err != nil {
		return Format{}, ioError("read format", err)
	}
	fm, err := parseFormat(b)
	if err != nil {
		return Format{}, fmt.Errorf("drive: read format in %s: %w", dir, err)
	}
	return fm, nil
}

// parseFormat decodes and validates the bytes of a format.json. Unknown
// fields are ignored so that a later minor addition stays readable.
func parseFormat(b []byte) (Format, error) {
	if len(b) > maxFormatSize {
		return Format{}, fmt.Errorf("%w: file larger than %d bytes", ErrBadFormat, maxFormatSize)
	}
	var fm Format
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&fm); err != nil {
		return Format{}, fmt.Errorf("%w: %w", ErrBadFormat, err)
	}
	// A second value after the object means the file is not ours.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Format{}, fmt.Errorf("%w: trailing data after the JSON object", ErrBadFormat)
	}
	if err := fm.validate(); err != nil {
		return Format{}, err
	}
	return fm, nil
}

// marshalFormat returns the bytes stored in format.json.
func marshalFormat(f Format) ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("drive: encode format: %w", err)
	}
	return append(b, '\n'), nil
}

// writeFormat stores f as <dir>/format.json durably: the bytes go to a
// temporary file in tmp/, are fsynced, renamed into place and the folder is
// fsynced. format.json is the last thing a format creates, so its presence
// means the layout is complete.
func writeFormat(dir string, f Format) error {
	b, err := marshalFormat(f)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, dirTmp, "format-"+NewDataID()+".json")
	if err := writeFileSync(tmp, b); err != nil {
		_ = os.Remove(tmp)
		return ioError("write format", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, fileFormat)); err != nil {
		_ = os.Remove(tmp)
		return ioError("write format", err)
	}
	if err := syncDir(dir); err != nil {
		return ioError("write format", err)
	}
	return nil
}

// writeFileSync creates path (which must not exist), writes b and fsyncs.
func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a power loss.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
