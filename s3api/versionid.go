package s3api

import (
	"fmt"
	"net/url"

	"github.com/objstore/objstore/storage"
)

// Version ids AWS makes are base64 text of at least 32 characters (the
// examples in its documentation run from 32 to 76, with '+', '/' and '.'),
// and at most a query parameter's length in practice.
const (
	awsVersionIDMinLen = 32
	awsVersionIDMaxLen = 1024
)

// readVersionID returns the versionId query parameter of a request that
// names one object version (GET, HEAD, GetObjectAttributes, DeleteObject,
// a copy source): "" when there is none, and errInvalidVersionID, AWS's
// 400 InvalidArgument, for an id no store could have made, where a
// well-formed id of no version is NoSuchVersion (a delete: nothing to do).
// A parameter present but empty is errEmptyVersionID, as in AWS: a client
// whose version id came out empty must not read, copy or delete the
// current version instead.
func readVersionID(q url.Values) (string, error) {
	vid := q.Get("versionId")
	if _, given := q["versionId"]; given && vid == "" {
		return "", errEmptyVersionID
	}
	if vid != "" && !wellFormedVersionID(vid) {
		return "", fmt.Errorf("s3api: version %q: %w", vid, errInvalidVersionID)
	}
	return vid, nil
}

// wellFormedVersionID reports whether id could name a version at all.
// AWS tells an id it could never have made (such as "abc") from one of a
// version that does not exist: a delete of the first is refused (400
// InvalidArgument for DeleteObject, NoSuchVersion for a key of
// DeleteObjects), a delete of the second deletes nothing and succeeds.
// objstore makes only "null" while versioning is off; AWS's form and a
// UUID (MinIO's form, and the likely one when versioning comes) are taken
// as well-formed too, so that ids a client carries over from those stores
// get the "no such version" answer, not the "malformed" one.
func wellFormedVersionID(id string) bool {
	if id == storage.NullVersionID {
		return true
	}
	if len(id) == 36 && isUUID(id) {
		return true
	}
	if len(id) < awsVersionIDMinLen || len(id) > awsVersionIDMaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '+' || c == '/' || c == '=' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isUUID reports whether id is a UUID in its 36-character text form.
func isUUID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
