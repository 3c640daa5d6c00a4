package mapping_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
)

const vxu = "MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20250101||VXU^V04^VXU_V04|CTL0001|P|2.5.1\r" +
	"PID|1||PAT123^^^CLINIC1^MR||ZZTEST^ALICE||20200101|F\r" +
	"RXA|0|1|20250101||08^Hep B^CVX|0.5|mL^mL^UCUM\r" +
	"OBX|1|CE|64994-7^Eligibility^LN|1|V02^VFC^HL70064||||||F\r"

func ExampleCompileFilter() {
	m, _ := hl7.Parse([]byte(vxu))
	f, err := mapping.CompileFilter(`type == "VXU" && sender in ["CLINIC1", "CLINIC2"] && count("RXA") > 0`)
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, err := f.Match(m)
	fmt.Println(ok, err)

	_, err = mapping.CompileFilter(`field("PID8") == "F"`)
	fmt.Println(err)
	// Output:
	// true <nil>
	// mapping: compile filter: field("PID8"): malformed path (1:7)
	//  | field("PID8") == "F"
	//  | ......^
}

func ExampleRun() {
	m, _ := hl7.Parse([]byte(vxu))
	steps, err := mapping.Build([]mapping.StepConfig{
		{Set: &mapping.SetStep{Path: "MSH-4.1", Value: "CLINIC9"}},
		{Map: &mapping.MapStep{Path: "RXA-5.1", Table: map[string]string{"08": "45"}}},
		{DropSegment: &mapping.DropSegmentStep{Segment: "OBX", All: true}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := mapping.Run(context.Background(), steps, m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Value("MSH-4.1"), out.Value("RXA-5.1"), out.SegmentCount())
	fmt.Println(m.Value("MSH-4.1"), m.Value("RXA-5.1"), m.SegmentCount()) // m is unchanged

	steps, _ = mapping.Build([]mapping.StepConfig{
		{Set: &mapping.SetStep{Path: "PID-3.4", Value: "STATE"}},
		{Set: &mapping.SetStep{Path: "IN1-2", Value: "X"}},
	})
	_, err = mapping.Run(context.Background(), steps, m)
	fmt.Println(err)
	// Output:
	// CLINIC9 45 3
	// CLINIC1 08 4
	// step 1 (set): path "IN1-2": hl7: segment not found
}

func ExampleBuild() {
	_, err := mapping.Build([]mapping.StepConfig{
		{Map: &mapping.MapStep{Path: "RXA-5.1"}},
		{DropSegment: &mapping.DropSegmentStep{Segment: "MSH"}},
	})
	fmt.Println(err)
	// Output:
	// step 0 (map): table: must have at least one entry
	// step 1 (drop_segment): segment: must be a segment ID other than MSH, got "MSH"
}

func ExampleParseTableCSV() {
	// conf opens the map step's table_file and passes it here.
	table, err := mapping.ParseTableCSV(strings.NewReader(
		"from,to\n# local codes → CDC CVX\nHEPB-PED,08\n\"DTaP, 5 pertussis antigens\",20\n"))
	fmt.Println(table, err)

	_, err = mapping.ParseTableCSV(strings.NewReader("from,to\n08,45\n08,43\n"))
	fmt.Println(err)
	// Output:
	// map[DTaP, 5 pertussis antigens:20 HEPB-PED:08] <nil>
	// mapping: table csv: line 3: from value "08" already on line 2
}

func ExampleScriptStep() {
	m, _ := hl7.Parse([]byte(vxu))
	steps, err := mapping.Build([]mapping.StepConfig{{Script: &mapping.ScriptStep{Source: `
def transform(msg):
    if not msg.has("RXA"):
        return False                    # filter out
    msg.set("PID-3.4", "STATEIIS")
    msg.set("PID-5", msg.get("PID-5.1"))  # "ZZTEST"
    fail("bad name " + msg.get("PID-5"))  # never quoted in the error
`}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = mapping.Run(context.Background(), steps, m)
	fmt.Println(err)

	_, err = mapping.Build([]mapping.StepConfig{{Script: &mapping.ScriptStep{Source: "def transform(msg):\n    msg.set(\n"}}})
	fmt.Println(err)
	// Output:
	// step 0 (script): script failed at line 7
	// step 0 (script): source: line 3:1: got outdent, want primary expression
}

func ExampleNDCToCVXStep() {
	m, _ := hl7.Parse([]byte("MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20250101||VXU^V04^VXU_V04|CTL0002|P|2.5.1\r" +
		"RXA|0|1|20250101||49281-0560-05^Pentacel^NDC|0.5|mL^mL^UCUM\r"))
	steps, _ := mapping.Build([]mapping.StepConfig{{NDCToCVX: &mapping.NDCToCVXStep{}}})
	out, err := mapping.Run(context.Background(), steps, m)
	fmt.Println(out.Value("RXA-5"), err)
	// Output:
	// 120^DTaP-Hib-IPV^CVX^49281-0560-05^Pentacel^NDC <nil>
}
