package validate

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLargeMessagesStayLinear feeds messages built to trigger the
// per-segment bookkeeping (many RXA without ORC, many distinct segment
// IDs, a field with many repetitions) and checks that validation time
// grows linearly: 4x the segments must cost well under 16x the time.
func TestLargeMessagesStayLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	v := newTestValidator(t, nil)
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
	small, large := build(2000), build(8000)
	for name := range small {
		cost := func(s string) time.Duration {
			m := mustParse(t, s)
			best := time.Duration(1 << 62)
			for range 5 {
				start := time.Now()
				v.Validate(m)
				best = min(best, time.Since(start))
			}
			return best
		}
		a, b := cost(small[name]), cost(large[name])
		if b > 12*a+5*time.Millisecond {
			t.Errorf("%s: 4x the segments cost %v vs %v: not linear", name, b, a)
		}
		t.Logf("%s: %v -> %v", name, a, b)
	}
}
