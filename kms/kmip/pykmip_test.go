//go:build linux

package kmip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// shared is the one PyKMIP server the package's tests use; starting one
// takes seconds. TestMain stops it.
var shared struct {
	once sync.Once
	srv  *pykmip
	err  string
}

func TestMain(m *testing.M) {
	// Orphans of the server (PyKMIP's multiprocessing manager) are
	// re-parented to this process instead of init, so that stop can reap
	// them: init here does not, and they would linger as zombies.
	const prSetChildSubreaper = 36
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	code := m.Run()
	if shared.srv != nil {
		shared.srv.stop()
		os.RemoveAll(shared.srv.dir)
	}
	os.Exit(code)
}

// sharedPyKMIP returns the package's PyKMIP server, starting it on first
// use. Tests that use it run one at a time (none is parallel).
func sharedPyKMIP(t testing.TB) *pykmip {
	t.Helper()
	skipWithoutPyKMIP(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "objstore-pykmip-")
		if err != nil {
			shared.err = err.Error()
			return
		}
		shared.srv, shared.err = newPyKMIP(dir)
		if shared.err == "" {
			shared.err = shared.srv.start()
		}
	})
	if shared.err != "" {
		t.Fatal(shared.err)
	}
	if shared.srv.cmd == nil { // a test stopped it and failed before restarting
		if err := shared.srv.start(); err != "" {
			t.Fatal(err)
		}
	}
	return shared.srv
}

func skipWithoutPyKMIP(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("pykmip-server")
	if err != nil {
		msg := "SKIPPING KMIP TESTS: pykmip-server is not installed (Debian package python3-pykmip: apt-get install python3-pykmip)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI is set, so this is a failure")
		}
		t.Skip(msg)
	}
	return bin
}

// pykmip is a PyKMIP server started by a test: certificates generated
// here, a config file, a SQLite database, a free loopback port.
type pykmip struct {
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	// waitCh receives the server's exit once it has been reaped.
	waitCh chan error
	cfg    Config // client configuration for it
}

// newPyKMIP prepares a PyKMIP server in dir: certificates generated
// here, a config file, a SQLite database, a free loopback port.
func newPyKMIP(dir string) (*pykmip, string) {
	bin, err := exec.LookPath("pykmip-server")
	if err != nil {
		return nil, err.Error()
	}
	if err := writeCerts(dir); err != nil {
		return nil, err.Error()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err.Error()
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`[server]
hostname=127.0.0.1
port=%d
certificate_path=%s
key_path=%s
ca_path=%s
auth_suite=TLS1.2
enable_tls_client_auth=True
logging_level=INFO
database_path=%s
`, port, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.crt"), filepath.Join(dir, "pykmip.db"))
	if err := os.WriteFile(filepath.Join(dir, "server.conf"), []byte(conf), 0o600); err != nil {
		return nil, err.Error()
	}
	return &pykmip{bin: bin, dir: dir, port: port, cfg: Config{
		Endpoint: "127.0.0.1:" + strconv.Itoa(port),
		CAFile:   filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "client.crt"),
		KeyFile:  filepath.Join(dir, "client.key"),
	}}, ""
}

// start starts the server and waits until it listens; it returns an
// error text, empty on success.
func (p *pykmip) start() string {
	out, err := os.OpenFile(filepath.Join(p.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err.Error()
	}
	defer out.Close()
	cmd := exec.Command(p.bin, "-f", filepath.Join(p.dir, "server.conf"), "-l", filepath.Join(p.dir, "server.log"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = p.dir
	// Its own process group: PyKMIP forks a multiprocessing manager,
	// and stop ends the group it started, by id.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Sprintf("start pykmip-server: %v", err)
	}
	p.cmd = cmd
	p.waitCh = make(chan error, 1)
	go func(ch chan error) { ch <- cmd.Wait() }(p.waitCh)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.cfg.Endpoint, time.Second)
		if err == nil {
			c.Close()
			return ""
		}
		select {
		case err := <-p.waitCh:
			p.waitCh <- err
			p.stop()
			log, _ := os.ReadFile(filepath.Join(p.dir, "stdout.log"))
			return fmt.Sprintf("pykmip-server exited at start: %v\n%s", err, log)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return "pykmip-server did not listen within 60 s"
		}
	}
}

// stop ends the server's process group and reaps it.
func (p *pykmip) stop() {
	if p.cmd == nil {
		return
	}
	pgid := p.cmd.Process.Pid
	p.cmd = nil
	// PyKMIP notices SIGTERM only when its 10 s accept timeout expires;
	// after a short grace period it is killed. Every operation it
	// acknowledged is already committed to SQLite, so the persistence
	// test then also covers a crash.
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.waitCh:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.waitCh
	}
	// The rest of the group (the multiprocessing manager), re-parented
	// to this process by TestMain's subreaper setting: kill and reap it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-pgid, &ws, 0, nil); err != syscall.EINTR && err != nil {
			break // ECHILD: none left
		}
	}
}

func (p *pykmip) restart(t testing.TB) {
	t.Helper()
	p.stop()
	if err := p.start(); err != "" {
		t.Fatal(err)
	}
}

// writeCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate (ECDSA P-256: PyKMIP's TLS 1.2 suite offers ECDHE-ECDSA
// AES-GCM, which Go's TLS speaks) into dir.
func writeCerts(dir string) error {
	now := time.Now()
	write := func(name, typ string, der []byte) error {
		b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		return os.WriteFile(filepath.Join(dir, name), b, 0o600)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "objstore test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return err
	}
	if err := write("ca.crt", "CERTIFICATE", caDER); err != nil {
		return err
	}
	for i, leaf := range []struct {
		name string
		eku  x509.ExtKeyUsage
		ips  []net.IP
	}{
		{"server", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}},
		{"client", x509.ExtKeyUsageClientAuth, nil},
	} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)),
			Subject:      pkix.Name{CommonName: "objstore-test-" + leaf.name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{leaf.eku},
			IPAddresses:  leaf.ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return err
		}
		if err := write(leaf.name+".crt", "CERTIFICATE", der); err != nil {
			return err
		}
		if err := write(leaf.name+".key", "PRIVATE KEY", keyDER); err != nil {
			return err
		}
	}
	return nil
}
