package audit_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/objstore/objstore/audit"
)

func Example() {
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	l, err := audit.Open(dir, audit.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// What the S3 layer records for a write and for a denial.
	l.Append(ctx, audit.Entry{Identity: audit.User("alice"), AccessKey: "AKEXAMPLE0000000000A", Source: "192.0.2.7:51234",
		Action: "PutObject", Bucket: "photos", Key: "cat.jpg", Status: 200, RequestID: "17F0A", BytesIn: 1024})
	l.Append(ctx, audit.Entry{Identity: audit.Anonymous, Source: "203.0.113.9:4000", Action: "DeleteObject",
		Bucket: "photos", Key: "cat.jpg", Status: 403, Error: "AccessDenied", RequestID: "17F0B",
		Reason: "no statement allows s3:DeleteObject on arn:aws:s3:::photos/cat.jpg"})
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}

	rep, err := audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("records:", rep.Records, "intact:", rep.OK())

	audit.Query(ctx, dir, audit.Filter{Identity: audit.Anonymous}, func(r audit.Record) error {
		fmt.Println(r.Seq, r.Identity, r.Action, r.Status, r.Error)
		return nil
	})
	// Output:
	// records: 2 intact: true
	// 2 anonymous DeleteObject 403 AccessDenied
}
