package store

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// payload700 is a ~700-byte VXU with the canary patient.
var payload700 = func() []byte {
	b := vxu("BENCH0000001")
	for len(b) < 700 {
		b = append(b, "OBX|1|CE|64994-7^Vaccine funding program eligibility^LN|1|V02^VFC eligible^HL70064||||||F\r"...)
	}
	return b[:700]
}()

func benchMsg(i int64) *Message {
	ctl := strconv.FormatInt(i, 10)
	return &Message{
		Channel: "vxu", Source: "mllp", ControlID: ctl, Sender: "CLINIC" + strconv.FormatInt(i%20, 10),
		Type: "VXU^V04^VXU_V04", PatientRef: "ref" + strconv.FormatInt(i%5000, 10), Raw: payload700,
	}
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	return openTest(b, testConfig(b.TempDir()), zerolog.Nop())
}

// BenchmarkCommit is one committer: every Commit waits for its own sync.
func BenchmarkCommit(b *testing.B) {
	s := benchStore(b)
	dests := []string{"vxu/iis"}
	b.SetBytes(int64(len(payload700)))
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		if _, err := s.Commit(benchMsg(i), dests, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	reportBatches(b, s)
}

// BenchmarkCommitParallel runs 8 and 16 committers (b.SetParallelism of
// 8/GOMAXPROCS and 16/GOMAXPROCS: 4× and 8× on the 2-core target), which
// share syncs through the group-commit writer.
func BenchmarkCommitParallel(b *testing.B) {
	for _, committers := range []int{8, 16} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			s := benchStore(b)
			dests := []string{"vxu/iis"}
			var seq atomic.Int64
			b.SetBytes(int64(len(payload700)))
			b.ReportAllocs()
			b.SetParallelism(max(1, committers/runtime.GOMAXPROCS(0)))
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Commit(benchMsg(seq.Add(1)), dests, time.Hour); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			reportBatches(b, s)
		})
	}
}

// reportBatches reports how many calls shared each synced transaction and
// how long Badger's commit (its syncs) took.
func reportBatches(b *testing.B, s *Store) {
	if n := s.stats.batches.Load(); n > 0 {
		b.ReportMetric(float64(s.stats.ops.Load())/float64(n), "ops/txn")
		b.ReportMetric(float64(s.stats.syncNanos.Load())/float64(n)/1e6, "ms/txn")
		b.ReportMetric(float64(s.stats.badgerNanos.Load())/float64(n)/1e6, "badger-ms/txn")
		b.ReportMetric(float64(s.stats.journalNanos.Load())/float64(n)/1e6, "journal-ms/txn")
	}
}

// BenchmarkSearch pages through 10,000 messages by sender and status (the
// console's rejection report) and by patient.
func BenchmarkSearch(b *testing.B) {
	s := benchStore(b)
	const n = 10_000
	fill(b, s, n, 8)
	// Reject every 10th.
	for id := ID(1); id <= n; id += 10 {
		if err := s.Deliver(id, "vxu/iis", Delivery{Status: StatusRejected, ACKCode: "AE", ErrorCodes: []string{"0357:101"}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"sender+status", Query{Sender: "CLINIC1", Status: StatusRejected, Limit: 100}},
		{"patient", Query{PatientRef: "ref42"}},
		{"channel", Query{Channel: "vxu", Limit: 100}},
		{"error+range", Query{ErrorCode: "0357:101", Since: time.Now().Add(-time.Hour), Limit: 100}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			found := 0
			for b.Loop() {
				res, err := s.Search(bc.q)
				if err != nil {
					b.Fatal(err)
				}
				found = len(res)
			}
			b.ReportMetric(float64(found), "results")
		})
	}
}

// fill commits n benchmark messages from workers goroutines.
func fill(tb testing.TB, s *Store, n, workers int) {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := s.Commit(benchMsg(i), []string{"vxu/iis"}, time.Hour); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkRSS200k commits 200,000 ~700-byte messages with 8 committers and
// reports the process's resident memory. It is slow, so it runs only when
// asked for by name: go test -run '^$' -bench RSS -benchtime 1x.
func BenchmarkRSS200k(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "RSS") {
		b.Skip("slow: run with -bench RSS")
	}
	const n = 200_000
	s := benchStore(b)
	start := time.Now()
	fill(b, s, n, 8)
	took := time.Since(start)
	b.ReportMetric(float64(n)/took.Seconds(), "msgs/s")
	b.ReportMetric(vmKB(b, "VmRSS")/1024, "rss_mb")
	b.ReportMetric(vmKB(b, "VmHWM")/1024, "peak_rss_mb")
	b.ReportMetric(vmKB(b, "RssAnon")/1024, "anon_mb")
	b.ReportMetric(vmKB(b, "RssFile")/1024, "file_mb")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap_mb")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "gosys_mb")
	b.ReportMetric(float64(dirSize(s.cfg.Path))/(1<<20), "disk_mb")
	if d, _ := s.QueueDepth("vxu/iis"); d != n {
		b.Errorf("depth = %d", d)
	}
}

func vmKB(tb testing.TB, key string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			var kb float64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
				return kb
			}
		}
	}
	tb.Fatalf("%s not found", key)
	return 0
}

func BenchmarkCodec(b *testing.B) {
	m := benchMsg(1)
	m.ID, m.ReceivedAt, m.Status = 1, time.Now(), StatusRejected
	m.Deliveries = []Delivery{{Destination: "vxu/iis", Status: StatusRejected, ACKCode: "AE", ErrorCodes: []string{"0357:101"}, SentAt: time.Now()}}
	buf := encodeRecord(nil, m)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var out Message
	for b.Loop() {
		buf = encodeRecord(buf[:0], m)
		if err := decodeRecord(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "record_bytes")
}

func dirSize(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}
