package iis

// table0357 is HL7 table 0357 (message error condition codes) as constrained
// by the CDC IG 1.5 value set HL70357_IZ.
var table0357 = map[string]string{
	"0":   "Message accepted",
	"100": "Segment sequence error",
	"101": "Required field missing",
	"102": "Data type error",
	"103": "Table value not found",
	"200": "Unsupported message type",
	"201": "Unsupported event code",
	"202": "Unsupported processing ID",
	"203": "Unsupported version ID",
	"204": "Unknown key identifier",
	"205": "Duplicate key identifier",
	"206": "Application record locked",
	"207": "Application internal error",
	"999": "Application error",
}

// table0533 is CDC table 0533 (application error codes): the IG 1.5 value
// set HL70533_IZ plus 7 and 8 as the AIRA IIS Sandbox sends them.
var table0533 = map[string]string{
	"1": "Illogical Date error",
	"2": "Invalid Date",
	"3": "Illogical Value error",
	"4": "Invalid value",
	"5": "Table value not found",
	"6": "Required observation missing",
	"7": "Required data missing",
	"8": "Data was ignored",
}
