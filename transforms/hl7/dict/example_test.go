package dict_test

import (
	"fmt"

	"github.com/iisync/iisync/transforms/hl7/dict"
)

func ExampleFieldName() {
	fmt.Println(dict.SegmentName("RXA"))
	fmt.Println(dict.FieldName("RXA", 5))
	fmt.Printf("%q\n", dict.FieldName("RXA", 99))
	// Output:
	// Pharmacy/Treatment Administration
	// Administered Code
	// ""
}

func ExampleFields() {
	for _, f := range dict.Fields("MSA") {
		fmt.Printf("MSA-%d %s (%s)\n", f.Number, f.Name, f.DataType)
	}
	// Output:
	// MSA-1 Acknowledgment Code (ID)
	// MSA-2 Message Control ID (ST)
	// MSA-3 Text Message (ST)
	// MSA-4 Expected Sequence Number (NM)
	// MSA-5 Delayed Acknowledgment Type (NUL)
	// MSA-6 Error Condition (CE)
}
