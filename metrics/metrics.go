// Package metrics holds objstore's Prometheus metrics: what the S3 and
// admin layers observe per request, and gauges read from the object
// layer at scrape time (drives, healing) and from the KMS.
//
// The layers do not import this package: each exposes a small hook
// (a func or an event callback) that the server wires to a *Metrics, so
// they stay testable without a registry.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry of objstore metrics. It is safe for concurrent
// use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	kmsCalls *prometheus.CounterVec

	mu        sync.Mutex
	drives    func() []DriveStat
	heal      func() HealStat
	admission func() RequestStat
	kms       func() KMSStat
}

// KMSStat is the key management backend's state at scrape time.
type KMSStat struct {
	Backend string // as in objstore_kms_calls_total
	Up      bool
}

// RequestStat is the S3 layer's admission bound at scrape time.
type RequestStat struct {
	Limit            int   // requests served at once; 0: unbounded
	Running, Waiting int64 // requests served, and waiting for a slot, now
	Refused          int64 // requests answered SlowDown since start
}

// DriveStat is one drive's state at scrape time.
type DriveStat struct {
	Set, Position int
	Zone          string
	// Path is the drive's folder; empty when the server leaves it out
	// of public scrapes (the label stays; Prometheus stores an empty
	// label as absent).
	Path        string
	Online      bool
	Total, Free uint64 // bytes; 0 when unknown
}

// HealStat is the scanner's progress at scrape time.
type HealStat struct {
	Running bool
	Passes  int64
	// Objects and bytes the passes handled since the process started.
	ObjectsScanned, ObjectsHealed, ObjectsFailed int64
	BytesScanned                                 int64
	// The heal-on-read queue: its length, and what became of the objects
	// reads found damaged since the process started.
	Queued                                 int64
	QueueHealed, QueueFailed, QueueDropped int64
}

// New returns a registry with the process and Go runtime collectors and
// objstore's own metrics.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "objstore", Name: "requests_total",
		Help: "Requests served, by API operation and HTTP status.",
	}, []string{"api", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "objstore", Name: "request_duration_seconds",
		Help:    "Time from request to the last byte of the response, by API operation.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms .. 16 s
	}, []string{"api"})
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "objstore", Name: "received_bytes_total",
		Help: "Request body bytes received, by API operation.",
	}, []string{"api"})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "objstore", Name: "sent_bytes_total",
		Help: "Response body bytes sent, by API operation.",
	}, []string{"api"})
	m.kmsCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "objstore", Name: "kms_calls_total",
		Help: "Calls to the key management backend, by backend, operation and result.",
	}, []string{"backend", "op", "result"})
	m.reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut, m.kmsCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{m: m})
	return m
}

// ObserveRequest records one finished request.
func (m *Metrics) ObserveRequest(api string, status int, d time.Duration, in, out int64) {
	m.requests.WithLabelValues(api, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(api).Observe(d.Seconds())
	if in > 0 {
		m.bytesIn.WithLabelValues(api).Add(float64(in))
	}
	if out > 0 {
		m.bytesOut.WithLabelValues(api).Add(float64(out))
	}
}

// ObserveKMS records one call to a KMS backend.
func (m *Metrics) ObserveKMS(backend, op string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.kmsCalls.WithLabelValues(backend, op, result).Inc()
}

// WatchDrives makes every scrape report what fn returns.
func (m *Metrics) WatchDrives(fn func() []DriveStat) {
	m.mu.Lock()
	m.drives = fn
	m.mu.Unlock()
}

// WatchHeal makes every scrape report the scanner's progress.
func (m *Metrics) WatchHeal(fn func() HealStat) {
	m.mu.Lock()
	m.heal = fn
	m.mu.Unlock()
}

// WatchRequests makes every scrape report the admission bound's state.
func (m *Metrics) WatchRequests(fn func() RequestStat) {
	m.mu.Lock()
	m.admission = fn
	m.mu.Unlock()
}

// WatchKMS makes every scrape report the KMS backend's state.
func (m *Metrics) WatchKMS(fn func() KMSStat) {
	m.mu.Lock()
	m.kms = fn
	m.mu.Unlock()
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

var (
	driveOnline = prometheus.NewDesc("objstore_drive_online", "1 if the drive is usable, else 0.", []string{"set", "position", "zone", "path"}, nil)
	driveTotal  = prometheus.NewDesc("objstore_drive_total_bytes", "Capacity of the drive's file system.", []string{"set", "position", "zone", "path"}, nil)
	driveFree   = prometheus.NewDesc("objstore_drive_free_bytes", "Free bytes on the drive's file system.", []string{"set", "position", "zone", "path"}, nil)
	healRunning = prometheus.NewDesc("objstore_heal_running", "1 while a scan pass runs.", nil, nil)
	healPasses  = prometheus.NewDesc("objstore_heal_passes_total", "Scan passes completed.", nil, nil)
	healObjects = prometheus.NewDesc("objstore_heal_objects_total", "Objects the scan passes examined since the process started, by outcome.", []string{"outcome"}, nil)
	healBytes   = prometheus.NewDesc("objstore_heal_scanned_bytes_total", "Shard bytes the scanner verified.", nil, nil)
	healQueued  = prometheus.NewDesc("objstore_heal_queue_length", "Objects reads found damaged, waiting for their heal.", nil, nil)
	healQueue   = prometheus.NewDesc("objstore_heal_queue_objects_total", "Objects reads found damaged, by what their heal did: healed, failed (beyond repair or an error), dropped (queue full, left to the next pass).", []string{"outcome"}, nil)

	reqLimit   = prometheus.NewDesc("objstore_requests_limit", "S3 requests served at once at most (--max-requests); 0: unbounded.", nil, nil)
	reqRunning = prometheus.NewDesc("objstore_requests_running", "S3 requests being served now.", nil, nil)
	reqWaiting = prometheus.NewDesc("objstore_requests_waiting", "S3 requests waiting for a slot under the limit now.", nil, nil)
	reqRefused = prometheus.NewDesc("objstore_requests_slowdown_total", "S3 requests answered 503 SlowDown after waiting too long for a slot.", nil, nil)

	kmsUp = prometheus.NewDesc("objstore_kms_up", "1 if the key management backend answers, 0 while it is taken to be down (calls needing it fail at once but for one at a time).", []string{"backend"}, nil)
)

// stateCollector reads drive, heal, admission and KMS state at scrape
// time.
type stateCollector struct{ m *Metrics }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{driveOnline, driveTotal, driveFree, healRunning, healPasses, healObjects, healBytes, healQueued, healQueue,
		reqLimit, reqRunning, reqWaiting, reqRefused, kmsUp} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	drives, heal, admission, kms := c.m.drives, c.m.heal, c.m.admission, c.m.kms
	c.m.mu.Unlock()
	if kms != nil {
		k := kms()
		ch <- prometheus.MustNewConstMetric(kmsUp, prometheus.GaugeValue, boolValue(k.Up), k.Backend)
	}
	if admission != nil {
		r := admission()
		ch <- prometheus.MustNewConstMetric(reqLimit, prometheus.GaugeValue, float64(r.Limit))
		ch <- prometheus.MustNewConstMetric(reqRunning, prometheus.GaugeValue, float64(r.Running))
		ch <- prometheus.MustNewConstMetric(reqWaiting, prometheus.GaugeValue, float64(r.Waiting))
		ch <- prometheus.MustNewConstMetric(reqRefused, prometheus.CounterValue, float64(r.Refused))
	}
	if drives != nil {
		for _, d := range drives() {
			labels := []string{strconv.Itoa(d.Set), strconv.Itoa(d.Position), d.Zone, d.Path}
			ch <- prometheus.MustNewConstMetric(driveOnline, prometheus.GaugeValue, boolValue(d.Online), labels...)
			if d.Total > 0 {
				ch <- prometheus.MustNewConstMetric(driveTotal, prometheus.GaugeValue, float64(d.Total), labels...)
				ch <- prometheus.MustNewConstMetric(driveFree, prometheus.GaugeValue, float64(d.Free), labels...)
			}
		}
	}
	if heal != nil {
		h := heal()
		ch <- prometheus.MustNewConstMetric(healRunning, prometheus.GaugeValue, boolValue(h.Running))
		ch <- prometheus.MustNewConstMetric(healPasses, prometheus.CounterValue, float64(h.Passes))
		ch <- prometheus.MustNewConstMetric(healObjects, prometheus.CounterValue, float64(h.ObjectsScanned), "scanned")
		ch <- prometheus.MustNewConstMetric(healObjects, prometheus.CounterValue, float64(h.ObjectsHealed), "healed")
		ch <- prometheus.MustNewConstMetric(healObjects, prometheus.CounterValue, float64(h.ObjectsFailed), "failed")
		ch <- prometheus.MustNewConstMetric(healBytes, prometheus.CounterValue, float64(h.BytesScanned))
		ch <- prometheus.MustNewConstMetric(healQueued, prometheus.GaugeValue, float64(h.Queued))
		ch <- prometheus.MustNewConstMetric(healQueue, prometheus.CounterValue, float64(h.QueueHealed), "healed")
		ch <- prometheus.MustNewConstMetric(healQueue, prometheus.CounterValue, float64(h.QueueFailed), "failed")
		ch <- prometheus.MustNewConstMetric(healQueue, prometheus.CounterValue, float64(h.QueueDropped), "dropped")
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
