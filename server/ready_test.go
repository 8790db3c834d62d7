package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestNotReadyWhileAuditStopped: a stopped audit log (a full audit disk)
// makes /health/ready answer 503, so changes going unaudited show.
func TestNotReadyWhileAuditStopped(t *testing.T) {
	srv, _ := startServer(t)
	ready := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr() + "/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := ready(); code != 200 {
		t.Fatalf("ready = %d %s", code, body)
	}
	srv.auditFailed = func() error { return errors.New("audit: write failed: no space left on device") }
	if code, body := ready(); code != 503 || !strings.Contains(body, "audit log") {
		t.Fatalf("ready with the audit log stopped = %d %q, want 503 naming the audit log", code, body)
	}
}
