package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/objstore/objstore/storage"
)

// fakeStore is a map-based ObjectLayer with the semantics storage.Store
// documents: Finish after EOF and before commit, preconditions under the
// lock, multipart checks, listing with delimiters. Simple, not fast.
type fakeStore struct {
	mu          sync.Mutex
	now         func() time.Time
	minPartSize int64
	buckets     map[string]*fakeBucket
	uploads     map[string]*fakeUpload
	// panicOn makes the named method panic, to test the recover path.
	panicOn string
}

type fakeBucket struct {
	info    storage.BucketInfo
	objects map[string]*fakeObject
}

type fakeObject struct {
	info     storage.ObjectInfo
	data     []byte
	uploadID string // the upload completed into it, if any
	parts    []storage.CompletePart
}

type fakeUpload struct {
	up    storage.MultipartUpload
	parts map[int]*fakePart
}

type fakePart struct {
	info storage.PartInfo
	data []byte
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		now:         time.Now,
		minPartSize: storage.MinPartSize,
		buckets:     map[string]*fakeBucket{},
		uploads:     map[string]*fakeUpload{},
	}
}

var _ ObjectLayer = (*fakeStore)(nil)

func (s *fakeStore) maybePanic(name string) {
	if s.panicOn == name {
		panic("fakeStore: induced panic in " + name)
	}
}

func (s *fakeStore) MakeBucket(_ context.Context, bucket, location string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[bucket]; ok {
		return fmt.Errorf("fake: %q: %w", bucket, storage.ErrBucketExists)
	}
	if location == "nowhere" {
		return storage.ErrNoSuchPlacement
	}
	s.buckets[bucket] = &fakeBucket{
		info:    storage.BucketInfo{Name: bucket, Created: s.now(), Location: location},
		objects: map[string]*fakeObject{},
	}
	return nil
}

func (s *fakeStore) bucket(name string) (*fakeBucket, error) {
	b, ok := s.buckets[name]
	if !ok {
		return nil, fmt.Errorf("fake: %q: %w", name, storage.ErrBucketNotFound)
	}
	return b, nil
}

func (s *fakeStore) BucketInfo(_ context.Context, bucket string) (storage.BucketInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return storage.BucketInfo{}, err
	}
	return b.info, nil
}

func (s *fakeStore) ListBuckets(context.Context) ([]storage.BucketInfo, error) {
	s.maybePanic("ListBuckets")
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.BucketInfo
	for _, b := range s.buckets {
		out = append(out, b.info)
	}
	return out, nil
}

func (s *fakeStore) DeleteBucket(_ context.Context, bucket string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return err
	}
	if len(b.objects) > 0 {
		return storage.ErrBucketNotEmpty
	}
	delete(s.buckets, bucket)
	return nil
}

// readBody reads body to EOF, enforcing the declared size.
func readBody(body io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(body)
	}
	data, err := io.ReadAll(io.LimitReader(body, size+1))
	if err != nil {
		return nil, err
	}
	switch {
	case int64(len(data)) < size:
		return nil, storage.ErrIncompleteBody
	case int64(len(data)) > size:
		return nil, storage.ErrEntityTooLarge
	}
	return data, nil
}

func finishPut(opts storage.PutOptions, data []byte) (string, map[string]string, error) {
	if opts.Finish == nil {
		sum := md5.Sum(data)
		return hex.EncodeToString(sum[:]), nil, nil
	}
	return opts.Finish()
}

func (s *fakeStore) PutObject(_ context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	s.mu.Lock()
	_, err := s.bucket(bucket)
	s.mu.Unlock()
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	data, err := readBody(body, opts.Size)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	etag, extra, err := finishPut(opts, data)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := runPrecondition(opts.Precondition, b.objects[key]); err != nil {
		return storage.ObjectInfo{}, err
	}
	md := maps.Clone(opts.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	maps.Copy(md, extra)
	info := storage.ObjectInfo{
		Bucket: bucket, Key: key, VersionID: storage.NullVersionID,
		Size: int64(len(data)), ModTime: s.now(), ETag: etag, Metadata: md,
	}
	b.objects[key] = &fakeObject{info: info, data: data}
	return info, nil
}

func runPrecondition(pre func(*storage.ObjectInfo) error, cur *fakeObject) error {
	if pre == nil {
		return nil
	}
	if cur == nil {
		return pre(nil)
	}
	info := cur.info
	return pre(&info)
}

func (s *fakeStore) object(bucket, key, versionID string) (*fakeObject, error) {
	b, err := s.bucket(bucket)
	if err != nil {
		return nil, err
	}
	o, ok := b.objects[key]
	if !ok {
		return nil, fmt.Errorf("fake: %q: %w", key, storage.ErrObjectNotFound)
	}
	if versionID != "" && versionID != o.info.VersionID {
		return nil, storage.ErrVersionNotFound
	}
	return o, nil
}

type fakeReader struct {
	info storage.ObjectInfo
	data []byte
}

func (r *fakeReader) Info() storage.ObjectInfo { return r.info }

func (r *fakeReader) Close() error { return nil }

func (r *fakeReader) WriteRange(ctx context.Context, w io.Writer, offset, length int64) error {
	if offset < 0 || length < 0 || offset+length > int64(len(r.data)) {
		return fmt.Errorf("fake: range %d+%d of %d: %w", offset, length, len(r.data), storage.ErrInvalidArgument)
	}
	// Write in pieces, as a real store streams blocks.
	p := r.data[offset : offset+length]
	for len(p) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(p), 64<<10)
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (s *fakeStore) OpenObject(_ context.Context, bucket, key string, opts storage.GetOptions) (storage.ObjectReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.object(bucket, key, opts.VersionID)
	if err != nil {
		return nil, err
	}
	return &fakeReader{info: cloneInfo(o.info), data: o.data}, nil
}

func cloneInfo(i storage.ObjectInfo) storage.ObjectInfo {
	i.Metadata = maps.Clone(i.Metadata)
	return i
}

func (s *fakeStore) ObjectInfo(_ context.Context, bucket, key string, opts storage.GetOptions) (storage.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.object(bucket, key, opts.VersionID)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	return cloneInfo(o.info), nil
}

func (s *fakeStore) DeleteObject(_ context.Context, bucket, key string, opts storage.DeleteOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.object(bucket, key, opts.VersionID)
	if err != nil {
		return err
	}
	if err := runPrecondition(opts.Precondition, o); err != nil {
		return err
	}
	delete(s.buckets[bucket].objects, key)
	return nil
}

func (s *fakeStore) UpdateMetadata(_ context.Context, bucket, key, versionID string, md map[string]string, pre func(*storage.ObjectInfo) error) (storage.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.object(bucket, key, versionID)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := runPrecondition(pre, o); err != nil {
		return storage.ObjectInfo{}, err
	}
	o.info.Metadata = maps.Clone(md)
	o.info.ModTime = s.now()
	return cloneInfo(o.info), nil
}

func (s *fakeStore) ListObjects(_ context.Context, bucket string, opts storage.ListOptions) (storage.ListResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return storage.ListResult{}, err
	}
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 || maxKeys > 1000 {
		maxKeys = 1000
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var res storage.ListResult
	n := 0
	last := ""
	for _, k := range keys {
		if k <= opts.After || !strings.HasPrefix(k, opts.Prefix) {
			continue
		}
		entry, isPrefix := k, false
		if opts.Delimiter != "" {
			rest := k[len(opts.Prefix):]
			if i := strings.Index(rest, opts.Delimiter); i >= 0 {
				entry, isPrefix = opts.Prefix+rest[:i+len(opts.Delimiter)], true
				if entry <= opts.After || entry == last {
					continue
				}
			}
		}
		if n == maxKeys {
			res.IsTruncated = true
			res.NextAfter = last
			break
		}
		n++
		last = entry
		if isPrefix {
			res.Prefixes = append(res.Prefixes, entry)
		} else {
			res.Objects = append(res.Objects, cloneInfo(b.objects[k].info))
		}
	}
	return res, nil
}

// newID makes an upload id of the store's form (storage.WellFormedUploadID:
// 32 hex digits), which ListMultipartUploads checks its markers against.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *fakeStore) NewMultipartUpload(_ context.Context, bucket, key string, md map[string]string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.bucket(bucket); err != nil {
		return "", err
	}
	id := newID()
	s.uploads[id] = &fakeUpload{
		up:    storage.MultipartUpload{Bucket: bucket, Key: key, UploadID: id, Initiated: s.now(), Metadata: maps.Clone(md)},
		parts: map[int]*fakePart{},
	}
	return id, nil
}

func (s *fakeStore) upload(bucket, key, id string) (*fakeUpload, error) {
	if _, err := s.bucket(bucket); err != nil {
		return nil, err
	}
	u, ok := s.uploads[id]
	if !ok || u.up.Bucket != bucket || u.up.Key != key {
		return nil, storage.ErrUploadNotFound
	}
	return u, nil
}

func (s *fakeStore) PutObjectPart(_ context.Context, bucket, key, uploadID string, pn int, body io.Reader, opts storage.PutOptions) (storage.PartInfo, error) {
	s.mu.Lock()
	_, err := s.upload(bucket, key, uploadID)
	s.mu.Unlock()
	if err != nil {
		return storage.PartInfo{}, err
	}
	if pn < 1 || pn > storage.MaxPartNumber {
		return storage.PartInfo{}, storage.ErrInvalidArgument
	}
	data, err := readBody(body, opts.Size)
	if err != nil {
		return storage.PartInfo{}, err
	}
	etag, extra, err := finishPut(opts, data)
	if err != nil {
		return storage.PartInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.upload(bucket, key, uploadID)
	if err != nil {
		return storage.PartInfo{}, err
	}
	info := storage.PartInfo{Number: pn, Size: int64(len(data)), ETag: etag, ModTime: s.now(), Metadata: extra}
	u.parts[pn] = &fakePart{info: info, data: data}
	return info, nil
}

func (s *fakeStore) ListParts(_ context.Context, bucket, key, uploadID string, marker, maxParts int) (storage.ListPartsResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.upload(bucket, key, uploadID)
	if err != nil {
		return storage.ListPartsResult{}, err
	}
	if maxParts <= 0 {
		maxParts = 1000
	}
	nums := make([]int, 0, len(u.parts))
	for n := range u.parts {
		if n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	res := storage.ListPartsResult{Upload: u.up}
	res.Upload.Metadata = maps.Clone(u.up.Metadata)
	for i, n := range nums {
		if i == maxParts {
			res.IsTruncated = true
			res.NextPartNumberMarker = nums[i-1]
			break
		}
		res.Parts = append(res.Parts, u.parts[n].info)
	}
	return res, nil
}

func (s *fakeStore) AbortMultipartUpload(_ context.Context, bucket, key, uploadID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.upload(bucket, key, uploadID); err != nil {
		return err
	}
	delete(s.uploads, uploadID)
	return nil
}

func (s *fakeStore) CompleteMultipartUpload(_ context.Context, bucket, key, uploadID string, parts []storage.CompletePart, opts storage.CompleteOptions) (storage.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.upload(bucket, key, uploadID)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if len(parts) == 0 {
		return storage.ObjectInfo{}, storage.ErrInvalidPart
	}
	chosen := make([]storage.PartInfo, 0, len(parts))
	var data []byte
	var md5s []byte
	var objParts []storage.ObjectPart
	prev := 0
	for _, cp := range parts {
		if cp.Number <= prev {
			return storage.ObjectInfo{}, storage.ErrInvalidPartOrder
		}
		prev = cp.Number
	}
	for i, cp := range parts {
		p, ok := u.parts[cp.Number]
		if !ok || strings.Trim(cp.ETag, `"`) != p.info.ETag {
			return storage.ObjectInfo{}, fmt.Errorf("fake: part %d: %w", cp.Number, storage.ErrInvalidPart)
		}
		if i < len(parts)-1 && p.info.Size < s.minPartSize {
			return storage.ObjectInfo{}, storage.ErrPartTooSmall
		}
		chosen = append(chosen, p.info)
		data = append(data, p.data...)
		sum, _ := hex.DecodeString(p.info.ETag)
		md5s = append(md5s, sum...)
		objParts = append(objParts, storage.ObjectPart{Number: p.info.Number, Size: p.info.Size, ETag: p.info.ETag, Metadata: p.info.Metadata})
	}
	var extra map[string]string
	if opts.Finish != nil {
		if extra, err = opts.Finish(chosen); err != nil {
			return storage.ObjectInfo{}, err
		}
	}
	b := s.buckets[bucket]
	if err := runPrecondition(opts.Precondition, b.objects[key]); err != nil {
		return storage.ObjectInfo{}, err
	}
	sum := md5.Sum(md5s)
	md := maps.Clone(u.up.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	maps.DeleteFunc(md, func(k, _ string) bool { return strings.HasPrefix(k, storage.UploadMetadataPrefix) })
	maps.Copy(md, extra)
	info := storage.ObjectInfo{
		Bucket: bucket, Key: key, VersionID: storage.NullVersionID, Size: int64(len(data)),
		ModTime: s.now(), ETag: fmt.Sprintf("%s-%d", hex.EncodeToString(sum[:]), len(parts)),
		Metadata: md, Parts: objParts,
	}
	b.objects[key] = &fakeObject{info: info, data: bytes.Clone(data), uploadID: uploadID, parts: slices.Clone(parts)}
	delete(s.uploads, uploadID)
	return cloneInfo(info), nil
}

func (s *fakeStore) CompletedUpload(_ context.Context, bucket, key, uploadID string, parts []storage.CompletePart) (storage.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	o := b.objects[key]
	if o == nil || o.uploadID != uploadID || !slices.Equal(o.parts, parts) {
		return storage.ObjectInfo{}, storage.ErrUploadNotFound
	}
	return cloneInfo(o.info), nil
}

func (s *fakeStore) ListMultipartUploads(_ context.Context, bucket string, opts storage.ListUploadsOptions) (storage.ListUploadsResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.bucket(bucket); err != nil {
		return storage.ListUploadsResult{}, err
	}
	var ups []storage.MultipartUpload
	for _, u := range s.uploads {
		if u.up.Bucket == bucket && strings.HasPrefix(u.up.Key, opts.Prefix) {
			ups = append(ups, u.up)
		}
	}
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].Key != ups[j].Key {
			return ups[i].Key < ups[j].Key
		}
		return ups[i].UploadID < ups[j].UploadID
	})
	maxUploads := opts.MaxUploads
	if maxUploads <= 0 {
		maxUploads = 1000
	}
	var res storage.ListUploadsResult
	n := 0
	lastPrefix := ""
	for _, u := range ups {
		if opts.KeyMarker != "" {
			if u.Key < opts.KeyMarker || (u.Key == opts.KeyMarker && (opts.UploadIDMarker == "" || u.UploadID <= opts.UploadIDMarker)) {
				continue
			}
		}
		if opts.Delimiter != "" {
			rest := u.Key[len(opts.Prefix):]
			if i := strings.Index(rest, opts.Delimiter); i >= 0 {
				p := opts.Prefix + rest[:i+len(opts.Delimiter)]
				if p == lastPrefix {
					continue
				}
				if n == maxUploads {
					res.IsTruncated = true
					break
				}
				lastPrefix = p
				res.Prefixes = append(res.Prefixes, p)
				n++
				res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.UploadID
				continue
			}
		}
		if n == maxUploads {
			res.IsTruncated = true
			break
		}
		res.Uploads = append(res.Uploads, u)
		n++
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.UploadID
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}
