package compat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/server"
)

// tools are the programs run.sh needs, with the Debian package that
// brings each.
var tools = []struct{ bin, pkg string }{
	{"restic", "restic"},
	{"rclone", "rclone"},
	{"aws", "awscli"},
	{"s3cmd", "s3cmd"},
	{"curl", "curl"},
	{"go", "golang (the toolchain)"},
	{"bash", "bash"},
}

// summaryLine is run.sh's last line.
var summaryLine = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

// TestRealClients runs compat/run.sh against a fresh in-process server.
func TestRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("the real-client gate moves about 400 MiB through five clients; skipped with -short")
	}
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool.bin); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", tool.bin, tool.pkg))
		}
	}
	if len(missing) > 0 {
		msg := "real-client gate: missing " + strings.Join(missing, ", ") + "; .ci/run installs them"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED LOUDLY: " + msg)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const user, password = "compat-root", "compat-root-password"
	srv, err := server.Start(ctx, server.Config{
		Address:      "127.0.0.1:0",
		DataDir:      t.TempDir(),
		RootUser:     user,
		RootPassword: password,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		if err := srv.Close(cctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})

	cmd := exec.CommandContext(ctx, "bash", "run.sh", "http://"+srv.Addr(), user, password)
	cmd.Env = append(os.Environ(), "COMPAT_STRICT_KNOWN=1", "TMPDIR="+t.TempDir())
	var out bytes.Buffer
	// Progress goes to the terminal as well under -v, since the run
	// takes minutes.
	var sink io.Writer = &out
	if testing.Verbose() {
		sink = io.MultiWriter(&out, os.Stderr)
	}
	cmd.Stdout, cmd.Stderr = sink, sink
	runErr := cmd.Run()

	text := out.String()
	m := summaryLine.FindAllStringSubmatch(text, -1)
	if m == nil {
		t.Fatalf("run.sh printed no summary line (%v); output:\n%s", runErr, text)
	}
	last := m[len(m)-1]
	t.Log(last[0])
	failed, _ := strconv.Atoi(last[2])
	if failed > 0 || runErr != nil {
		t.Fatalf("real-client gate failed (%v); output:\n%s", runErr, text)
	}
}
