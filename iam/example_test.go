package iam_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/objstore/objstore/iam"
)

func Example() {
	dir, err := os.MkdirTemp("", "iam-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := iam.Open(dir, iam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// A policy giving each user a home prefix, and a user with a key.
	_, err = store.PutPolicy(ctx, "home", []byte(`{
	  "Version": "2012-10-17",
	  "Statement": [{"Effect": "Allow", "Action": "s3:*",
	                 "Resource": "arn:aws:s3:::home/${aws:username}/*"}]
	}`))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.CreateUser(ctx, "alice", "home"); err != nil {
		log.Fatal(err)
	}
	key, err := store.CreateAccessKey(ctx, "alice", iam.AccessKeyOptions{})
	if err != nil {
		log.Fatal(err)
	}

	// What the S3 layer does on each request: find the secret to check
	// the signature, then ask the engine about every permission needed.
	_, user, _ := store.Secret(key.ID)
	engine := iam.NewEngine(store, iam.EngineOptions{})
	for _, key := range []string{"alice/notes.txt", "bob/notes.txt"} {
		perms, _ := iam.Permissions("PutObject", iam.Target{Bucket: "home", Key: key})
		p := perms[0]
		d := engine.Authorize(iam.Request{Principal: user, Action: p.Action, Bucket: p.Bucket, Key: p.Key}, nil)
		fmt.Printf("%s %s: %v (%s)\n", p.Action, key, d.Allowed, d.Reason)
	}
	// Output:
	// s3:PutObject alice/notes.txt: true (allowed by Statement[0] of policy "home")
	// s3:PutObject bob/notes.txt: false (no statement allows s3:PutObject on arn:aws:s3:::home/bob/notes.txt)
}
