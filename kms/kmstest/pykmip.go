//go:build linux

package kmstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// PyKMIP is a real KMIP server (PyKMIP's pykmip-server) started by a
// test: certificates generated here, a config file, a SQLite database, a
// free loopback port. The kmip backend's tests and the server's tests of
// a KMS outage use it; it lives here so that both start the same thing.
//
// A process using it calls BecomeSubreaper in its TestMain, so that
// Stop can reap PyKMIP's multiprocessing manager.
type PyKMIP struct {
	// Dir holds the certificates, the config, the database and the logs.
	Dir string
	// Endpoint is the server's host:port.
	Endpoint string
	// CAFile, CertFile and KeyFile are the client's credentials (PEM).
	CAFile, CertFile, KeyFile string

	bin string
	cmd *exec.Cmd
	// waitCh receives the server's exit once it has been reaped.
	waitCh chan error
}

// SkipWithoutPyKMIP skips t when pykmip-server is not installed, and
// fails it instead when CI is set.
func SkipWithoutPyKMIP(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("pykmip-server"); err != nil {
		msg := "SKIPPING KMIP TESTS: pykmip-server is not installed (Debian package python3-pykmip: apt-get install python3-pykmip)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI is set, so this is a failure")
		}
		t.Skip(msg)
	}
}

// BecomeSubreaper makes orphans of the process's children (PyKMIP's
// multiprocessing manager) its own children instead of init's, so that
// Stop can reap them: init here does not, and they would linger as
// zombies. Call it from TestMain.
func BecomeSubreaper() {
	const prSetChildSubreaper = 36
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
}

// NewPyKMIP prepares a PyKMIP server in dir (not started).
func NewPyKMIP(dir string) (*PyKMIP, error) {
	bin, err := exec.LookPath("pykmip-server")
	if err != nil {
		return nil, err
	}
	if err := WriteCerts(dir); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
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
		return nil, err
	}
	return &PyKMIP{
		Dir:      dir,
		Endpoint: "127.0.0.1:" + strconv.Itoa(port),
		CAFile:   filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "client.crt"),
		KeyFile:  filepath.Join(dir, "client.key"),
		bin:      bin,
	}, nil
}

// Running reports whether the server was started and not stopped.
func (p *PyKMIP) Running() bool { return p.cmd != nil }

// Start starts the server and waits until it listens.
func (p *PyKMIP) Start() error {
	out, err := os.OpenFile(filepath.Join(p.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(p.bin, "-f", filepath.Join(p.Dir, "server.conf"), "-l", filepath.Join(p.Dir, "server.log"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = p.Dir
	// Its own process group: PyKMIP forks a multiprocessing manager,
	// and Stop ends the group it started, by id.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pykmip-server: %w", err)
	}
	p.cmd = cmd
	p.waitCh = make(chan error, 1)
	go func(ch chan error) { ch <- cmd.Wait() }(p.waitCh)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Endpoint, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-p.waitCh:
			p.waitCh <- err
			p.Stop()
			log, _ := os.ReadFile(filepath.Join(p.Dir, "stdout.log"))
			return fmt.Errorf("pykmip-server exited at start: %v\n%s", err, log)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return errors.New("pykmip-server did not listen within 60 s")
		}
	}
}

// Stop ends the server's process group and reaps it.
func (p *PyKMIP) Stop() {
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
	// to this process by BecomeSubreaper: kill and reap it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-pgid, &ws, 0, nil); err != syscall.EINTR && err != nil {
			break // ECHILD: none left
		}
	}
}

// Restart stops and starts the server.
func (p *PyKMIP) Restart(t testing.TB) {
	t.Helper()
	p.Stop()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
}

// WriteCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate (ECDSA P-256: PyKMIP's TLS 1.2 suite offers ECDHE-ECDSA
// AES-GCM, which Go's TLS speaks) into dir.
func WriteCerts(dir string) error {
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
