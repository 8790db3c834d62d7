package sigv2

import (
	"net/http"
	"strings"
)

// PromoteQueryHeaders moves the headers a SigV2 presigned URL carries in
// its query back into r.Header: botocore signs x-amz-*, Content-MD5 and
// Content-Type as headers, then moves them into the query, and S3 acts
// on them as headers. Verify signs the headers only, so the handler must
// act on exactly what was signed: the caller runs this before routing
// (x-amz-copy-source decides the operation) and before Verify, which
// runs it too. A name in both places with different values, or twice in
// the query, is refused with ErrMalformedPresign: one of the two copies
// would be unsigned. Requests that are not SigV2 presigned are left
// alone (SigV4 presigned URLs keep X-Amz-* parameters of their own).
func PromoteQueryHeaders(r *http.Request) error {
	if r == nil || r.URL == nil || !Detect(r) || len(r.Header["Authorization"]) > 0 {
		return nil
	}
	return promote(r)
}

// promote is PromoteQueryHeaders without the check that r is a SigV2
// presigned request (PresignRequest signs before it is one).
func promote(r *http.Request) error {
	seen := map[string]bool{}
	for _, p := range parseQuery(r.URL.RawQuery) {
		lk := strings.ToLower(p.Key)
		if !strings.HasPrefix(lk, "x-amz-") && lk != "content-md5" && lk != "content-type" {
			continue
		}
		if seen[lk] {
			return wrapf(ErrMalformedPresign, "query parameter %q given twice", truncate(lk))
		}
		seen[lk] = true
		name := http.CanonicalHeaderKey(lk)
		if have, ok := r.Header[name]; ok {
			if strings.Join(have, ",") != p.Value {
				return wrapf(ErrMalformedPresign, "%s differs between the query and the header", truncate(lk))
			}
			continue
		}
		r.Header.Set(name, p.Value)
	}
	return nil
}
