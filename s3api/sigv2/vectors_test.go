package sigv2

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// The requests, strings to sign and signatures below are the worked
// examples of AWS's "Signing and authenticating REST requests (AWS
// signature version 2)" (RESTAuthentication), signed with the example key.
// The Host header decides the bucket there; the handler passes it as
// hostBucket when the request is virtual-host style.

// awsDate is the DELETE example's x-amz-date.
const awsDate = "Tue, 27 Mar 2007 21:20:26 +0000"

func TestAWSHeaderExamples(t *testing.T) {
	tests := []struct {
		name       string
		request    []string
		hostBucket string
		toSign     string // the documentation's StringToSign; "" = not shown
		signature  string
	}{
		{
			name: "Object GET",
			request: []string{"GET /photos/puppy.jpg HTTP/1.1", "Host: johnsmith.s3.amazonaws.com",
				"Date: Tue, 27 Mar 2007 19:36:42 +0000"},
			hostBucket: "johnsmith",
			toSign:     "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
			signature:  "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
		},
		{
			name: "Object PUT",
			request: []string{"PUT /photos/puppy.jpg HTTP/1.1", "Content-Type: image/jpeg", "Content-Length: 94328",
				"Host: johnsmith.s3.amazonaws.com", "Date: Tue, 27 Mar 2007 21:15:45 +0000"},
			hostBucket: "johnsmith",
			toSign:     "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
			signature:  "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
		},
		{
			// prefix, max-keys and marker select nothing: not signed.
			name: "List",
			request: []string{"GET /?prefix=photos&max-keys=50&marker=puppy HTTP/1.1", "User-Agent: Mozilla/5.0",
				"Host: johnsmith.s3.amazonaws.com", "Date: Tue, 27 Mar 2007 19:42:41 +0000"},
			hostBucket: "johnsmith",
			toSign:     "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
			signature:  "htDYFYduRNen8P9ZfE/s9SuKy0U=",
		},
		{
			name: "Fetch (sub-resource acl)",
			request: []string{"GET /?acl HTTP/1.1", "Host: johnsmith.s3.amazonaws.com",
				"Date: Tue, 27 Mar 2007 19:44:46 +0000"},
			hostBucket: "johnsmith",
			toSign:     "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
			signature:  "c2WLPFtWHVgbEmeEG93a4cG37dM=",
		},
		{
			// The documented string puts x-amz-date's value on the Date
			// line (and not among the x-amz headers); see
			// TestXAmzDateRule for the rule the text states.
			name: "Delete with x-amz-date",
			request: []string{"DELETE /johnsmith/photos/puppy.jpg HTTP/1.1", "User-Agent: dotnet",
				"Host: s3.amazonaws.com", "Date: Tue, 27 Mar 2007 21:20:27 +0000", "x-amz-date: " + awsDate},
			signature: "lx3byBScXR6KzyMaifNkardMwNk=",
		},
		{
			// A CNAME bucket: the whole host names the bucket.
			name: "Upload with many x-amz headers",
			request: []string{"PUT /db-backup.dat.gz HTTP/1.1", "User-Agent: curl/7.15.5",
				"Host: static.johnsmith.net:8080", "Date: Tue, 27 Mar 2007 21:06:08 +0000",
				"x-amz-acl: public-read", "content-type: application/x-download",
				"Content-MD5: 4gJE4saaMU4BqNR0kLY+lw==",
				"X-Amz-Meta-ReviewedBy: joe@johnsmith.net", "X-Amz-Meta-ReviewedBy: jane@johnsmith.net",
				"X-Amz-Meta-FileChecksum: 0x02661779", "X-Amz-Meta-ChecksumAlgorithm: crc32",
				"Content-Disposition: attachment; filename=database.dat", "Content-Encoding: gzip",
				"Content-Length: 5913339"},
			hostBucket: "static.johnsmith.net",
			toSign: "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n" +
				"x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n" +
				"x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz",
			signature: "ilyl83RwaSoYIEdixDQcA4OnAnc=",
		},
		{
			name:      "List all my buckets",
			request:   []string{"GET / HTTP/1.1", "Host: s3.amazonaws.com", "Date: Wed, 28 Mar 2007 01:29:59 +0000"},
			toSign:    "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
			signature: "qGdzdERIC03wnaRNKh6OqZehG9s=",
		},
		{
			// The path is signed as sent, lower-case escapes included.
			name: "Unicode keys",
			request: []string{"GET /dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re HTTP/1.1", "Host: s3.amazonaws.com",
				"Date: Wed, 28 Mar 2007 01:49:49 +0000"},
			toSign:    "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
			signature: "DNEZGsoieTZ92F3bUfSPQcbGmlM=",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := readRequest(t, append(tc.request, "Authorization: AWS "+exampleAccessKey+":"+tc.signature)...)
			if tc.toSign != "" {
				if got := firstStringToSign(r, false, tc.hostBucket); got != tc.toSign {
					t.Errorf("string to sign:\n got %q\nwant %q", got, tc.toSign)
				}
				want := sign(exampleSecret, tc.toSign)
				if got := base64.StdEncoding.EncodeToString(want[:]); got != tc.signature {
					t.Errorf("HMAC of the documented string = %s, documented %s", got, tc.signature)
				}
			}
			at, ok := parseTime(r.Header.Get("Date"))
			if !ok {
				t.Fatalf("example Date %q does not parse", r.Header.Get("Date"))
			}
			auth, err := verifierAt(at.Add(time.Minute)).Verify(r, tc.hostBucket)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if auth.AccessKey != exampleAccessKey || auth.Presigned {
				t.Errorf("auth = %+v", auth)
			}
		})
	}
}

// TestXAmzDateRule: the documentation's rule (an x-amz-date makes the Date
// line empty, and x-amz-date is signed among the x-amz headers) is what
// clients implement; the DELETE example's own form is accepted too.
func TestXAmzDateRule(t *testing.T) {
	r := readRequest(t, "DELETE /johnsmith/photos/puppy.jpg HTTP/1.1", "Host: s3.amazonaws.com",
		"Date: Tue, 27 Mar 2007 21:20:27 +0000", "x-amz-date: "+awsDate)
	want := "DELETE\n\n\n\nx-amz-date:" + awsDate + "\n/johnsmith/photos/puppy.jpg"
	if got := firstStringToSign(r, false, ""); got != want {
		t.Fatalf("string to sign:\n got %q\nwant %q", got, want)
	}
	sig := sign(exampleSecret, want)
	r.Header.Set("Authorization", "AWS "+exampleAccessKey+":"+base64.StdEncoding.EncodeToString(sig[:]))
	at, _ := parseTime(awsDate)
	auth, err := verifierAt(at).Verify(r, "")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !auth.Time.Equal(at) {
		t.Errorf("Time = %s, want x-amz-date %s", auth.Time, at)
	}
	// Date is not signed when x-amz-date is present: changing it changes
	// nothing, changing x-amz-date breaks the signature.
	r.Header.Set("Date", "Wed, 28 Mar 2007 01:29:59 +0000")
	if _, err := verifierAt(at).Verify(r, ""); err != nil {
		t.Errorf("Verify with another Date: %v", err)
	}
	r.Header.Set("X-Amz-Date", "Tue, 27 Mar 2007 21:20:27 +0000")
	if _, err := verifierAt(at).Verify(r, ""); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Errorf("Verify with another x-amz-date: %v, want ErrSignatureDoesNotMatch", err)
	}
}

func TestAWSPresignedExample(t *testing.T) {
	const target = "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"
	r := readRequest(t, "GET "+target+" HTTP/1.1", "Host: johnsmith.s3.amazonaws.com")
	const toSign = "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg"
	if got := firstStringToSign(r, true, "johnsmith"); got != toSign {
		t.Fatalf("string to sign:\n got %q\nwant %q", got, toSign)
	}
	want, _ := base64.StdEncoding.DecodeString("NpgCjnDzrM+WFzoENXmpNDUsSn8=")
	if got := sign(exampleSecret, toSign); !hmac.Equal(got[:], want) {
		t.Fatalf("HMAC of the documented string is not the documented signature")
	}
	expires := time.Unix(1175139620, 0)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"long before", expires.Add(-24 * time.Hour), nil},
		{"at Expires", expires, nil},
		{"one second after", expires.Add(time.Second), ErrExpiredPresign},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth, err := verifierAt(tc.now).Verify(r, "johnsmith")
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if err == nil && (!auth.Presigned || !auth.Expires.Equal(expires) || !auth.Time.IsZero()) {
				t.Errorf("auth = %+v", auth)
			}
		})
	}
}
