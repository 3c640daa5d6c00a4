package hl7

import (
	"testing"
)

func TestDiff(t *testing.T) {
	const base = "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|C1|P|2.5.1\rPID|1||PAT123^^^CLINIC^MR||ZZTEST^CHILD||20200101|F\rORC|RE\rRXA|0|1|20250101||08^HepB^CVX\rOBX|1|CE|64994-7||V02\r"
	tests := []struct {
		name string
		b    string
		want []Change
	}{
		{"same", base, nil},
		{"one field", "MSH|^~\\&|EHR|CLINIC|IIS|DEMO|20250101||VXU^V04^VXU_V04|C1|P|2.5.1\rPID|1||PAT123^^^CLINIC^MR||ZZTEST^CHILD||20200101|F\rORC|RE\rRXA|0|1|20250101||08^HepB^CVX\rOBX|1|CE|64994-7||V02\r",
			[]Change{{Path: "MSH-6", Old: "STATE", New: "DEMO", Segment: "MSH", Op: "changed", FieldNum: 6}}},
		{"added segment in the middle",
			"MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|C1|P|2.5.1\rPID|1||PAT123^^^CLINIC^MR||ZZTEST^CHILD||20200101|F\rPD1|||||||||||02\rORC|RE\rRXA|0|1|20250101||08^HepB^CVX\rOBX|1|CE|64994-7||V02\r",
			[]Change{{Path: "PD1", New: "PD1|||||||||||02", Segment: "PD1", Op: "added"}}},
		{"removed segment and a longer field",
			"MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|C1|P|2.5.1\rPID|1||PAT123^^^CLINIC^MR||ZZTEST^CHILD||20200101|F|||X\rORC|RE\rRXA|0|1|20250101||08^HepB^CVX\r",
			[]Change{
				{Path: "PID-11", New: "X", Segment: "PID", Op: "changed", FieldNum: 11},
				{Path: "OBX", Old: "OBX|1|CE|64994-7||V02", Segment: "OBX", Op: "removed"},
			}},
		{"second occurrence", base + "OBX|2|CE|30963-3||VXC1\r",
			[]Change{{Path: "OBX[2]", New: "OBX|2|CE|30963-3||VXC1", Segment: "OBX", Op: "added"}}},
	}
	a, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Parse([]byte(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			got := Diff(a, b)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d changes %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("change %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
