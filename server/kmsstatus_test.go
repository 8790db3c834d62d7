//go:build linux

package server

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/kms/kmstest"
)

// TestKMSStatusShown: on a real KMIP server behind a relay, the admin
// API's /cluster and objstore_kms_up show the KMS up, then down (since
// the failed call, and why: the endpoint it could not reach) once a call
// found it refusing connections, while readiness stays 200, and up again
// once a call reaches it. Before, an outage showed only as 503s, warn
// lines and objstore_kms_calls_total{result="error"}.
func TestKMSStatusShown(t *testing.T) {
	p := startPyKMIP(t)
	link := kmstest.NewLink(t, p.Endpoint)
	cfg := kmipConfig(p, link)
	cfg.KMIP.Timeout = 5 * time.Second
	srv, _ := startServerWith(t, cfg)
	user, secret := srv.Credentials()
	root := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
	ctx := context.Background()
	kmsUp := regexp.MustCompile(`(?m)^objstore_kms_up\{backend="kmip"\} (\d)$`)

	steps := []struct {
		link  string // the relay's mode
		fails bool   // the call needing the KMS fails (503 KMSUnavailable)
		state string // /cluster's kms.state after it
		gauge string // objstore_kms_up after it
	}{
		{"up", false, "up", "1"},
		{"down", true, "down", "0"},
		{"up", false, "up", "1"},
	}
	var last time.Time
	for i, st := range steps {
		link.Set(st.link)
		before := time.Now()
		err := root.Do(ctx, "GET", "/kms/keys", nil, nil) // ListKeys: asks the KMS
		var ae *admin.Error
		switch {
		case st.fails && (!errors.As(err, &ae) || ae.Status != 503 || ae.Code != "KMSUnavailable"):
			t.Fatalf("step %d, KMS %s: list keys: %v, want 503 KMSUnavailable", i, st.link, err)
		case !st.fails && err != nil:
			t.Fatalf("step %d, KMS %s: list keys: %v", i, st.link, err)
		}

		var cl admin.Cluster
		if err := root.Do(ctx, "GET", "/cluster", nil, &cl); err != nil {
			t.Fatalf("step %d: cluster: %v", i, err)
		}
		t.Logf("step %d, KMS %s: cluster kms %+v", i, st.link, cl.KMS)
		switch k := cl.KMS; {
		case k == nil:
			t.Fatalf("step %d: /cluster has no kms", i)
		case k.Backend != "kmip" || k.State != st.state:
			t.Errorf("step %d: kms %+v, want kmip %s", i, k, st.state)
		case !cl.Ready:
			t.Errorf("step %d: cluster not ready (%s) with the KMS %s, want ready", i, cl.Reason, k.State)
		case k.State == "down" && (k.Since.Before(before) || !strings.Contains(k.Cause, link.Addr)):
			t.Errorf("step %d: down since %v (call at %v), cause %q, want since the failed call and the endpoint %s named",
				i, k.Since, before, k.Cause, link.Addr)
		case k.State == "up" && k.Cause != "":
			t.Errorf("step %d: up with a cause %q", i, k.Cause)
		case k.State == "up" && i > 0 && !k.Since.After(last):
			t.Errorf("step %d: up since %v, want since the recovery (after %v)", i, k.Since, last)
		}
		last = cl.KMS.Since

		resp, body := scrape(t, srv, "GET", basicAuth(user, secret))
		m := kmsUp.FindStringSubmatch(body)
		if resp.StatusCode != 200 || m == nil || m[1] != st.gauge {
			t.Errorf("step %d: scrape %d, objstore_kms_up %q, want %s", i, resp.StatusCode, m, st.gauge)
		}
		if code, body := readyStatus(t, srv); code != 200 {
			t.Errorf("step %d: ready = %d %q with the KMS %s, want 200", i, code, body, st.link)
		}
	}
}
