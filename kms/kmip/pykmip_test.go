//go:build linux

package kmip

import (
	"os"
	"sync"
	"testing"

	"github.com/objstore/objstore/kms/kmstest"
)

// shared is the one PyKMIP server the package's tests use; starting one
// takes seconds. TestMain stops it.
var shared struct {
	once sync.Once
	srv  *pykmip
	err  error
}

func TestMain(m *testing.M) {
	kmstest.BecomeSubreaper()
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
		os.RemoveAll(shared.srv.Dir)
	}
	os.Exit(code)
}

// pykmip is kmstest's PyKMIP server and the client configuration for it.
type pykmip struct {
	*kmstest.PyKMIP
	cfg Config
}

func (p *pykmip) stop() { p.Stop() }

func (p *pykmip) start() string {
	if err := p.Start(); err != nil {
		return err.Error()
	}
	return ""
}

func (p *pykmip) restart(t testing.TB) { p.Restart(t) }

// sharedPyKMIP returns the package's PyKMIP server, starting it on first
// use. Tests that use it run one at a time (none is parallel).
func sharedPyKMIP(t testing.TB) *pykmip {
	t.Helper()
	kmstest.SkipWithoutPyKMIP(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "objstore-pykmip-")
		if err != nil {
			shared.err = err
			return
		}
		p, err := kmstest.NewPyKMIP(dir)
		if err != nil {
			shared.err = err
			return
		}
		shared.srv = &pykmip{PyKMIP: p, cfg: Config{Endpoint: p.Endpoint, CAFile: p.CAFile, CertFile: p.CertFile, KeyFile: p.KeyFile}}
		shared.err = p.Start()
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	if !shared.srv.Running() { // a test stopped it and failed before restarting
		if err := shared.srv.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return shared.srv
}

// writeCerts writes a CA, a server and a client certificate into dir.
func writeCerts(dir string) error { return kmstest.WriteCerts(dir) }
