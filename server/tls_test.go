package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// writeCert writes a fresh self-signed certificate for 127.0.0.1.
func writeCert(t *testing.T, certPath, keyPath string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "objstore test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func TestTLSAndCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certPath, keyPath, 1)
	srv, err := Start(context.Background(), Config{Address: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), TLSCert: certPath, TLSKey: keyPath})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	served := func() *x509.Certificate {
		conn, err := tls.Dial("tcp", srv.Addr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	if served().SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatal("first certificate not served")
	}
	pool := x509.NewCertPool()
	pool.AddCert(first)
	user, secret := srv.Credentials()
	c, _ := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Secure: true,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}})
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "secure", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("S3 over TLS: %v", err)
	}
	// Renew: new files, a later modification time.
	time.Sleep(1100 * time.Millisecond)
	second := writeCert(t, certPath, keyPath, 2)
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(certPath, later, later)
	deadline := time.Now().Add(10 * time.Second)
	for served().SerialNumber.Cmp(second.SerialNumber) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("renewed certificate never served")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestVirtualHostStyle(t *testing.T) {
	dir := t.TempDir()
	srv, err := Start(context.Background(), Config{Address: "127.0.0.1:0", DataDir: dir, Domain: "objstore.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	_, port, _ := net.SplitHostPort(srv.Addr())
	// Every host name resolves to the server, as DNS would in production.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Addr())
	}
	user, secret := srv.Credentials()
	c, err := minio.New("objstore.test:"+port, &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""),
		BucketLookup: minio.BucketLookupDNS, Transport: &http.Transport{DialContext: dial}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "vhost", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := []byte("virtual host style")
	if _, err := c.PutObject(ctx, "vhost", "a/b.txt", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Read it back path-style to prove both address the same object.
	pc, _ := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), BucketLookup: minio.BucketLookupPath})
	o, err := pc.GetObject(ctx, "vhost", "a/b.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("path-style read of a virtual-host write: %q %v", got, err)
	}
	var names []string
	for obj := range c.ListObjects(ctx, "vhost", minio.ListObjectsOptions{Recursive: true}) {
		names = append(names, obj.Key)
	}
	if len(names) != 1 || names[0] != "a/b.txt" {
		t.Fatalf("virtual-host list: %v", names)
	}
}
