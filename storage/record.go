package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Metadata records are encoded as a format version byte followed by
// tagged fields:
//
//	record  = version:u8 field*
//	field   = tag:uvarint len:uvarint bytes[len]
//
// Integers are uvarints inside their field; strings are raw bytes; nested
// records (versions, parts, metadata pairs) are fields holding fields. A
// reader skips tags it does not know, so a field can be added without a
// version bump; the version byte changes only when a field changes
// meaning, and then the decoder migrates the old form.
const recordVersion = 1

var errRecordCorrupt = errors.New("storage: metadata record corrupt")

type recordEncoder struct{ b []byte }

func (e *recordEncoder) bytes(tag uint64, v []byte) {
	e.b = binary.AppendUvarint(e.b, tag)
	e.b = binary.AppendUvarint(e.b, uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *recordEncoder) str(tag uint64, v string) {
	if v == "" {
		return
	}
	e.b = binary.AppendUvarint(e.b, tag)
	e.b = binary.AppendUvarint(e.b, uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *recordEncoder) uint(tag uint64, v uint64) {
	if v == 0 {
		return
	}
	var tmp [binary.MaxVarintLen64]byte
	e.bytes(tag, binary.AppendUvarint(tmp[:0], v))
}

func (e *recordEncoder) int(tag uint64, v int64) { e.uint(tag, uint64(v)) }

func (e *recordEncoder) bool(tag uint64, v bool) {
	if v {
		e.uint(tag, 1)
	}
}

// nested encodes fn's fields as one field.
func (e *recordEncoder) nested(tag uint64, fn func(*recordEncoder)) {
	var sub recordEncoder
	fn(&sub)
	e.bytes(tag, sub.b)
}

// metadata encodes a string map in key order, so equal maps give equal
// bytes: listing compares the drives' records byte for byte.
func (e *recordEncoder) metadata(tag uint64, md map[string]string) {
	if len(md) == 0 {
		return
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.nested(tag, func(s *recordEncoder) {
		for _, k := range keys {
			s.nested(1, func(p *recordEncoder) {
				p.bytes(1, []byte(k))
				p.bytes(2, []byte(md[k]))
			})
		}
	})
}

// eachField calls fn for every field of b.
func eachField(b []byte, fn func(tag uint64, v []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errRecordCorrupt
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return errRecordCorrupt
		}
		v := b[n : n+int(l)]
		b = b[n+int(l):]
		if err := fn(tag, v); err != nil {
			return err
		}
	}
	return nil
}

func fieldUint(v []byte) (uint64, error) {
	x, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return 0, errRecordCorrupt
	}
	return x, nil
}

func fieldInt(v []byte) (int64, error) {
	x, err := fieldUint(v)
	return int64(x), err
}

func decodeMetadata(v []byte) (map[string]string, error) {
	md := make(map[string]string)
	err := eachField(v, func(tag uint64, pair []byte) error {
		if tag != 1 {
			return nil
		}
		var k, val string
		if err := eachField(pair, func(t uint64, x []byte) error {
			switch t {
			case 1:
				k = string(x)
			case 2:
				val = string(x)
			}
			return nil
		}); err != nil {
			return err
		}
		md[k] = val
		return nil
	})
	return md, err
}

// openRecord checks the version byte and returns the fields.
func openRecord(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errRecordCorrupt
	}
	if b[0] != recordVersion {
		return nil, fmt.Errorf("storage: metadata record version %d not supported: %w", b[0], errRecordCorrupt)
	}
	return b[1:], nil
}

func newRecord() recordEncoder { return recordEncoder{b: []byte{recordVersion}} }

// bucketRecord is a bucket's metadata, stored on every drive.
type bucketRecord struct {
	Name     string
	Created  int64 // unix nanoseconds
	Location string
	// Metadata holds the upper layers' bucket settings (encryption
	// configuration, sealed bucket key, policy), opaque here.
	Metadata map[string]string
	// Updated orders the record's versions: after a partial update the
	// newest record a read quorum holds wins.
	Updated int64
}

func (r *bucketRecord) encode() []byte {
	e := newRecord()
	e.str(1, r.Name)
	e.int(2, r.Created)
	e.str(3, r.Location)
	e.metadata(4, r.Metadata)
	e.int(5, r.Updated)
	return e.b
}

func decodeBucket(b []byte) (bucketRecord, error) {
	var r bucketRecord
	fields, err := openRecord(b)
	if err != nil {
		return r, err
	}
	err = eachField(fields, func(tag uint64, v []byte) (err error) {
		switch tag {
		case 1:
			r.Name = string(v)
		case 2:
			r.Created, err = fieldInt(v)
		case 3:
			r.Location = string(v)
		case 4:
			r.Metadata, err = decodeMetadata(v)
		case 5:
			r.Updated, err = fieldInt(v)
		}
		return err
	})
	return r, err
}

// versionRecord is one version of an object. Every drive of the set holds
// the same versionRecord; only the shard it holds differs.
type versionRecord struct {
	VersionID string
	DataID    string // unique per write: names the data directory or inline key
	ModTime   int64  // unix nanoseconds
	Size      int64
	ETag      string
	Metadata  map[string]string
	// Erasure layout, fixed at write time so later defaults never
	// reinterpret old data.
	DataShards   int
	ParityShards int
	BlockSize    int
	// Rotation maps drives to shards: the drive at set position p holds
	// shard (p + Rotation) % (DataShards+ParityShards). Rotating per
	// object spreads data-shard reads over all drives.
	Rotation int
	Inline   bool        // shards live in the drives' metadata, not files
	Parts    []partEntry // one entry for a simple PUT
	// Replaces is the data id of the version with the same version id
	// this one replaced when it was written. Should the write stop
	// between the drives' commits, a drive holding this version still
	// vouches for the one it replaced, so that version stays visible
	// (see classify).
	Replaces string
}

// partEntry locates one erasure-coded part of a version.
type partEntry struct {
	Number int
	Size   int64
	ETag   string
	File   string // data file name inside the version's data directory
	// Metadata is what the part's Finish returned (checksums).
	Metadata map[string]string
	ModTime  int64
	// DataID names the part's own data directory (multipart parts); ""
	// means the version's.
	DataID string
}

func (p *partEntry) encodeFields(e *recordEncoder) {
	e.uint(1, uint64(p.Number))
	e.int(2, p.Size)
	e.str(3, p.ETag)
	e.str(4, p.File)
	e.metadata(5, p.Metadata)
	e.int(6, p.ModTime)
	e.str(7, p.DataID)
}

func decodePartFields(v []byte) (partEntry, error) {
	var p partEntry
	err := eachField(v, func(tag uint64, x []byte) (err error) {
		var u uint64
		switch tag {
		case 1:
			u, err = fieldUint(x)
			p.Number = int(u)
		case 2:
			p.Size, err = fieldInt(x)
		case 3:
			p.ETag = string(x)
		case 4:
			p.File = string(x)
		case 5:
			p.Metadata, err = decodeMetadata(x)
		case 6:
			p.ModTime, err = fieldInt(x)
		case 7:
			p.DataID = string(x)
		}
		return err
	})
	return p, err
}

// dataIDs lists the data directories the version's parts live in.
func (v *versionRecord) dataIDs() []string {
	ids := []string{v.DataID}
	for _, p := range v.Parts {
		if p.DataID != "" && p.DataID != v.DataID {
			ids = append(ids, p.DataID)
		}
	}
	return ids
}

// partDataID is the data directory holding part p of v.
func (v *versionRecord) partDataID(p *partEntry) string {
	if p.DataID != "" {
		return p.DataID
	}
	return v.DataID
}

// objectRecord holds every version of one key, newest first.
type objectRecord struct {
	Versions []versionRecord
}

func (r *objectRecord) encode() []byte {
	e := newRecord()
	for i := range r.Versions {
		v := &r.Versions[i]
		e.nested(1, func(e *recordEncoder) {
			e.str(1, v.VersionID)
			e.str(2, v.DataID)
			e.int(3, v.ModTime)
			e.int(4, v.Size)
			e.str(5, v.ETag)
			e.metadata(6, v.Metadata)
			e.uint(7, uint64(v.DataShards))
			e.uint(8, uint64(v.ParityShards))
			e.uint(9, uint64(v.BlockSize))
			e.uint(10, uint64(v.Rotation))
			e.bool(11, v.Inline)
			for i := range v.Parts {
				e.nested(12, v.Parts[i].encodeFields)
			}
			e.str(13, v.Replaces)
		})
	}
	return e.b
}

// decodeObject decodes a record; with withMetadata false it skips the
// metadata maps (listing needs only sizes, ETags and times).
func decodeObject(b []byte, withMetadata bool) (objectRecord, error) {
	var r objectRecord
	fields, err := openRecord(b)
	if err != nil {
		return r, err
	}
	err = eachField(fields, func(tag uint64, vb []byte) error {
		if tag != 1 {
			return nil
		}
		var v versionRecord
		err := eachField(vb, func(tag uint64, x []byte) (err error) {
			var u uint64
			switch tag {
			case 1:
				v.VersionID = string(x)
			case 2:
				v.DataID = string(x)
			case 3:
				v.ModTime, err = fieldInt(x)
			case 4:
				v.Size, err = fieldInt(x)
			case 5:
				v.ETag = string(x)
			case 6:
				if withMetadata {
					v.Metadata, err = decodeMetadata(x)
				}
			case 7:
				u, err = fieldUint(x)
				v.DataShards = int(u)
			case 8:
				u, err = fieldUint(x)
				v.ParityShards = int(u)
			case 9:
				u, err = fieldUint(x)
				v.BlockSize = int(u)
			case 10:
				u, err = fieldUint(x)
				v.Rotation = int(u)
			case 11:
				v.Inline = true
			case 12:
				var p partEntry
				p, err = decodePartFields(x)
				v.Parts = append(v.Parts, p)
			case 13:
				v.Replaces = string(x)
			}
			return err
		})
		if err != nil {
			return err
		}
		r.Versions = append(r.Versions, v)
		return nil
	})
	return r, err
}

// uploadRecord is a multipart upload in progress.
type uploadRecord struct {
	Key       string
	UploadID  string
	Initiated int64
	Metadata  map[string]string
}

func (r *uploadRecord) encode() []byte {
	e := newRecord()
	e.str(1, r.Key)
	e.str(2, r.UploadID)
	// Tag 3 is reserved: it held an upload-wide data directory before
	// parts got directories of their own.
	e.int(4, r.Initiated)
	e.metadata(5, r.Metadata)
	return e.b
}

func decodeUpload(b []byte) (uploadRecord, error) {
	var r uploadRecord
	fields, err := openRecord(b)
	if err != nil {
		return r, err
	}
	err = eachField(fields, func(tag uint64, v []byte) (err error) {
		switch tag {
		case 1:
			r.Key = string(v)
		case 2:
			r.UploadID = string(v)
		case 4:
			r.Initiated, err = fieldInt(v)
		case 5:
			r.Metadata, err = decodeMetadata(v)
		}
		return err
	})
	return r, err
}

func encodePart(p *partEntry) []byte {
	e := newRecord()
	p.encodeFields(&e)
	return e.b
}

func decodePart(b []byte) (partEntry, error) {
	fields, err := openRecord(b)
	if err != nil {
		return partEntry{}, err
	}
	return decodePartFields(fields)
}

// decodeLatest is decodeObject(b, false).latest() for listings, which
// show only the latest version's time, size, ETag and parts: it builds
// no strings or maps for the other versions, nor for the metadata of
// parts, data ids or Replaces, and returns a version holding only the
// fields versionRecord.info reads (VersionID, ModTime, Size, ETag,
// Parts with Number, Size, ETag, File and DataID). It accepts and refuses
// exactly the records decodeObject does, so a listing fails on a
// corrupt record as a read would.
func decodeLatest(b []byte) (versionRecord, bool, error) {
	fields, err := openRecord(b)
	if err != nil {
		return versionRecord{}, false, err
	}
	var v versionRecord
	found := false
	err = eachField(fields, func(tag uint64, vb []byte) error {
		if tag != 1 {
			return nil
		}
		keep := !found
		found = true
		return decodeListedVersion(vb, &v, keep)
	})
	if err != nil || !found {
		return versionRecord{}, false, err
	}
	return v, true, nil
}

// decodeListedVersion checks one version's fields as decodeObject does
// and, with keep, stores what a listing shows in v.
func decodeListedVersion(vb []byte, v *versionRecord, keep bool) error {
	return eachField(vb, func(tag uint64, x []byte) error {
		var err error
		switch tag {
		case 1:
			if keep {
				v.VersionID = string(x)
			}
		case 3:
			var t int64
			t, err = fieldInt(x)
			if keep {
				v.ModTime = t
			}
		case 4:
			var n int64
			n, err = fieldInt(x)
			if keep {
				v.Size = n
			}
		case 5:
			if keep {
				v.ETag = string(x)
			}
		case 7, 8, 9, 10:
			_, err = fieldUint(x)
		case 12:
			var p partEntry
			p, err = decodeListedPart(x, keep)
			if keep && err == nil {
				v.Parts = append(v.Parts, p)
			}
		}
		return err
	})
}

// listedPartFile is the data file of a simple PUT's only part, returned
// without an allocation for the common case.
const listedPartFile = "part.1"

// decodeListedPart checks a part's fields as decodePartFields does and,
// with keep, returns the ones a listing shows.
func decodeListedPart(x []byte, keep bool) (partEntry, error) {
	var p partEntry
	err := eachField(x, func(tag uint64, f []byte) error {
		var err error
		switch tag {
		case 1:
			var u uint64
			u, err = fieldUint(f)
			p.Number = int(u)
		case 2:
			p.Size, err = fieldInt(f)
		case 3:
			if keep {
				p.ETag = string(f)
			}
		case 4:
			switch {
			case !keep:
			case string(f) == listedPartFile:
				p.File = listedPartFile
			default:
				p.File = string(f)
			}
		case 5:
			err = checkMetadata(f)
		case 6:
			_, err = fieldInt(f)
		case 7:
			// Only multipart parts have a data directory of their own:
			// it tells a one-part multipart object from a simple PUT.
			if keep && len(f) > 0 {
				p.DataID = string(f)
			}
		}
		return err
	})
	return p, err
}

// checkMetadata accepts exactly the metadata fields decodeMetadata does,
// without building the map.
func checkMetadata(v []byte) error {
	return eachField(v, func(tag uint64, pair []byte) error {
		if tag != 1 {
			return nil
		}
		return eachField(pair, func(uint64, []byte) error { return nil })
	})
}
