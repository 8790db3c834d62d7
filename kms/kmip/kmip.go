package kmip

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/objstore/objstore/kms"
)

// Config names the KMIP server and the client's credentials.
type Config struct {
	// Endpoint is the server's host:port (KMIP's port is 5696).
	Endpoint string
	// CAFile is a PEM file with the CA certificates that sign the
	// server's certificate.
	CAFile string
	// CertFile and KeyFile are the client's PEM certificate and key: KMIP
	// servers authenticate clients by TLS client certificate.
	CertFile, KeyFile string
	// ServerName is the name to verify in the server's certificate;
	// default the host of Endpoint.
	ServerName string
	// TLSConfig, if set, is used instead of the files above.
	TLSConfig *tls.Config
	// NamePrefix starts the Name of every key object ("<prefix><id>/v<N>")
	// and, without its trailing slash, is the Object Group of all of them
	// (default "objstore/").
	NamePrefix string
	// Connections bounds the connections to the server (default 4).
	Connections int
	// Timeout bounds each request, its wait for a connection and its
	// retry included, and each key creation or rotation as a whole
	// (default 10 s).
	Timeout time.Duration
}

func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLSConfig != nil {
		return c.TLSConfig.Clone(), nil
	}
	if c.CAFile == "" || c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("config: CAFile, CertFile and KeyFile are required (or TLSConfig)")
	}
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("config: no certificate in %s", c.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("config: client certificate: %w", err)
	}
	name := c.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(c.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("config: Endpoint %q: %w", c.Endpoint, err)
		}
		name = host
	}
	return &tls.Config{
		RootCAs:      pool,
		Certificates: []tls.Certificate{cert},
		ServerName:   name,
		// KMIP 1.4 profiles require TLS 1.2; PyKMIP offers nothing newer.
		MinVersion: tls.VersionTLS12,
	}, nil
}

// KMIP is the KMIP backend; it is a KMS through its embedded Manager.
type KMIP struct {
	*kms.Manager
}

// Open connects to the server and checks that it answers a Locate with
// the configured credentials.
func Open(ctx context.Context, cfg Config) (*KMIP, error) {
	fail := func(err error) error {
		return &kms.Error{Op: "open", Backend: kms.BackendKMIP.String(), Err: fmt.Errorf("%w: %w", kms.ErrBackend, err)}
	}
	if cfg.Endpoint == "" {
		return nil, fail(errors.New("config: Endpoint is empty"))
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, fail(err)
	}
	cfg.NamePrefix = cmp.Or(cfg.NamePrefix, "objstore/")
	cfg.Connections = cmp.Or(cfg.Connections, 4)
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	s := &server{
		cfg:   cfg,
		group: strings.TrimSuffix(cfg.NamePrefix, "/"),
		c:     newClient(cfg.Endpoint, tc, cfg.Connections, cfg.Timeout),
		cache: make(map[kms.KeyID]*keyObjects),
		admin: make(chan struct{}, 1),
	}
	if _, err := s.c.locate(ctx, integer(tagMaximumItems, 1)); err != nil {
		s.c.close()
		return nil, fail(err)
	}
	return &KMIP{Manager: kms.NewManager(s)}, nil
}

// server is the Custodian behind KMIP.
type server struct {
	cfg   Config
	group string
	c     *client

	admin chan struct{} // one slot: serialises CreateKey and RotateKey
	mu    sync.Mutex    // guards cache
	cache map[kms.KeyID]*keyObjects
}

// keyObjects are the unique identifiers of one key's versions.
type keyObjects struct {
	uids    map[int]string
	current int
}

var _ kms.Custodian = (*server)(nil)

// Backend implements kms.Custodian.
func (s *server) Backend() kms.Backend { return kms.BackendKMIP }

func (s *server) name(id kms.KeyID, version int) string {
	return fmt.Sprintf("%s%s/v%d", s.cfg.NamePrefix, id, version)
}

// parseName is name's inverse.
func (s *server) parseName(name string) (kms.KeyID, int, bool) {
	rest, ok := strings.CutPrefix(name, s.cfg.NamePrefix)
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "/v")
	if i < 0 {
		return "", 0, false
	}
	id := kms.KeyID(rest[:i])
	v, err := strconv.Atoi(rest[i+2:])
	if id.Validate() != nil || err != nil || v < 1 || strconv.Itoa(v) != rest[i+2:] {
		return "", 0, false
	}
	return id, v, true
}

// classify turns client errors into the kms sentinels: an unknown object
// is ErrKeyNotFound; a key the server will not use (not Active, revoked,
// archived, not permitted) ErrKeyDisabled; anything else from the server
// or the network ErrBackend.
func classify(err error) error {
	var re *ResultError
	switch {
	case errors.As(err, &re) && re.Reason == reasonItemNotFound:
		return fmt.Errorf("%w: %w", kms.ErrKeyNotFound, err)
	case errors.As(err, &re) && (re.Reason == reasonPermissionDenied || re.Reason == reasonObjectArchived):
		return fmt.Errorf("%w: %w", kms.ErrKeyDisabled, err)
	}
	return fmt.Errorf("%w: %w", kms.ErrBackend, err)
}

// maxVersions bounds the probe for versions in lookup.
const maxVersions = 1 << 16

// lookup finds id's versions on the server (names v1, v2, ... until one
// is missing) and refreshes the cache.
func (s *server) lookup(ctx context.Context, id kms.KeyID) (*keyObjects, error) {
	k := &keyObjects{uids: make(map[int]string)}
	for v := 1; v <= maxVersions; v++ {
		uids, err := s.c.locate(ctx, nameAttribute(s.name(id, v)))
		if err != nil {
			return nil, classify(err)
		}
		if len(uids) == 0 {
			break
		}
		k.uids[v], k.current = uids[0], v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.current == 0 {
		delete(s.cache, id)
		return nil, kms.ErrKeyNotFound
	}
	s.cache[id] = k
	return k, nil
}

// cached returns id's objects from the cache when it knows version (any
// version for 0), else from the server.
func (s *server) cached(ctx context.Context, id kms.KeyID, version int) (*keyObjects, error) {
	s.mu.Lock()
	k := s.cache[id]
	s.mu.Unlock()
	if k != nil {
		if _, ok := k.uids[version]; ok || version == 0 {
			return k, nil
		}
	}
	return s.lookup(ctx, id)
}

// newVersion creates and activates id/version. A key that was created but
// could not be activated is destroyed, so that it does not block the name.
func (s *server) newVersion(ctx context.Context, id kms.KeyID, version int) error {
	uid, err := s.c.create(ctx, s.name(id, version), s.group)
	if err != nil {
		return classify(err)
	}
	if err := s.c.activate(ctx, uid); err != nil {
		_ = s.c.destroy(context.WithoutCancel(ctx), uid)
		return classify(err)
	}
	_, err = s.lookup(ctx, id)
	return err
}

// CreateKey implements kms.Custodian. KMIP has no conditional create: two
// processes creating the same key at once may both succeed, and the first
// object Locate returns is used.
func (s *server) CreateKey(ctx context.Context, id kms.KeyID) error {
	ctx, done, err := s.lockAdmin(ctx, "create")
	if err != nil {
		return err
	}
	defer done()
	switch _, err := s.lookup(ctx, id); {
	case err == nil:
		return kms.ErrKeyExists
	case !errors.Is(err, kms.ErrKeyNotFound):
		return err
	}
	return s.newVersion(ctx, id, 1)
}

// RotateKey implements kms.Custodian.
func (s *server) RotateKey(ctx context.Context, id kms.KeyID) error {
	ctx, done, err := s.lockAdmin(ctx, "rotate")
	if err != nil {
		return err
	}
	defer done()
	k, err := s.lookup(ctx, id)
	if err != nil {
		return err
	}
	return s.newVersion(ctx, id, k.current+1)
}

// lockAdmin waits for the turn of a key's creation or rotation. One
// Timeout bounds the wait and everything the operation then asks the
// server: behind a hung server, a second operation would otherwise wait
// out the first one's timeout before its own.
func (s *server) lockAdmin(ctx context.Context, op string) (context.Context, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	select {
	case s.admin <- struct{}{}:
		return ctx, func() { <-s.admin; cancel() }, nil
	case <-ctx.Done():
		cancel()
		return nil, nil, fmt.Errorf("%w: kmip: %s: waiting for another key operation: %w", kms.ErrBackend, op, ctx.Err())
	}
}

// CurrentVersion implements kms.Custodian.
func (s *server) CurrentVersion(ctx context.Context, id kms.KeyID) (int, error) {
	k, err := s.cached(ctx, id, 0)
	if err != nil {
		return 0, err
	}
	return k.current, nil
}

// describe reads the Initial Date and State of uid.
func (s *server) describe(ctx context.Context, uid string) (created time.Time, active bool, err error) {
	attrs, err := s.c.getAttributes(ctx, uid, "Initial Date", "State")
	if err != nil {
		return time.Time{}, false, classify(err)
	}
	if d := attrs["Initial Date"]; d != nil && d.typ == typeDateTime {
		created = time.Unix(d.num, 0).UTC()
	}
	if st := attrs["State"]; st != nil && st.typ == typeEnumeration {
		active = st.num == stateActive
	}
	return created, active, nil
}

// Status implements kms.Custodian; it asks the server.
func (s *server) Status(ctx context.Context, id kms.KeyID) (kms.KeyStatus, error) {
	k, err := s.lookup(ctx, id)
	if err != nil {
		return kms.KeyStatus{}, err
	}
	st := kms.KeyStatus{ID: id, Version: k.current}
	if st.Rotated, st.Enabled, err = s.describe(ctx, k.uids[k.current]); err != nil {
		return kms.KeyStatus{}, err
	}
	st.Created = st.Rotated
	if first, ok := k.uids[1]; ok && k.current != 1 {
		if st.Created, _, err = s.describe(ctx, first); err != nil {
			return kms.KeyStatus{}, err
		}
	}
	return st, nil
}

// ListKeys implements kms.Custodian: the objects of the Object Group,
// grouped by name.
func (s *server) ListKeys(ctx context.Context) ([]kms.KeyStatus, error) {
	uids, err := s.c.locate(ctx, attribute("Object Group", text(0, s.group)))
	if err != nil {
		return nil, classify(err)
	}
	type version struct {
		created time.Time
		active  bool
	}
	keys := make(map[kms.KeyID]map[int]version)
	for _, uid := range uids {
		attrs, err := s.c.getAttributes(ctx, uid, "Name", "Initial Date", "State")
		if err != nil {
			return nil, classify(err)
		}
		n := attrs["Name"]
		if n == nil {
			continue
		}
		name, err := n.childText(tagNameValue)
		if err != nil {
			continue
		}
		id, v, ok := s.parseName(name)
		if !ok {
			continue
		}
		var ver version
		if d := attrs["Initial Date"]; d != nil && d.typ == typeDateTime {
			ver.created = time.Unix(d.num, 0).UTC()
		}
		if st := attrs["State"]; st != nil && st.typ == typeEnumeration {
			ver.active = st.num == stateActive
		}
		if keys[id] == nil {
			keys[id] = make(map[int]version)
		}
		keys[id][v] = ver
	}
	out := make([]kms.KeyStatus, 0, len(keys))
	for id, vs := range keys {
		st := kms.KeyStatus{ID: id}
		for v := range vs {
			st.Version = max(st.Version, v)
		}
		st.Created = vs[1].created
		st.Rotated, st.Enabled = vs[st.Version].created, vs[st.Version].active
		out = append(out, st)
	}
	return out, nil
}

// Encrypt implements kms.Custodian: AES-GCM inside the server.
func (s *server) Encrypt(ctx context.Context, id kms.KeyID, version int, plaintext, aad []byte) ([]byte, []byte, error) {
	k, err := s.cached(ctx, id, version)
	if err != nil {
		return nil, nil, err
	}
	uid, ok := k.uids[version]
	if !ok {
		return nil, nil, fmt.Errorf("%w: version %d", kms.ErrKeyNotFound, version)
	}
	iv := make([]byte, 12)
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, err
	}
	iv, ct, authTag, err := s.c.encrypt(ctx, uid, iv, plaintext, aad)
	if err != nil {
		return nil, nil, classify(err)
	}
	return iv, append(ct, authTag...), nil
}

// Decrypt implements kms.Custodian. A failed tag check is Cryptographic
// Failure by the standard; PyKMIP answers General Failure. Both mean
// kms.ErrSealed for a Decrypt whose key exists: the server's own
// failures on Decrypt are reported the same way, with its message.
func (s *server) Decrypt(ctx context.Context, id kms.KeyID, version int, nonce, ciphertext, aad []byte) ([]byte, error) {
	k, err := s.cached(ctx, id, version)
	if err != nil {
		return nil, err
	}
	uid, ok := k.uids[version]
	if !ok {
		return nil, fmt.Errorf("%w: version %d (the server has up to v%d)", kms.ErrKeyNotFound, version, k.current)
	}
	if len(ciphertext) < 16 {
		return nil, fmt.Errorf("%w: ciphertext shorter than the tag", kms.ErrSealed)
	}
	body, authTag := ciphertext[:len(ciphertext)-16], ciphertext[len(ciphertext)-16:]
	pt, err := s.c.decrypt(ctx, uid, nonce, body, authTag, aad)
	if err != nil {
		var re *ResultError
		if errors.As(err, &re) && (re.Reason == reasonCryptographicFailed || re.Reason == reasonGeneralFailure) {
			return nil, fmt.Errorf("%w: %w", kms.ErrSealed, err)
		}
		if errors.As(err, &re) && re.Reason == reasonItemNotFound {
			s.mu.Lock()
			delete(s.cache, id)
			s.mu.Unlock()
		}
		return nil, classify(err)
	}
	return pt, nil
}

// Close implements kms.Custodian.
func (s *server) Close() error {
	s.c.close()
	return nil
}
