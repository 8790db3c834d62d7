package s3api

import (
	"errors"
	"fmt"

	"github.com/objstore/objstore/s3api/sigv4"
)

// defaultRegion is what buckets without a location report when the
// operator named no region (Config.Region).
const defaultRegion = "us-east-1"

// maxRegionLen bounds a region name: it must fit in one DNS label, as
// regions do in endpoint names (s3.<region>.example.com).
const maxRegionLen = 63

// regionRule says what ValidRegion accepts, for error messages.
const regionRule = "a region name is 1 to 63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (such as eu-de-1)"

// ValidRegion reports whether s may be named as the server's region
// (Config.Region): 1 to 63 lowercase letters, digits and hyphens,
// starting with a letter and not ending with a hyphen, as AWS names its
// regions ("eu-central-1"). Every such name is also a valid bucket
// location (storage.ValidLocation).
func ValidRegion(s string) bool {
	if s == "" || len(s) > maxRegionLen || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// errIllegalLocation: CreateBucket names a LocationConstraint other than
// the region the operator named.
var errIllegalLocation = errors.New("s3api: location constraint of another region")

// checkLocationRegion refuses a CreateBucket LocationConstraint naming
// another region than the one the operator named, as AWS's regional
// endpoints refuse one (IllegalLocationConstraintException). Without a
// named region, or without a constraint, anything goes as before.
func (h *Handler) checkLocationRegion(location string) error {
	if want := h.verifier.Region; want == "" || location == "" || location == want {
		return nil
	}
	// location passed storage.ValidLocation: letters, digits, '-', '_'.
	return withMessage(errIllegalLocation, fmt.Sprintf(
		"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", location))
}

// formRegionError is a SigV4 POST form whose x-amz-credential names
// another region than the one the operator named. AWS answers it with 400
// InvalidArgument naming the field (ArgumentName X-Amz-Credential) and
// the expected region, not with the header or query errors.
type formRegionError struct {
	got, want  string
	credential string // the field as sent, cut to maxArgumentValue
}

func (e *formRegionError) Error() string {
	return fmt.Sprintf("s3api: POST form: the region %q is wrong; expecting %q", e.got, e.want)
}

func (e *formRegionError) Unwrap() error { return errInvalidArgument }

// maxArgumentValue bounds what an Error document echoes of a client's
// value.
const maxArgumentValue = 256

// checkFormRegion refuses a form credential's region other than the one
// the operator named.
func (h *Handler) checkFormRegion(region, credential string) error {
	want := h.verifier.Region
	if want == "" || region == want {
		return nil
	}
	if len(region) > 64 {
		region = region[:64]
	}
	if len(credential) > maxArgumentValue {
		credential = credential[:maxArgumentValue]
	}
	return &formRegionError{got: region, want: want, credential: credential}
}

// regionDetail is what the Error document of a wrong-region refusal adds:
// the region expected (the Region element and x-amz-bucket-region, which
// minio-go, botocore and the AWS SDKs read to retry in the right region)
// and, for a form, the field at fault.
type regionDetail struct {
	want          string
	argumentName  string
	argumentValue string
}

// wrongRegion returns the regionDetail of err, ok false when err is not a
// wrong-region refusal.
func wrongRegion(err error) (regionDetail, bool) {
	var fe *formRegionError
	if errors.As(err, &fe) {
		return regionDetail{want: fe.want, argumentName: "X-Amz-Credential", argumentValue: fe.credential}, true
	}
	var re *sigv4.RegionError
	if errors.As(err, &re) {
		return regionDetail{want: re.Want}, true
	}
	return regionDetail{}, false
}
