package admin_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/kms"
)

// TestClusterKMS: /cluster reports the KMS backend up or down, since
// when and, while down, why, as Config.KMSHealth tells it; with no
// KMSHealth (a KMS that cannot tell) the kms object is absent. Readiness
// does not follow the KMS.
func TestClusterKMS(t *testing.T) {
	srv, _ := start(t)
	user, secret := srv.Credentials()
	since := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	const cause = "kms: backend failed: kmip: connect to 127.0.0.1:5696: connection refused"
	tests := []struct {
		name   string
		health func() kms.Health
		want   *admin.KMSHealth
	}{
		{"no health", nil, nil},
		{"up", func() kms.Health { return kms.Health{Backend: "kmip", Since: since} },
			&admin.KMSHealth{Backend: "kmip", State: "up", Since: since.UTC()}},
		{"down", func() kms.Health { return kms.Health{Backend: "kmip", Down: true, Since: since, Cause: cause} },
			&admin.KMSHealth{Backend: "kmip", State: "down", Since: since.UTC(), Cause: cause}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := admin.New(admin.Config{IAM: srv.IAM(), Store: srv.Store(), Root: srv.Credentials, KMSHealth: tt.health})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", admin.Prefix+"/cluster", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.SetBasicAuth(user, secret)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			body := w.Body.String()
			var cl admin.Cluster
			if err := json.Unmarshal([]byte(body), &cl); err != nil {
				t.Fatal(err)
			}
			if !cl.Ready {
				t.Errorf("ready %v %q, want ready whatever the KMS", cl.Ready, cl.Reason)
			}
			switch {
			case tt.want == nil && (cl.KMS != nil || strings.Contains(body, `"kms"`)):
				t.Errorf("kms reported with no KMSHealth: %s", body)
			case tt.want != nil && (cl.KMS == nil || *cl.KMS != *tt.want):
				t.Errorf("kms %+v, want %+v", cl.KMS, tt.want)
			}
		})
	}
}
