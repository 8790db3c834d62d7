package server

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// awsCLI runs the aws cli against srv and returns its standard output.
func awsCLI(t *testing.T, srv *Server, args ...string) string {
	t.Helper()
	user, secret := srv.Credentials()
	// aws cli v1 presigns with Signature Version 2 unless told otherwise;
	// this test drives SigV4 (compat/run.sh checks the SigV2 default).
	config := filepath.Join(t.TempDir(), "aws-config")
	os.WriteFile(config, []byte("[default]\ns3 =\n    signature_version = s3v4\n"), 0o600)
	cmd := exec.Command("aws", append([]string{"--endpoint-url", "http://" + srv.Addr(), "--region", "us-east-1"}, args...)...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+user,
		"AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestAWSCLI drives the server with the aws cli: a 100 MiB multipart
// upload and download, listing, a ranged get, presign fetched by curl,
// recursive removal.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("SKIPPED LOUDLY: the aws cli is not installed; .ci/run installs it (apt-get install awscli)")
	}
	if testing.Short() {
		t.Skip("the aws cli test moves 200 MiB; skipped with -short")
	}
	srv, _ := startServer(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	big := randBody(42, 100<<20)
	if err := os.WriteFile(src, big, 0o644); err != nil {
		t.Fatal(err)
	}
	awsCLI(t, srv, "s3", "mb", "s3://cli")
	awsCLI(t, srv, "s3", "cp", src, "s3://cli/dir/big.bin")
	awsCLI(t, srv, "s3", "cp", filepath.Join(dir, "big.bin"), "s3://cli/other.bin")
	dst := filepath.Join(dir, "back.bin")
	awsCLI(t, srv, "s3", "cp", "s3://cli/dir/big.bin", dst)
	back, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(back, big) {
		t.Fatalf("download differs: %v", err)
	}
	ls := awsCLI(t, srv, "s3", "ls", "s3://cli/", "--recursive")
	if !strings.Contains(ls, "dir/big.bin") || !strings.Contains(ls, "other.bin") || !strings.Contains(ls, "104857600") {
		t.Fatalf("ls:\n%s", ls)
	}
	head := awsCLI(t, srv, "s3api", "head-object", "--bucket", "cli", "--key", "dir/big.bin")
	if !strings.Contains(head, `"ContentLength": 104857600`) {
		t.Fatalf("head-object:\n%s", head)
	}
	part := filepath.Join(dir, "range.bin")
	awsCLI(t, srv, "s3api", "get-object", "--bucket", "cli", "--key", "dir/big.bin", "--range", "bytes=1000-1999", part)
	got, _ := os.ReadFile(part)
	if !bytes.Equal(got, big[1000:2000]) {
		t.Fatalf("range get: %d bytes", len(got))
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		url := strings.TrimSpace(awsCLI(t, srv, "s3", "presign", "s3://cli/dir/big.bin", "--expires-in", "300"))
		out := filepath.Join(dir, "curl.bin")
		cmd := exec.Command(curl, "-sSf", "-o", out, url)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("curl presigned: %v %s", err, b)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, big) {
			t.Fatal("presigned download differs")
		}
	} else {
		t.Log("curl not installed: presigned fetch through Go's client only (TestEndToEnd)")
	}
	awsCLI(t, srv, "s3", "rm", "s3://cli/", "--recursive")
	if ls := awsCLI(t, srv, "s3api", "list-objects-v2", "--bucket", "cli"); strings.Contains(ls, "Key") {
		t.Fatalf("after rm --recursive:\n%s", ls)
	}
	awsCLI(t, srv, "s3", "rb", "s3://cli")
}
