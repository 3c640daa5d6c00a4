package iis_test

import (
	"fmt"

	"github.com/iisync/iisync/transforms/iis"
)

func ExampleClassify() {
	ack := "MSH|^~\\&|IIS|STATE|EHR|CLINIC1|20250101||ACK^V04^ACK|A1|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS\r" +
		"MSA|AE|MSG00042\r" +
		"ERR||RXA^1^5^1^1|999^Application error^HL70357|E|5^Table value not found^HL70533|||Vaccine code not recognized - message rejected\r"
	c := iis.Classify([]byte(ack))
	fmt.Println(c.Verdict, c.ACKCode, c.ControlID)
	fmt.Println(c.ErrorCodes)
	fmt.Println(c.Reason)
	fmt.Println(c.Errors[0].Message) // registry text: show to authorised users, never log
	// Output:
	// rejected AE MSG00042
	// [0357:999 0533:5]
	// rejected: AE, 1 error (RXA^1^5^1^1 Table value not found)
	// Vaccine code not recognized - message rejected
}

func ExampleClassify_warnings() {
	ack := "MSH|^~\\&|IIS|STATE|EHR|CLINIC1|20250101||ACK^V04^ACK|A2|P|2.5.1\n" +
		"MSA|AE|MSG00043\n" +
		"ERR||RXR^1^2^1^1|999^Application error^HL70357|W|5^Table value not found^HL70533|||Administration Site not recognized\n"
	fmt.Println(iis.Classify([]byte(ack)))
	// Output: accepted_with_warnings: AE, 1 warning (RXR^1^2^1^1 Table value not found)
}
