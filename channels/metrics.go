package channels

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/validate"
)

// metrics are the engine's Prometheus series, labelled by channel and
// destination. Labels never carry message content.
type metrics struct {
	received   *prometheus.CounterVec   // channel, source
	filtered   *prometheus.CounterVec   // channel
	parseErr   *prometheus.CounterVec   // channel
	queued     *prometheus.CounterVec   // channel, destination
	delivered  *prometheus.CounterVec   // channel, destination, status
	retries    *prometheus.CounterVec   // channel, destination
	deadLetter *prometheus.CounterVec   // channel, destination
	ackLatency *prometheus.HistogramVec // channel: receive to ACK written
	sendTime   *prometheus.HistogramVec // channel, destination: one delivery attempt
	queueDepth *prometheus.GaugeVec     // channel, destination
	reloadOK   prometheus.Gauge
	findings   *prometheus.CounterVec // channel, rule, severity
}

// newMetrics registers the engine's series on reg (a fresh registry when nil).
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		received:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_messages_received_total", Help: "Messages received and committed, by channel and source kind."}, []string{"channel", "source"}),
		filtered:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_messages_filtered_total", Help: "Messages the channel filter dropped."}, []string{"channel"}),
		parseErr:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_messages_unparseable_total", Help: "Frames that did not parse as HL7 and were answered with a NAK."}, []string{"channel"}),
		queued:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_messages_queued_total", Help: "Messages queued for a destination."}, []string{"channel", "destination"}),
		delivered:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_deliveries_total", Help: "Finished deliveries by outcome: sent, accepted, accepted_with_warnings, rejected, errored."}, []string{"channel", "destination", "status"}),
		retries:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_delivery_retries_total", Help: "Delivery attempts that failed and were scheduled again."}, []string{"channel", "destination"}),
		deadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_dead_letters_total", Help: "Deliveries given up (max attempts, max age or a permanent error)."}, []string{"channel", "destination"}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "iisync_ack_latency_seconds", Help: "Time from a message's arrival to its ACK being ready (includes the durable commit).", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"channel"}),
		sendTime:   prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "iisync_delivery_seconds", Help: "Duration of one delivery attempt.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"channel", "destination"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "iisync_queue_depth", Help: "Messages waiting in a destination's queue."}, []string{"channel", "destination"}),
		findings:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iisync_validation_findings_total", Help: "Pre-flight validation findings by channel, rule and severity."}, []string{"channel", "rule", "severity"}),
		reloadOK:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "iisync_config_last_reload_successful", Help: "1 if the last configuration reload was applied, 0 if it was rejected."}),
	}
	for _, c := range []prometheus.Collector{m.received, m.filtered, m.parseErr, m.queued, m.delivered, m.retries, m.deadLetter, m.ackLatency, m.sendTime, m.queueDepth, m.reloadOK, m.findings} {
		if err := reg.Register(c); err != nil {
			panic("channels: metrics registered twice: " + err.Error())
		}
	}
	m.reloadOK.Set(1)
	return m
}

// registerStoreMetrics exports the store writer's counters: commits per
// second against ops per second shows how well group commit is batching.
func registerStoreMetrics(reg prometheus.Registerer, st *store.Store) {
	if reg == nil {
		return
	}
	stat := func(f func(store.WriterStats) float64) func() float64 {
		return func() float64 { return f(st.WriterStats()) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "iisync_store_commits_total", Help: "Group commits of the store: one Badger transaction and one journal fdatasync each."},
			stat(func(w store.WriterStats) float64 { return float64(w.Commits) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "iisync_store_commit_ops_total", Help: "Store writes (message commits, delivery outcomes, retries) carried by those group commits."},
			stat(func(w store.WriterStats) float64 { return float64(w.Ops) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "iisync_store_commit_seconds_total", Help: "Time from each batch's Badger commit start to its callers' answer, summed."},
			stat(func(w store.WriterStats) float64 { return w.CommitTime.Seconds() })),
	} {
		if err := reg.Register(c); err != nil {
			panic("channels: store metrics registered twice: " + err.Error())
		}
	}
}

// observeFindings counts a message's pre-flight findings.
func (m *metrics) observeFindings(channel string, fs []validate.Finding) {
	for _, f := range fs {
		m.findings.WithLabelValues(channel, f.Rule, string(f.Severity)).Inc()
	}
}

// observeDelivery records a finished delivery attempt's outcome and duration.
func (m *metrics) observeDelivery(channel, dest string, status store.Status, d time.Duration) {
	m.delivered.WithLabelValues(channel, dest, string(status)).Inc()
	m.sendTime.WithLabelValues(channel, dest).Observe(d.Seconds())
}

// observeRetry records a failed attempt that will be tried again.
func (m *metrics) observeRetry(channel, dest string, d time.Duration) {
	m.retries.WithLabelValues(channel, dest).Inc()
	m.sendTime.WithLabelValues(channel, dest).Observe(d.Seconds())
}

// observeDeadLetter records a delivery given up.
func (m *metrics) observeDeadLetter(channel, dest string) {
	m.deadLetter.WithLabelValues(channel, dest).Inc()
}

// setQueueDepth publishes a destination queue's length.
func (m *metrics) setQueueDepth(channel, dest string, n int) {
	m.queueDepth.WithLabelValues(channel, dest).Set(float64(n))
}
