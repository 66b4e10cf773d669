// A client_golang `prometheus/push` user, driven by test/clients/clients.test.ts.
//
//	main <gateway-url> <push|add|delete> <variant> <job> [<label>=<value> ...]
//
// push is Pusher.Push (PUT), add is Pusher.Add (POST), delete is Pusher.Delete (DELETE), all in
// client_golang's default format (length-delimited protobuf). Every observation is fixed, so
// that two runs (one against ours, one against the reference) push byte-identical bodies.
// Variant 1 pushes one metric of every kind: a counter vector, a gauge, a classic histogram, a
// native histogram, a histogram with both classic and native buckets, and a summary. Variant 2
// pushes a changed gauge and a new counter (used with add, to show which families are replaced).
// Variant 3 pushes only a gauge (used with push, to show that PUT replaces the whole group).
//
// With PGW_TTL set, every request carries the header Pushgateway-TTL with its value (docs/expiry.md),
// added by an HTTPDoer given to Pusher.Client: Debian's client_golang 1.14 predates Pusher.Header.
//
// Built by the test with GO111MODULE=off GOPATH=/usr/share/gocode (Debian's
// golang-github-prometheus-client-golang-dev); no binary is ever committed.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

func collectors(variant string) ([]prometheus.Collector, error) {
	switch variant {
	case "1":
		requests := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "client_requests_total",
			Help: "Requests handled, by code (help with a \\ backslash).",
		}, []string{"code"})
		requests.WithLabelValues("200").Add(41)
		requests.WithLabelValues("500").Inc()

		temperature := prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "client_temperature_celsius",
			Help:        "A gauge with a constant label.",
			ConstLabels: prometheus.Labels{"room": "lab \"1\""},
		})
		temperature.Set(-21.5)

		classic := prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "client_latency_seconds",
			Help:    "A classic histogram.",
			Buckets: []float64{0.1, 0.5, 1},
		})
		native := prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                        "client_native_seconds",
			Help:                        "A native histogram (no classic buckets).",
			NativeHistogramBucketFactor: 1.1,
		})
		mixed := prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                         "client_mixed_seconds",
			Help:                         "A histogram with classic and native buckets.",
			Buckets:                      []float64{0.25, 2.5},
			NativeHistogramBucketFactor:  1.5,
			NativeHistogramZeroThreshold: 0.001,
		})
		for _, v := range []float64{0, 0.0005, 0.05, 0.3, 0.3, 0.7, 2, 12.5, -3} {
			if v >= 0 {
				classic.Observe(v)
			}
			native.Observe(v)
			mixed.Observe(v)
		}

		summary := prometheus.NewSummary(prometheus.SummaryOpts{
			Name:       "client_job_duration_seconds",
			Help:       "A summary with quantiles.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
			MaxAge:     time.Hour,
		})
		for i := 1; i <= 100; i++ {
			summary.Observe(float64(i) / 10)
		}
		return []prometheus.Collector{requests, temperature, classic, native, mixed, summary}, nil
	case "2":
		temperature := prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "client_temperature_celsius",
			Help:        "A gauge with a constant label.",
			ConstLabels: prometheus.Labels{"room": "lab \"1\""},
		})
		temperature.Set(42)
		added := prometheus.NewCounter(prometheus.CounterOpts{
			Name: "client_added_total",
			Help: "Only pushed by add.",
		})
		added.Add(3)
		return []prometheus.Collector{temperature, added}, nil
	case "3":
		last := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "client_last_success_timestamp_seconds",
			Help: "The only family left after a second push.",
		})
		last.Set(1.5e9)
		return []prometheus.Collector{last}, nil
	}
	return nil, fmt.Errorf("unknown variant %q", variant)
}

// headerDoer sends every request with the Pushgateway-TTL header.
type headerDoer struct{ ttl string }

func (d headerDoer) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set("Pushgateway-TTL", d.ttl)
	return http.DefaultClient.Do(r)
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: main <gateway-url> <push|add|delete> <variant> <job> [<label>=<value> ...]")
		os.Exit(2)
	}
	url, op, variant, job := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	pusher := push.New(url, job)
	if ttl := os.Getenv("PGW_TTL"); ttl != "" {
		pusher = pusher.Client(headerDoer{ttl})
	}
	for _, kv := range os.Args[5:] {
		i := strings.IndexByte(kv, '=')
		if i < 0 {
			fmt.Fprintf(os.Stderr, "grouping %q is not <label>=<value>\n", kv)
			os.Exit(2)
		}
		pusher = pusher.Grouping(kv[:i], kv[i+1:])
	}
	var err error
	switch op {
	case "push", "add":
		cs, cerr := collectors(variant)
		if cerr != nil {
			fmt.Fprintln(os.Stderr, cerr)
			os.Exit(2)
		}
		for _, c := range cs {
			pusher = pusher.Collector(c)
		}
		if op == "push" {
			err = pusher.Push()
		} else {
			err = pusher.Add()
		}
	case "delete":
		err = pusher.Delete()
	default:
		fmt.Fprintf(os.Stderr, "unknown operation %q\n", op)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
