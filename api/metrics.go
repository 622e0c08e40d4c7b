package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/allot-dev/allot"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// GaugeSink receives the database aggregates of a scrape. It has the
// methods of store.GaugeSink, so that cmd/allot can hand the store's
// ReadGauges a sink of this package without either importing the other.
type GaugeSink interface {
	QueueDepth(tenantID, kind string, items int, oldestEnqueued time.Time)
	Seats(tenantID, skuID, skuPartNumber string, enabled, consumed int)
	UsersInError(tenantID string, code allot.LicenseError, users int)
}

// MetricsConfig configures NewMetrics.
type MetricsConfig struct {
	// ReadGauges reads the database's aggregates at each scrape; typically
	// store.DB.ReadGauges. Nil: only the process's own metrics.
	ReadGauges func(ctx context.Context, sink GaugeSink) error
	// MaxTenants bounds the tenant label: the MaxTenants tenants with the
	// most seats keep their id as the label, all others are summed under
	// tenant="other", so that a server with many small tenants does not
	// make a series per tenant. 0 means DefaultMaxTenants.
	MaxTenants int
	// ReadTimeout bounds the database reads of one scrape; 0 means 10s.
	ReadTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// DefaultMaxTenants is how many tenants get their own label by default.
const DefaultMaxTenants = 50

// otherTenants labels the tenants beyond MaxTenants.
const otherTenants = "other"

// Metrics holds Allot's Prometheus metrics in a registry of its own (never
// the global one): the HTTP requests by route pattern and status, the
// processing batches, the database aggregates read at scrape time, and the
// Go runtime and process collectors. One Metrics serves one process.
type Metrics struct {
	reg        *prometheus.Registry
	handler    http.Handler
	requests   *prometheus.CounterVec
	durations  *prometheus.HistogramVec
	batches    *prometheus.HistogramVec
	batchUsers prometheus.Counter
}

// NewMetrics returns the metrics of one server process.
func NewMetrics(cfg MetricsConfig) *Metrics {
	if cfg.MaxTenants <= 0 {
		cfg.MaxTenants = DefaultMaxTenants
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "allot_http_requests_total",
			Help: "HTTP requests to the API by route pattern (\"unmatched\" for none) and status code.",
		}, []string{"route", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "allot_http_request_duration_seconds",
			Help:    "Time to answer an API request, by route pattern.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		batches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "allot_batch_duration_seconds",
			Help:    "Time of one processing batch (one transaction), by result (ok or error).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"result"}),
		batchUsers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "allot_batch_users_total",
			Help: "Users evaluated by processing batches.",
		}),
	}
	m.reg.MustRegister(m.requests, m.durations, m.batches, m.batchUsers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.ReadGauges != nil {
		m.reg.MustRegister(&dbCollector{cfg: cfg})
	}
	// A failing database read is reported by allot_gauges_read_success and
	// logged; the rest of the scrape is still served.
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// ObserveBatch records one processing batch; it is worker.Config.OnBatch.
func (m *Metrics) ObserveBatch(users int, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.batches.WithLabelValues(result).Observe(d.Seconds())
	m.batchUsers.Add(float64(users))
}

// observeRequest counts a request under its route pattern, never its
// path, so that the number of series stays that of the route table.
func (m *Metrics) observeRequest(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.durations.WithLabelValues(route).Observe(d.Seconds())
}

// serveMetrics is GET /metrics in Prometheus's text format.
// Handler serves the metrics without authentication, for a listener that
// only the monitoring network reaches.
func (m *Metrics) Handler() http.Handler { return m.handler }

func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

// dbCollector reads the database aggregates at each scrape.
type dbCollector struct {
	cfg MetricsConfig
}

var (
	tenantKind     = []string{"tenant", "kind"}
	tenantSku      = []string{"tenant", "sku", "sku_part_number"}
	descQueue      = prometheus.NewDesc("allot_queue_items", "Queued work items; a group walk is one item whatever the group's size.", tenantKind, nil)
	descQueueAge   = prometheus.NewDesc("allot_queue_oldest_age_seconds", "Age of the oldest queued work item (0 when none).", tenantKind, nil)
	descEnabled    = prometheus.NewDesc("allot_seats_enabled", "Seats bought of a SKU.", tenantSku, nil)
	descConsumed   = prometheus.NewDesc("allot_seats_consumed", "Seats of a SKU held by users.", tenantSku, nil)
	descAvailable  = prometheus.NewDesc("allot_seats_available", "Seats of a SKU bought and not held (0 when over-allocated).", tenantSku, nil)
	descInError    = prometheus.NewDesc("allot_users_in_error", "Users with at least one license state in error with this code.", []string{"tenant", "code"}, nil)
	descReadOK     = prometheus.NewDesc("allot_gauges_read_success", "1 if this scrape read the database aggregates, 0 if the read failed.", nil, nil)
	descReadTime   = prometheus.NewDesc("allot_gauges_read_duration_seconds", "Time this scrape spent reading the database aggregates.", nil, nil)
	queueKinds     = []string{"group", "user"}
	dbCollectorAll = []*prometheus.Desc{descQueue, descQueueAge, descEnabled, descConsumed, descAvailable, descInError, descReadOK, descReadTime}
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range dbCollectorAll {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ReadTimeout)
	defer cancel()
	start := time.Now()
	a := newAggregate()
	err := c.cfg.ReadGauges(ctx, a)
	ch <- prometheus.MustNewConstMetric(descReadTime, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		c.cfg.Logger.Error("metrics: reading the database aggregates failed", slog.Any("error", err))
		ch <- prometheus.MustNewConstMetric(descReadOK, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descReadOK, prometheus.GaugeValue, 1)
	a.emit(ch, c.cfg.MaxTenants, c.cfg.Now())
}

// aggregate gathers one scrape's rows, then folds the smaller tenants into
// "other" before emitting.
type aggregate struct {
	mu     sync.Mutex // the sink is called from one goroutine, but cheaply safe
	queue  map[[2]string]queueRow
	seats  map[[3]string][2]int // tenant, sku, part → enabled, consumed
	errors map[[2]string]int
	size   map[string]int // tenant → seats enabled, to rank tenants
}

type queueRow struct {
	items  int
	oldest time.Time
}

func newAggregate() *aggregate {
	return &aggregate{queue: map[[2]string]queueRow{}, seats: map[[3]string][2]int{}, errors: map[[2]string]int{}, size: map[string]int{}}
}

func (a *aggregate) QueueDepth(tenant, kind string, items int, oldest time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queue[[2]string{tenant, kind}] = queueRow{items, oldest}
	a.size[tenant] += 0
}

func (a *aggregate) Seats(tenant, sku, part string, enabled, consumed int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seats[[3]string{tenant, sku, part}] = [2]int{enabled, consumed}
	a.size[tenant] += enabled
}

func (a *aggregate) UsersInError(tenant string, code allot.LicenseError, users int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errors[[2]string{tenant, string(code)}] = users
	a.size[tenant] += 0
}

// labels maps each tenant to its label: its id for the maxTenants largest (by
// seats, then id, so that the choice is stable between scrapes), "other"
// for the rest.
func (a *aggregate) labels(maxTenants int) map[string]string {
	ids := make([]string, 0, len(a.size))
	for id := range a.size {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y string) int {
		if c := cmp.Compare(a.size[y], a.size[x]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	out := make(map[string]string, len(ids))
	for i, id := range ids {
		out[id] = id
		if i >= maxTenants {
			out[id] = otherTenants
		}
	}
	return out
}

func (a *aggregate) emit(ch chan<- prometheus.Metric, maxTenants int, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	label := a.labels(maxTenants)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	// Every labelled tenant reports both queue kinds, at 0 when empty, so
	// that an alert on the queue does not see a missing series as healthy.
	queue := map[[2]string]queueRow{}
	for _, l := range label {
		for _, k := range queueKinds {
			queue[[2]string{l, k}] = queueRow{}
		}
	}
	for k, q := range a.queue {
		key := [2]string{label[k[0]], k[1]}
		sum := queue[key]
		sum.items += q.items
		if !q.oldest.IsZero() && (sum.oldest.IsZero() || q.oldest.Before(sum.oldest)) {
			sum.oldest = q.oldest
		}
		queue[key] = sum
	}
	for k, q := range queue {
		gauge(descQueue, float64(q.items), k[0], k[1])
		age := 0.0
		if !q.oldest.IsZero() {
			age = max(now.Sub(q.oldest).Seconds(), 0)
		}
		gauge(descQueueAge, age, k[0], k[1])
	}

	// Available is summed per tenant, so that one tenant's over-allocation
	// does not hide another's free seats under "other".
	seats := map[[3]string][3]int{}
	for k, v := range a.seats {
		key := [3]string{label[k[0]], k[1], k[2]}
		sum := seats[key]
		seats[key] = [3]int{sum[0] + v[0], sum[1] + v[1], sum[2] + max(v[0]-v[1], 0)}
	}
	for k, v := range seats {
		gauge(descEnabled, float64(v[0]), k[:]...)
		gauge(descConsumed, float64(v[1]), k[:]...)
		gauge(descAvailable, float64(v[2]), k[:]...)
	}

	// A user belongs to one tenant, so summing tenants counts no one twice.
	errors := map[[2]string]int{}
	for k, n := range a.errors {
		errors[[2]string{label[k[0]], k[1]}] += n
	}
	for k, n := range errors {
		gauge(descInError, float64(n), k[0], k[1])
	}
}

// scrapers may read GET /metrics on the API's address: the operator only
// (Prometheus sends the operator token as a bearer token). Metrics name
// tenants and their seats, so a server without an operator token serves
// them only on a listener of their own (Metrics.Handler, allot serve
// --metrics-addr), never openly on the public address.
var scrapers = access{operator: true}
