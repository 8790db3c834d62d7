package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetrics(t *testing.T) {
	m := New()
	m.ObserveRequest("PutObject", 200, 3*time.Millisecond, 1024, 0)
	m.ObserveRequest("PutObject", 200, 5*time.Millisecond, 1024, 0)
	m.ObserveRequest("GetObject", 404, time.Millisecond, 0, 200)
	m.ObserveKMS("keyring", "unseal", nil)
	m.ObserveKMS("keyring", "unseal", errors.New("x"))
	m.WatchDrives(func() []DriveStat {
		return []DriveStat{{Set: 0, Position: 1, Zone: "zone-a", Path: "/d1", Online: true, Total: 100, Free: 40}, {Set: 0, Position: 2, Zone: "zone-b", Path: "/d2"}}
	})
	m.WatchHeal(func() HealStat {
		return HealStat{Running: true, Passes: 2, ObjectsScanned: 10, ObjectsHealed: 1, BytesScanned: 99}
	})
	m.WatchRequests(func() RequestStat { return RequestStat{Limit: 64, Running: 3, Waiting: 2, Refused: 7} })
	out := scrape(t, m)
	for _, want := range []string{
		`objstore_requests_limit 64`,
		`objstore_requests_running 3`,
		`objstore_requests_waiting 2`,
		`objstore_requests_slowdown_total 7`,
		`objstore_requests_total{api="PutObject",code="200"} 2`,
		`objstore_requests_total{api="GetObject",code="404"} 1`,
		`objstore_received_bytes_total{api="PutObject"} 2048`,
		`objstore_sent_bytes_total{api="GetObject"} 200`,
		`objstore_request_duration_seconds_count{api="PutObject"} 2`,
		`objstore_kms_calls_total{backend="keyring",op="unseal",result="error"} 1`,
		`objstore_drive_online{path="/d1",position="1",set="0",zone="zone-a"} 1`,
		`objstore_drive_online{path="/d2",position="2",set="0",zone="zone-b"} 0`,
		`objstore_drive_free_bytes{path="/d1",position="1",set="0",zone="zone-a"} 40`,
		`objstore_heal_objects_total{outcome="healed"} 1`,
		`objstore_heal_running 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(out, `objstore_drive_total_bytes{path="/d2"`) {
		t.Error("unknown capacity reported as 0")
	}
}

// TestKMSUp: objstore_kms_up reports the backend's state as the watch
// reads it at each scrape, and is absent while nothing is watched (a KMS
// that cannot tell).
func TestKMSUp(t *testing.T) {
	m := New()
	if out := scrape(t, m); strings.Contains(out, "objstore_kms_up") {
		t.Error("objstore_kms_up reported with no KMS watched")
	}
	var up bool
	m.WatchKMS(func() KMSStat { return KMSStat{Backend: "kmip", Up: up} })
	for _, tc := range []struct {
		up   bool
		want string
	}{
		{true, `objstore_kms_up{backend="kmip"} 1`},
		{false, `objstore_kms_up{backend="kmip"} 0`},
		{true, `objstore_kms_up{backend="kmip"} 1`},
	} {
		up = tc.up
		if out := scrape(t, m); !strings.Contains(out, tc.want+"\n") {
			t.Errorf("up %v: missing %s", tc.up, tc.want)
		}
	}
}
