package s3api

import "github.com/objstore/objstore/storage"

// awsVersionIDLen is the length of the version ids AWS makes: 32
// characters of the URL-safe base64 alphabet and '.'.
const awsVersionIDLen = 32

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
	switch len(id) {
	case len(storage.NullVersionID):
		return id == storage.NullVersionID
	case awsVersionIDLen:
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	case 36:
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
	return false
}
