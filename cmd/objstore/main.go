// Command objstore is the objstore binary: `objstore server` runs the
// S3-compatible object store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/objstore/objstore/server"
)

const usage = `objstore: an S3-compatible, erasure-coded object store.

Usage:
  objstore server [flags]    run the server (objstore server -h for flags)
  objstore bench KIND        benchmark an S3 endpoint (s3) or the data path (pipeline)
  objstore admin COMMAND     manage a running server (objstore admin --help)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:], os.Stdout, os.Stderr)
	case "bench":
		err = runBench(os.Args[2:], os.Stdout, os.Stderr)
	case "admin":
		err = runAdmin(os.Args[2:], os.Stdout, os.Stderr)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "objstore: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "objstore:", err)
		os.Exit(1)
	}
}

// parseErasure reads "K+M".
func parseErasure(s string) (k, m int, err error) {
	a, b, ok := strings.Cut(s, "+")
	if ok {
		k, err = strconv.Atoi(a)
		if err == nil {
			m, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || k < 1 || m < 1 {
		return 0, 0, fmt.Errorf("--erasure %q: want K+M, e.g. 4+2", s)
	}
	return k, m, nil
}

// serverConfig turns the server command's flags and environment into a
// server.Config (flag.ErrHelp after -h).
func serverConfig(args []string, stderr io.Writer) (server.Config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	address := fs.String("address", "127.0.0.1:9000", "address to serve S3 on")
	data := fs.String("data", "./data", "folder holding the drive folders")
	erasure := fs.String("erasure", "4+2", "erasure layout K+M (data+parity shards, M at most K); the drive count is K+M")
	zones := fs.Int("zones", 3, "zones the drive folders are spread over")
	domain := fs.String("domain", "", "domain for virtual-host-style requests (<bucket>.<domain>)")
	region := fs.String("region", "", "the server's region (such as eu-de-1): SigV4 requests signed for another region and buckets created in another are refused, as AWS refuses them; empty: any region signs, buckets without a location report us-east-1")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); reloaded when it changes")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	scanInterval := fs.Duration("scan-interval", 0, "how soon a new full heal pass starts after the last one ended (0: 24h; negative: only on request)")
	kmsBackend := fs.String("kms", "keyring", "where master keys live: keyring (OBJSTORE_KMS_PASSPHRASE, _PASSPHRASE_FILE or _KEY), pkcs11 (OBJSTORE_KMS_PKCS11_MODULE, _TOKEN, _PIN) or kmip (OBJSTORE_KMS_KMIP_ENDPOINT, _CA, _CERT, _KEY, _TIMEOUT)")
	insecureSSEC := fs.Bool("insecure-sse-c", false, "accept SSE-C keys over plain HTTP (development only; AWS refuses them)")
	maxRequests := fs.Int("max-requests", 0, "S3 requests served at once; more wait up to 10 s, then get 503 SlowDown (0: from the memory limit, about 10 MiB each; -1: no bound)")
	noSigV2 := fs.Bool("no-sigv2", false, "refuse Signature Version 2 requests (legacy HMAC-SHA1 signing, body unsigned); SigV4 only")
	metricsPublic := fs.Bool("metrics-public", false, "serve /metrics to anyone, without the drives' paths (scrapes over a private network); by default it needs an admin token with metrics:read, or root")
	auditFailClosed := fs.Bool("audit-fail-closed", false, "refuse changes (S3 PUT, POST, DELETE; admin changes) with 503 while the audit log cannot be written; by default they are served, unaudited but counted")
	if err := fs.Parse(args); err != nil {
		return server.Config{}, err
	}
	k, m, err := parseErasure(*erasure)
	if err != nil {
		return server.Config{}, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return server.Config{}, fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := server.Config{
		Address:         *address,
		DataDir:         *data,
		DataShards:      k,
		ParityShards:    m,
		Zones:           *zones,
		Domain:          *domain,
		Region:          *region,
		TLSCert:         *tlsCert,
		TLSKey:          *tlsKey,
		RootUser:        os.Getenv("OBJSTORE_ROOT_USER"),
		RootPassword:    os.Getenv("OBJSTORE_ROOT_PASSWORD"),
		ScanInterval:    *scanInterval,
		Logger:          logger,
		DisableSigV2:    *noSigV2,
		MaxRequests:     *maxRequests,
		AuditFailClosed: *auditFailClosed,
		MetricsPublic:   *metricsPublic,
	}
	if err := kmsConfig(&cfg, *kmsBackend, *insecureSSEC); err != nil {
		return server.Config{}, err
	}
	return cfg, nil
}

func runServer(args []string, stdout, stderr io.Writer) error {
	cfg, err := serverConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	if srv.GeneratedCredentials() {
		user, secret := srv.Credentials()
		// Printed once, on the start that generated them; they are kept
		// in the data folder with mode 0600.
		fmt.Fprintf(stdout, "objstore: generated root credentials (shown only now):\n  access key: %s\n  secret key: %s\n", user, secret)
	}
	// The endpoint line comes last: scripts wait for it.
	fmt.Fprintf(stdout, "objstore: S3 endpoint %s://%s (erasure %d+%d, data in %s)\n", scheme, srv.Addr(), cfg.DataShards, cfg.ParityShards, cfg.DataDir)
	waitErr := make(chan error, 1)
	go func() { waitErr <- srv.Wait() }()
	select {
	case <-ctx.Done():
		cfg.Logger.Info("objstore: shutting down")
	case err := <-waitErr:
		if err != nil {
			return err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return srv.Close(shutdownCtx)
}

// shutdownGrace is how long requests in flight get to finish after
// SIGINT or SIGTERM before they are cut (a client sees its connection
// close; nothing partial becomes visible, and the exit status is 0).
const shutdownGrace = 30 * time.Second

// startServer starts the server, or gives up when ctx ends first (an
// operator's SIGTERM or Ctrl-C): opening the drives waits on their disks,
// and a disk that hangs must not make the process deaf to signals. The
// start-up left behind in its goroutine ends with the process; the store
// is built to survive a kill at any point, so the next start picks up
// from there.
func startServer(ctx context.Context, cfg server.Config) (*server.Server, error) {
	type started struct {
		srv *server.Server
		err error
	}
	ch := make(chan started, 1)
	go func() {
		srv, err := server.Start(ctx, cfg)
		ch <- started{srv, err}
	}()
	select {
	case r := <-ch:
		return r.srv, r.err
	case <-ctx.Done():
		select {
		case r := <-ch: // started after all: shut down in order
			return r.srv, r.err
		default:
		}
		return nil, errors.New("interrupted during start-up")
	}
}
