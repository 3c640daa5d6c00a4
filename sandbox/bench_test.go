package sandbox

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis"
)

// benchVXU is a realistic 2 KB VXU: the base message plus two more
// administered doses with provider, route, VFC eligibility and VIS
// observations.
func benchVXU() []byte {
	var b strings.Builder
	b.WriteString(baseVXU)
	for i, cvx := range []string{"10^IPV^CVX", "133^PCV13^CVX"} {
		fmt.Fprintf(&b, "ORC|RE|P-%d^ZZCLINIC|F-%d^ZZCLINIC|||||||ZZ-7824^ZZTESTNURSE^Lily^^^^^^ZZ-PI^L^^^PRN\r", i+3, i+3)
		fmt.Fprintf(&b, "RXA|0|1|20200301||%s|0.5|mL^mL^UCUM||00^New immunization record^NIP001||||||LOT%d|20210101|PMC^Sanofi Pasteur^MVX|||CP|A\r", cvx, i+3)
		b.WriteString("RXR|C28161^Intramuscular^NCIT|RT^Right Thigh^HL70163\r")
		b.WriteString("OBX|1|CE|64994-7^Vaccine funding program eligibility^LN|1|V02^VFC eligible - Medicaid^HL70064||||||F|||20200301|||VXC40^per immunization^CDCPHINVS\r")
		b.WriteString("OBX|2|CE|69764-9^Document Type^LN|2|253088698300017211160720^Polio VIS^cdcgs1vis||||||F|||20200301\r")
		b.WriteString("OBX|3|DT|29769-7^Date Vis Presented^LN|2|20200301||||||F|||20200301\r")
	}
	return []byte(b.String())
}

func BenchmarkSubmitVXU(b *testing.B) {
	s := newTestIIS(Config{})
	msg := benchVXU()
	if c := iis.Classify(s.Submit(context.Background(), Request{Message: msg}).Message); c.Verdict != iis.Accepted {
		b.Fatalf("benchmark VXU not accepted: %s", c.Reason)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		s.Submit(context.Background(), Request{Message: msg})
	}
}

func BenchmarkQueryZ44(b *testing.B) {
	s := newTestIIS(Config{})
	s.Submit(context.Background(), Request{Message: benchVXU()})
	msg := []byte(baseQBP)
	resp := s.Submit(context.Background(), Request{Message: msg})
	if !strings.Contains(string(resp.Message), "Z42^CDCPHINVS") {
		b.Fatalf("not a Z42: %v", resp)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportMetric(float64(len(resp.Message)), "reply-bytes")
	b.ReportAllocs()
	for b.Loop() {
		s.Submit(context.Background(), Request{Message: msg})
	}
}
