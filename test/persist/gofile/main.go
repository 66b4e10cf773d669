// Writes a file shaped as the Go Pushgateway's persistence file (storage/interface.go, the same
// from 1.0 to HEAD), with what a pushgateway rarely writes but a file may hold: a time whose zone
// offset has seconds (time's binary version 2), a zero time, a time before 1970, a family without
// its protobuf. src/persist/testdata/zones.gob was made with
//
//	GO111MODULE=off go run test/persist/gofile/main.go src/persist/testdata/zones.gob
package main

import (
	"encoding/gob"
	"os"
	"time"
)

type GroupingKeyToMetricGroup map[string]MetricGroup

type MetricGroup struct {
	Labels  map[string]string
	Metrics NameToTimestampedMetricFamilyMap
}

type NameToTimestampedMetricFamilyMap map[string]TimestampedMetricFamily

type TimestampedMetricFamily struct {
	Timestamp            time.Time
	GobbableMetricFamily *GobbableMetricFamily
}

// The protobuf bytes of a MetricFamily, written out by hand (no protobuf module needed here).
type GobbableMetricFamily []byte

func (g *GobbableMetricFamily) GobEncode() ([]byte, error) { return *g, nil }
func (g *GobbableMetricFamily) GobDecode(b []byte) error   { *g = b; return nil }

func gauge(name string, job string, v byte) *GobbableMetricFamily {
	// name (1), type GAUGE (3) = 1, metric (4) { label (1) {name "job", value job}, gauge (2) {value (1) double} }
	label := append([]byte{0x0a, 3, 'j', 'o', 'b', 0x12, byte(len(job))}, job...)
	metric := append([]byte{0x0a, byte(len(label))}, label...)
	metric = append(metric, 0x12, 9, 0x09, 0, 0, 0, 0, 0, 0, 0xf0+v>>4, 0x3f)
	b := append([]byte{0x0a, byte(len(name))}, name...)
	b = append(b, 0x18, 1, 0x22, byte(len(metric)))
	b = append(b, metric...)
	g := GobbableMetricFamily(b)
	return &g
}

func main() {
	odd := time.FixedZone("odd", -(3*3600 + 30*60 + 15)) // seconds in the offset: binary version 2
	groups := GroupingKeyToMetricGroup{
		"job\xffzoned": {
			Labels: map[string]string{"job": "zoned"},
			Metrics: NameToTimestampedMetricFamilyMap{
				"up":        {Timestamp: time.Date(2024, 2, 29, 23, 59, 58, 987654321, odd), GobbableMetricFamily: gauge("up", "zoned", 0)},
				"zero_time": {GobbableMetricFamily: gauge("zero_time", "zoned", 0)},
				"no_family": {Timestamp: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
				"old_time":  {Timestamp: time.Date(1969, 12, 31, 23, 59, 59, 500000000, time.UTC), GobbableMetricFamily: gauge("old_time", "zoned", 0)},
			},
		},
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := gob.NewEncoder(f).Encode(groups); err != nil {
		panic(err)
	}
	f.Close()
}
