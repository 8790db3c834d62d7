package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/metrics"
	"github.com/objstore/objstore/s3api"
)

// operators is the operators' side of a server: identities and
// policies (<data>/iam), the audit log (<data>/audit), the Prometheus
// registry (/metrics: behind the admin API's credentials unless
// Config.MetricsPublic) and the admin API (/admin/v1), all on the S3
// listener.
type operators struct {
	iam    *iam.Store
	engine *iam.Engine
	audit  *audit.Log
	// denials takes every request record, S3 and admin: it counts the
	// refusals of unauthenticated callers instead of recording each, so
	// that they cannot fill the audit disk (audit.Aggregator).
	denials *audit.Aggregator
	metrics *metrics.Metrics
	// scrape serves /metrics: the registry, behind admin.Handler.Require
	// unless Config.MetricsPublic.
	scrape http.Handler
	admin  *admin.Handler
	quotas *s3api.Quotas
}

// Folders of the data folder the operators' state lives in.
const (
	iamDir   = "iam"   // the IAM store (iam.json)
	auditDir = "audit" // the audit log and its anchor
)

// metricsOperation names /metrics in the audit records of refused
// scrapes ("admin:ScrapeMetrics").
const metricsOperation = "ScrapeMetrics"

// openOperators opens the IAM store and the audit log and builds the
// metrics registry and the admin API. On error nothing stays open.
func (s *Server) openOperators() error {
	keys := s.operatorKeySource()
	iamOpts := iam.Options{RootAccessKey: s.user}
	if keys != nil {
		iamOpts.Keys = keys // iam.json sealed by the KMS
	}
	ids, err := iam.Open(filepath.Join(s.cfg.DataDir, iamDir), iamOpts)
	if err != nil {
		return fmt.Errorf("server: identities: %w", err)
	}
	auditOpts := audit.Options{Logger: s.log}
	if keys != nil {
		auditOpts.AnchorKeys = keys // the chain's head anchored under a KMS data key
	}
	if s.cfg.auditOptions != nil {
		s.cfg.auditOptions(&auditOpts)
	}
	log, err := audit.Open(filepath.Join(s.cfg.DataDir, auditDir), auditOpts)
	if err != nil {
		ids.Close()
		return fmt.Errorf("server: audit log: %w", err)
	}
	aggOpts := audit.AggregateOptions{Logger: s.log}
	if s.cfg.aggregateOptions != nil {
		s.cfg.aggregateOptions(&aggOpts)
	}
	op := &operators{iam: ids, engine: iam.NewEngine(ids, iam.EngineOptions{}), audit: log,
		denials: audit.NewAggregator(log, aggOpts), metrics: s.metrics}
	op.quotas = s3api.NewQuotas(s.store, s3api.QuotaOptions{Encrypted: s.keys != nil, Logger: s.log})
	op.admin, err = admin.New(admin.Config{
		IAM:           ids,
		Store:         s.store,
		Audit:         log,
		Recorder:      op.denials,
		RefuseChanges: s.changeGate(),
		Root:          s.Credentials,
		Keys:          s.keysForAdmin(),
		Usage:         op.quotas,
		KMSHealth:     s.kmsHealthFunc(),
		Logger:        s.log,
	})
	if err != nil {
		op.quotas.Close()
		op.denials.Close(context.Background())
		log.Close()
		ids.Close()
		return err
	}
	// Anonymous scrapes (MetricsPublic) do not learn where the drives
	// are mounted: their path label is empty (to Prometheus, absent);
	// set, position and zone still tell the drives apart.
	public := s.cfg.MetricsPublic
	op.metrics.WatchDrives(func() []metrics.DriveStat {
		var out []metrics.DriveStat
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, set := range op.admin.Drives(ctx) {
			for _, d := range set {
				path := d.Path
				if public {
					path = ""
				}
				out = append(out, metrics.DriveStat{Set: d.Set, Position: d.Position, Path: path, Zone: d.Zone,
					Online: d.Online, Total: d.Total, Free: d.Free})
			}
		}
		return out
	})
	op.scrape = op.metrics.Handler()
	if !public {
		op.scrape = op.admin.Require(metricsOperation, iam.ScopeMetricsRead, op.scrape)
	}
	op.metrics.WatchHeal(func() metrics.HealStat {
		h := s.store.HealStatus()
		return metrics.HealStat{Running: h.Running, Passes: int64(h.Pass), ObjectsScanned: h.Totals.ObjectsScanned,
			ObjectsHealed: h.Totals.ObjectsHealed, ObjectsFailed: h.Totals.ObjectsFailed, BytesScanned: h.Totals.BytesScanned,
			Queued: int64(h.Queued), QueueHealed: h.QueueHealed, QueueFailed: h.QueueFailed, QueueDropped: h.QueueDropped}
	})
	if s.kmsHealth != nil {
		backend := kmsBackendName(s.cfg) // as in objstore_kms_calls_total
		op.metrics.WatchKMS(func() metrics.KMSStat {
			return metrics.KMSStat{Backend: backend, Up: !s.kmsHealth.Health().Down}
		})
	}
	s.ops = op
	return nil
}

// kmsHealthFunc hands the KMS's state to the admin API, or nil when the
// KMS cannot tell.
func (s *Server) kmsHealthFunc() func() kms.Health {
	if s.kmsHealth == nil {
		return nil
	}
	return s.kmsHealth.Health
}

// closeOperators writes the pending summaries of refused requests,
// flushes the audit log and releases the IAM store.
func (s *Server) closeOperators() error {
	if s.ops == nil {
		return nil
	}
	return errors.Join(s.ops.denials.Close(context.Background()), s.ops.audit.Close(), s.ops.iam.Close())
}

// closeQuotas stops the usage walks, before the store they read closes.
func (s *Server) closeQuotas() error {
	if s.ops == nil {
		return nil
	}
	return s.ops.quotas.Close()
}

// onRequest feeds every finished S3 request to the metrics, and the
// state-changing and refused ones to the audit log, through the
// aggregator: refusals of unauthenticated callers beyond the first few
// of a source, and of presigned URLs and signed forms beyond the first
// few of an access key, are counted in summary records
// (audit.Aggregator).
//
// It runs after the response: by default the audit log fails open.
// While a failed write has the log stopped (a full audit disk),
// requests are served as usual and their records are refused; the log
// counts them and reports them in a gap record when it resumes, and
// /health/ready answers 503 until then. This is the default policy,
// not an accident: refusing changes while the log is stopped makes a
// full audit disk an outage of the object store. Operators who must
// not make a change they cannot audit choose that outage with
// Config.AuditFailClosed (changeGate): changes are then refused before
// they run.
func (s *Server) onRequest(ev s3api.Event) {
	op := s.ops
	op.metrics.ObserveRequest(ev.Operation, ev.Status, ev.Duration, ev.BytesIn, ev.BytesOut)
	if !ev.Mutating() && !ev.Denied && ev.Status != http.StatusForbidden {
		return
	}
	add := op.denials.Append
	if ev.Replayable {
		add = op.denials.AppendReplayable // a presigned URL or a form: anyone holding it may send it
	}
	err := add(context.Background(), audit.Entry{
		Identity:  ev.Identity,
		AccessKey: ev.AccessKey,
		Source:    ev.Source,
		Action:    ev.Operation,
		Bucket:    ev.Bucket,
		Key:       ev.Key,
		Status:    ev.Status,
		Error:     ev.ErrorCode,
		RequestID: ev.RequestID,
		BytesIn:   ev.BytesIn,
		BytesOut:  ev.BytesOut,
		Reason:    ev.DenyReason,
	})
	if err != nil {
		s.log.Error("server: audit append failed", "request_id", ev.RequestID, "err", err)
	}
}

// serveOperators answers /metrics and /admin/v1 requests; false leaves
// the request to S3. A request signed for S3 (SigV4 or SigV2, header or
// presigned query) always goes to S3, so a bucket named "admin" or
// "metrics" stays reachable by signed clients.
func (s *Server) serveOperators(w http.ResponseWriter, r *http.Request) bool {
	if signedForS3(r) {
		return false
	}
	switch {
	case r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.ops.scrape.ServeHTTP(w, r)
		return true
	case r.URL.Path == admin.Prefix || strings.HasPrefix(r.URL.Path, admin.Prefix+"/"):
		s.ops.admin.ServeHTTP(w, r)
		return true
	}
	return false
}

// signedForS3 reports whether r carries an S3 signature: the operators'
// endpoints take Bearer or Basic credentials, never these.
func signedForS3(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if strings.HasPrefix(auth, "AWS4-") || strings.HasPrefix(auth, "AWS ") {
		return true
	}
	q := r.URL.Query()
	return q.Has("X-Amz-Credential") || q.Has("AWSAccessKeyId")
}

// IAM is the identity store (users, keys, policies, admin tokens).
func (s *Server) IAM() *iam.Store { return s.ops.iam }

// AuditLog is the audit log.
func (s *Server) AuditLog() *audit.Log { return s.ops.audit }

// keysForAdmin hands the key manager to the admin API, or nil (not a
// typed nil) when the server has none.
func (s *Server) keysForAdmin() admin.KeyManager {
	if s.keys == nil {
		return nil
	}
	return operatorRotation{Keys: s.keys, s: s}
}

// operatorRotation is the admin API's key manager: a rotation of the
// master key that seals iam.json and the audit anchor also re-seals them
// under the new version, so that the old one may be retired in the KMS
// (else the next start could not open them).
type operatorRotation struct {
	*encryption.Keys
	s *Server
}

// RotateMasterKey rotates id and rewraps what it seals.
func (o operatorRotation) RotateMasterKey(ctx context.Context, id kms.KeyID) (encryption.RotateReport, error) {
	rep, err := o.Keys.RotateMasterKey(ctx, id)
	src := o.s.operatorKeySource()
	if rep.Version == 0 || src == nil || id != src.Key || o.s.ops == nil {
		return rep, err // not rotated, or not the key that seals them
	}
	// Rotated (some buckets' rewraps may have failed): re-seal anyway.
	errs := []error{err}
	fail := func(what string, err error) {
		if rep.Failed == nil {
			rep.Failed = map[string]string{}
		}
		rep.Failed[what] = err.Error()
		o.s.log.Warn("server: re-seal after a key rotation failed; rotate again before retiring the old version", "what", what, "err", err)
		errs = append(errs, fmt.Errorf("server: re-seal %s under %s v%d: %w", what, id, rep.Version, err))
	}
	if err := o.s.ops.iam.Reseal(ctx); err != nil {
		fail("iam.json", err)
	}
	if err := o.s.ops.audit.RekeyAnchor(ctx); err != nil {
		fail("audit anchor", err)
	}
	return rep, errors.Join(errs...)
}
