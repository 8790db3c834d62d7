package sigv4_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/objstore/objstore/s3api/sigv4"
)

func Example() {
	// The server side: a Verifier that knows one key.
	v := &sigv4.Verifier{Secret: func(ak string) (string, bool) {
		return "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ak == "AKIAIOSFODNN7EXAMPLE"
	}}

	// A client signs a PUT of a small payload with its SHA-256.
	payload := "hello"
	r := httptest.NewRequest(http.MethodPut, "http://localhost:9000/bucket/greeting.txt", strings.NewReader(payload))
	const helloSHA256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if err := sigv4.SignRequest(r, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"us-east-1", time.Now(), helloSHA256); err != nil {
		panic(err)
	}

	// The handler authenticates, then reads the payload through Body only.
	auth, err := v.Verify(r)
	if err != nil {
		fmt.Println("denied:", err)
		return
	}
	body, err := auth.Body(r)
	if err != nil {
		fmt.Println("bad body:", err)
		return
	}
	data, err := io.ReadAll(body) // the hash is checked at EOF
	fmt.Println(auth.AccessKey, string(data), err)
	// Output: AKIAIOSFODNN7EXAMPLE hello <nil>
}

func ExamplePresignURL() {
	u, _ := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	s, _ := sigv4.PresignURL(http.MethodGet, u.URL, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"us-east-1", time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC), 24*time.Hour)
	fmt.Println(s)
	// Output: https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404
}
