package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/kms/kmip"
	"github.com/objstore/objstore/kms/pkcs11"
	"github.com/objstore/objstore/metrics"
	"github.com/objstore/objstore/s3api"
	"github.com/objstore/objstore/storage"
)

// Config is everything a server needs. The zero value plus DataDir is
// the embedded default: six drive folders in three zones, erasure 4+2.
type Config struct {
	// Address to listen on; default "127.0.0.1:9000". Port 0 picks one.
	Address string
	// DataDir holds the drive folders and the generated credentials.
	// Required.
	DataDir string
	// DataShards and ParityShards: erasure layout; default 4+2. The drive
	// count is their sum.
	DataShards   int
	ParityShards int
	// Zones the drives are spread over (round robin in runs); default 3.
	Zones int
	// Domain enables virtual-host-style requests (<bucket>.<Domain>).
	Domain string
	// TLSCert and TLSKey serve HTTPS when both are set; the files are
	// re-read when they change, so certificates rotate without restart.
	TLSCert, TLSKey string
	// RootUser and RootPassword are the root credentials. When both are
	// empty, credentials are loaded from DataDir or generated there on
	// first start (see Server.GeneratedCredentials).
	RootUser, RootPassword string
	// Region is the server's region (s3api.Config.Region), as the
	// operator names it with --region: lowercase letters, digits and
	// hyphens (s3api.ValidRegion). Empty, the default, names none:
	// buckets without a location report us-east-1 and requests may be
	// signed for any region. Named, buckets without a location report it,
	// and SigV4 requests signed for another region, and CreateBucket
	// naming another location, are refused as AWS refuses them.
	Region string
	// ScanInterval is how soon a new full heal pass (the scanner that
	// verifies and repairs every object) starts after the last one ended;
	// 0 means the default (24h), negative disables periodic passes.
	ScanInterval time.Duration
	// Logger for the server; nil discards.
	Logger *slog.Logger

	// KMSBackend selects where master keys live: "keyring" (default: a
	// file under DataDir/kms, secret from OBJSTORE_KMS_PASSPHRASE,
	// OBJSTORE_KMS_PASSPHRASE_FILE or OBJSTORE_KMS_KEY, see
	// kms.KeyringFromEnv), "pkcs11" (PKCS11) or "kmip" (KMIP).
	KMSBackend string
	// PKCS11 configures the "pkcs11" backend.
	PKCS11 pkcs11.Config
	// KMIP configures the "kmip" backend.
	KMIP kmip.Config
	// KMS, if set, is used instead of opening KMSBackend; the server does
	// not close it (tests, embedding).
	KMS kms.KMS
	// InsecureSSEC accepts SSE-C keys over plain HTTP. Development only:
	// AWS refuses them, since the key travels in clear.
	InsecureSSEC bool
	// DisableSigV2 refuses Signature Version 2 requests (s3api.Config).
	DisableSigV2 bool
	// MaxRequests bounds the S3 requests served at once (s3api.Config);
	// more wait for a slot, then answer 503 SlowDown. 0: from the memory
	// the process may use (autoMaxRequests); negative: no bound.
	MaxRequests int
	// AuditFailClosed refuses changes while the audit log cannot be
	// written (a full audit disk): S3 PUT, POST and DELETE requests and
	// admin changes answer 503 with Retry-After, before they run, until
	// the log resumes; reads are served. Off by default, the log fails
	// open: changes are served unaudited (counted in the gap record the
	// log writes when it resumes), because a full audit disk should not
	// take the storage down unless the operator chose so. Deployments
	// that must not make a change they cannot audit turn it on.
	AuditFailClosed bool
	// MetricsPublic serves /metrics to anyone who can reach the
	// listener, and then leaves the drives' paths out of it (the path
	// label is empty). Off by default: /metrics asks for an admin token
	// holding metrics:read, or root, over TLS or from loopback, like the
	// admin API, because request volumes and the drives' paths are the
	// operator's business. For scrapes over a private network.
	MetricsPublic bool

	// auditOptions, when set (tests), adjusts the audit log's options
	// before it opens: a disk that fills and is freed, short retries.
	auditOptions func(*audit.Options)
	// aggregateOptions, when set (tests), adjusts the options of the
	// aggregator in front of the audit log: a clock that stands still.
	aggregateOptions func(*audit.AggregateOptions)
}

func (c *Config) ensureDefaults() {
	if c.Address == "" {
		c.Address = "127.0.0.1:9000"
	}
	if c.DataShards == 0 && c.ParityShards == 0 {
		c.DataShards, c.ParityShards = 4, 2
	}
	if c.Zones == 0 {
		c.Zones = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("server: config: DataDir is required")
	case c.DataShards < 1 || c.ParityShards < 1:
		return fmt.Errorf("server: config: erasure %d+%d: both must be at least 1", c.DataShards, c.ParityShards)
	case c.DataShards+c.ParityShards > 256:
		return fmt.Errorf("server: config: erasure %d+%d: more than 256 drives", c.DataShards, c.ParityShards)
	case c.ParityShards > c.DataShards:
		return fmt.Errorf("server: config: erasure %d+%d: more parity than data shards, so a write's quorum would not meet every read's (storage.Config.Validate)", c.DataShards, c.ParityShards)
	case c.Zones < 1 || c.Zones > c.DataShards+c.ParityShards:
		return fmt.Errorf("server: config: Zones %d must be between 1 and the drive count %d", c.Zones, c.DataShards+c.ParityShards)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("server: config: TLSCert and TLSKey go together")
	case (c.RootUser == "") != (c.RootPassword == ""):
		return errors.New("server: config: RootUser and RootPassword go together")
	case c.RootUser != "" && len(c.RootUser) < 3:
		return errors.New("server: config: RootUser must have at least 3 characters")
	case c.RootPassword != "" && len(c.RootPassword) < 8:
		return errors.New("server: config: RootPassword must have at least 8 characters")
	case c.Region != "" && !s3api.ValidRegion(c.Region):
		return fmt.Errorf("server: config: Region %q: want lowercase letters, digits and hyphens, 1 to 63, starting with a letter and not ending with a hyphen (such as eu-de-1)", c.Region)
	}
	return nil
}

// Server is a running objstore: the object layer and the S3 API on one
// listener.
type Server struct {
	cfg       Config
	log       *slog.Logger
	store     *storage.Store
	http      *http.Server
	ln        net.Listener
	user      string
	secret    string
	generated bool
	done      chan error
	closeOnce sync.Once

	kms    kms.KMS
	ownKMS bool
	// kmsHealth is the KMS as it was opened, before observedKMS wrapped
	// it, if it reports its backend's state; else nil.
	kmsHealth kmsReporter
	keys      *encryption.Keys

	ops *operators
	// metrics is the Prometheus registry (also ops.metrics), made before
	// the KMS opens so that every KMS call is counted.
	metrics *metrics.Metrics
	// auditFailed, when set (tests), stands in for the audit log's Err.
	auditFailed func() error
}

// Start opens the drives, loads or creates the root credentials, and
// starts serving. It returns once the listener is bound.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg.ensureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, done: make(chan error, 1)}
	checkFileLimit(cfg.Logger)
	maxRequests := cfg.MaxRequests
	switch {
	case maxRequests == 0:
		mem := memoryLimit()
		maxRequests = autoMaxRequests(mem)
		cfg.Logger.Info("server: S3 requests served at once, at most (--max-requests)", "limit", maxRequests, "memory_limit", mem)
	case maxRequests < 0:
		maxRequests = 0
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data folder: %w", err)
	}
	if err := s.loadCredentials(); err != nil {
		return nil, err
	}
	n := cfg.DataShards + cfg.ParityShards
	drives := make([]storage.DriveConfig, n)
	for i := range n {
		drives[i] = storage.DriveConfig{
			Path: filepath.Join(cfg.DataDir, fmt.Sprintf("drive%d", i+1)),
			Zone: zoneName(i * cfg.Zones / n),
		}
	}
	store, err := storage.Open(ctx, storage.Config{
		Drives:       drives,
		DataShards:   cfg.DataShards,
		ParityShards: cfg.ParityShards,
		ScanInterval: cfg.ScanInterval,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s.store = store
	s.metrics = metrics.New() // before the KMS, whose calls it counts from the first
	if err := s.openKMS(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if err := s.openOperators(); err != nil {
		store.Close()
		s.closeKMS()
		return nil, err
	}
	api, err := s3api.New(s3api.Config{
		Store:       s.ops.quotas, // enforces quotas, counts usage (operators.go)
		Credentials: s.lookup,
		Identities:  s.ops.iam,
		Authorizer:  s.ops.engine,
		OnRequest:   s.onRequest,
		Region:      cfg.Region,
		Domain:      cfg.Domain,
		Logger:      cfg.Logger,

		Keys:          s.keys,
		InsecureSSEC:  cfg.InsecureSSEC,
		DisableSigV2:  cfg.DisableSigV2,
		MaxRequests:   maxRequests,
		Account:       store.ClusterID(),
		RefuseChanges: s.changeGate(),
	})
	if err != nil {
		store.Close()
		s.closeKMS()
		s.closeOperators()
		return nil, err
	}
	s.ops.metrics.WatchRequests(func() metrics.RequestStat {
		a := api.Admission()
		return metrics.RequestStat{Limit: a.Limit, Running: a.Running, Waiting: a.Waiting, Refused: a.Refused}
	})
	// No http.ServeMux in front of S3: it cleans paths ("a//b", "../")
	// and would redirect requests for keys that are legal in S3.
	health := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return false
		}
		switch r.URL.Path {
		case "/health/live":
			w.WriteHeader(http.StatusOK)
		case "/health/ready":
			if err := store.Ready(r.Context()); err != nil {
				http.Error(w, "not ready: quorum unavailable", http.StatusServiceUnavailable)
				return true
			}
			if s.auditErr() != nil {
				// Changes go unaudited (they are still served, see
				// onRequest) or, with AuditFailClosed, are refused:
				// either way a full audit disk must not pass
				// unnoticed. Ready again once the log has resumed by
				// itself and its gap record is on disk.
				http.Error(w, "not ready: the audit log cannot be written", http.StatusServiceUnavailable)
				return true
			}
			w.WriteHeader(http.StatusOK)
		default:
			return false
		}
		return true
	}
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" && health(w, r) {
			return
		}
		if s.serveOperators(w, r) {
			return
		}
		api.ServeHTTP(w, r)
	})
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// AWS takes 8 KiB of headers; 64 KiB leaves room for a long
		// presigned query in the request line (which counts here) and
		// bounds what each connection may make the server hold (Go's
		// default is 1 MiB).
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		store.Close()
		s.closeKMS()
		s.closeOperators()
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	if cfg.TLSCert != "" {
		cr := &certReloader{cert: cfg.TLSCert, key: cfg.TLSKey, log: cfg.Logger}
		if _, err := cr.get(nil); err != nil {
			ln.Close()
			store.Close()
			s.closeKMS()
			s.closeOperators()
			return nil, err
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cr.get, NextProtos: []string{"h2", "http/1.1"}})
	}
	s.ln = ln
	go func() { s.done <- s.http.Serve(ln) }()
	s.log.Info("server: serving S3", "address", ln.Addr().String(), "tls", cfg.TLSCert != "", "erasure", fmt.Sprintf("%d+%d", cfg.DataShards, cfg.ParityShards))
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Store is the object layer (for tests and operator tools).
func (s *Server) Store() *storage.Store { return s.store }

// Credentials returns the root access key and secret.
func (s *Server) Credentials() (user, secret string) { return s.user, s.secret }

// GeneratedCredentials reports whether Start generated the root
// credentials just now; the caller prints them once.
func (s *Server) GeneratedCredentials() bool { return s.generated }

// Close shuts down in order: stop accepting, let in-flight requests end
// (until ctx expires, then cut them), then close the object layer and its
// drives.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		herr := s.http.Shutdown(ctx)
		if herr != nil {
			s.http.Close()
		}
		if errors.Is(herr, context.DeadlineExceeded) {
			// The grace period is over: cutting the requests still
			// running is what it is for (nothing partial becomes
			// visible), not a failure of the shutdown.
			s.log.Warn("server: requests still running when the shutdown grace period ended were cut")
			herr = nil
		}
		// Usage walks read the store, and the audit log and IAM store
		// seal with the KMS: each closes before what it uses.
		err = errors.Join(herr, s.closeQuotas(), s.store.Close(), s.closeOperators(), s.closeKMS())
	})
	return err
}

// Wait blocks until the server stops serving and returns why.
func (s *Server) Wait() error {
	err := <-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) lookup(access string) (string, bool) {
	if subtle.ConstantTimeCompare([]byte(access), []byte(s.user)) == 1 {
		return s.secret, true
	}
	return "", false
}

// credentialsFile holds generated root credentials, readable by the owner
// only.
const credentialsFile = "root-credentials.json"

// auditErr is the audit log's write error (audit.Log.Err), nil while it
// works or before the operators' state is open.
func (s *Server) auditErr() error {
	if s.auditFailed != nil {
		return s.auditFailed()
	}
	if s.ops == nil {
		return nil
	}
	return s.ops.audit.Err()
}

// changeGate is the RefuseChanges of s3api and admin: with
// AuditFailClosed, changes are refused while the audit log is stopped;
// without, nil (the log fails open). It is asked once per request,
// before the operation: a change that passed it completes if the log
// stops meanwhile, and its refused record is counted in the gap record
// (docs/architecture.md, "fail open by default"). Admin changes that
// only revoke access are not asked (admin.Config.RefuseChanges).
func (s *Server) changeGate() func() error {
	if !s.cfg.AuditFailClosed {
		return nil
	}
	return func() error {
		if err := s.auditErr(); err != nil {
			return fmt.Errorf("server: the audit log cannot record changes (--audit-fail-closed): %w", err)
		}
		return nil
	}
}

// maxHeaderBytes bounds a request's line and headers (http.Server).
const maxHeaderBytes = 64 << 10

type storedCredentials struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

func (s *Server) loadCredentials() error {
	if s.cfg.RootUser != "" {
		s.user, s.secret = s.cfg.RootUser, s.cfg.RootPassword
		return nil
	}
	path := filepath.Join(s.cfg.DataDir, credentialsFile)
	b, err := os.ReadFile(path)
	if err == nil {
		var c storedCredentials
		if err := json.Unmarshal(b, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" {
			return fmt.Errorf("server: %s is damaged; remove it or set OBJSTORE_ROOT_USER/OBJSTORE_ROOT_PASSWORD", path)
		}
		s.user, s.secret = c.AccessKey, c.SecretKey
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("server: read credentials: %w", err)
	}
	c := storedCredentials{AccessKey: randomString(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), SecretKey: randomString(40, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}
	b, _ = json.MarshalIndent(c, "", "  ")
	if err := writeFileSync(path, b, 0o600); err != nil {
		return fmt.Errorf("server: store credentials: %w", err)
	}
	s.user, s.secret, s.generated = c.AccessKey, c.SecretKey, true
	return nil
}

func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("server: crypto/rand failed: %v", err)) // never on supported systems
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out)
}

// writeFileSync writes a new file durably: temp file, fsync, rename.
func writeFileSync(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// certReloader serves the certificate files' current content, re-reading
// them when their modification time changes (checked at most once a
// second), so renewed certificates apply without a restart.
type certReloader struct {
	cert, key string
	log       *slog.Logger

	mu      sync.Mutex
	current *tls.Certificate
	modTime time.Time
	checked time.Time
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.current != nil && now.Sub(c.checked) < time.Second {
		return c.current, nil
	}
	c.checked = now
	mt := latestModTime(c.cert, c.key)
	if c.current != nil && mt.Equal(c.modTime) {
		return c.current, nil
	}
	cert, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		if c.current != nil {
			c.log.Error("server: reload TLS certificate failed; keeping the previous one", "err", err)
			return c.current, nil
		}
		return nil, fmt.Errorf("server: load TLS certificate: %w", err)
	}
	if c.current != nil {
		c.log.Info("server: TLS certificate reloaded", "cert", c.cert)
	}
	c.current, c.modTime = &cert, mt
	return c.current, nil
}

func latestModTime(paths ...string) time.Time {
	var t time.Time
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// zoneName names zone i: zone-a to zone-z, then zone-27, zone-28...
// (letters ran out and repeated, putting two zones under one name).
func zoneName(i int) string {
	if i < 26 {
		return fmt.Sprintf("zone-%c", 'a'+i)
	}
	return fmt.Sprintf("zone-%d", i+1)
}
