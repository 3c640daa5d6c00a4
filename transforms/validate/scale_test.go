package validate

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkValidateScaling validates messages built to stress the
// per-segment bookkeeping (many RXA without ORC, many distinct segment IDs,
// a field with many repetitions) at two sizes; ns/segment staying flat from
// 2,000 to 8,000 segments shows validation is linear. (A benchmark, not a
// timed test: the host's speed varies too much for a time assertion.)
func BenchmarkValidateScaling(b *testing.B) {
	v, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	build := func(n int) map[string]string {
		head := strings.SplitN(zztestVXU, "\r", 3)
		rxa := strings.Repeat("RXA|0|1|20240601||20^DTaP^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||LOT1|20271231|PMC^Sanofi Pasteur^MVX|||CP|A\r", n)
		var ids strings.Builder
		const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		for i := range n {
			fmt.Fprintf(&ids, "Q%c%c|1\r", digits[i/36%36], digits[i%36])
		}
		reps := "PID|1||" + strings.Repeat("PAT123^^^ZZCLINIC^MR~", n) + "|\r"
		return map[string]string{
			"rxa":  head[0] + "\r" + head[1] + "\r" + rxa,
			"ids":  head[0] + "\r" + head[1] + "\r" + ids.String(),
			"reps": head[0] + "\r" + reps,
		}
	}
	for _, n := range []int{2000, 8000} {
		msgs := build(n)
		for _, name := range []string{"rxa", "ids", "reps"} {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				m := mustParse(b, msgs[name])
				for b.Loop() {
					v.Validate(m)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/segment")
			})
		}
	}
}
