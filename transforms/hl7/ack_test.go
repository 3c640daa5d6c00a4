package hl7

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var ackNow = time.Date(2025, 1, 2, 3, 4, 5, 6000, time.FixedZone("", -5*3600))

func TestBuildACK(t *testing.T) {
	fatal := ErrorDetail{
		Location: Location{Segment: "RXA", Seq: 1, Field: 5, Rep: 1, Component: 1},
		Code:     "999", CodeText: "Application error", Severity: 'E',
		AppCode: "5", AppCodeText: "Table value not found",
		UserMessage: "Vaccine code not recognized | rejected",
	}
	tests := []struct {
		name string
		in   string
		code string
		errs []ErrorDetail
		opt  ACKOptions
		want string
	}{
		{
			name: "VXU accepted",
			in:   "MSH|^~\\&|EHRAPP|EHRFAC^1.2^ISO|IISAPP|IISFAC|20250101||VXU^V04^VXU_V04|CTL-1|T|2.5.1|||ER|AL|||||Z22^CDCPHINVS\rPID|1||PAT123\r",
			code: "AA",
			opt:  ACKOptions{ControlID: "A1", Now: ackNow},
			want: "MSH|^~\\&|IISAPP|IISFAC|EHRAPP|EHRFAC^1.2^ISO|20250102030405-0500||ACK^V04^ACK|A1|T|2.5.1|||NE|NE|||||Z23^CDCPHINVS\r" +
				"MSA|AA|CTL-1\r",
		},
		{
			name: "AE with ERR, text and overrides",
			in:   "MSH|^~\\&|EHRAPP|EHRFAC|IISAPP|IISFAC|20250101||VXU^V04^VXU_V04|CTL-2|P|2.5.1\rPID|1\r",
			code: "AE",
			errs: []ErrorDetail{fatal, {Location: Location{Segment: "PID", Seq: 1, Field: 7}, Code: "101", CodeText: "Required field missing", Severity: 'W'}},
			opt:  ACKOptions{ControlID: "A^2", Now: ackNow, SendingApp: "IISYNC", SendingFacility: "HUB", Text: "see ERR"},
			want: "MSH|^~\\&|IISYNC|HUB|EHRAPP|EHRFAC|20250102030405-0500||ACK^V04^ACK|A\\S\\2|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS\r" +
				"MSA|AE|CTL-2|see ERR\r" +
				"ERR||RXA^1^5^1^1|999^Application error^HL70357|E|5^Table value not found^HL70533|||Vaccine code not recognized \\F\\ rejected\r" +
				"ERR||PID^1^7|101^Required field missing^HL70357|W\r",
		},
		{
			name: "non-CDC ADT, defaults, odd delimiters",
			in:   "MSH*%$#!*SND*SFAC*RCV*RFAC*20250101**ADT%A01*C#F#3\rPID*1\r",
			code: "AR",
			errs: []ErrorDetail{{UserMessage: "a*b"}},
			opt:  ACKOptions{ControlID: "A3", Now: ackNow},
			want: "MSH*%$#!*RCV*RFAC*SND*SFAC*20250102030405-0500**ACK%A01%ACK*A3*P*2.5.1\r" +
				"MSA*AR*C#F#3\r" +
				"ERR****E****a#F#b\r",
		},
		{
			name: "QBP is a CDC profile even without MSH-21",
			in:   "MSH|^~\\&|A|B|C|D|20250101||QBP^Q11^QBP_Q11|Q1|P|2.5.1\rQPD|Z44\r",
			code: "AA",
			opt:  ACKOptions{ControlID: "A4", Now: ackNow},
			want: "MSH|^~\\&|C|D|A|B|20250102030405-0500||ACK^Q11^ACK|A4|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS\rMSA|AA|Q1\r",
		},
		{
			name: "default control ID from time",
			in:   "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|X|P|2.3\rPID|1\r",
			code: "AA",
			opt:  ACKOptions{Now: ackNow},
			want: "MSH|^~\\&|C|D|A|B|20250102030405-0500||ACK^A01^ACK|20250102030405000006|P|2.3\rMSA|AA|X\r",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := mustParse(t, tc.in)
			got := string(BuildACK(in, tc.code, tc.errs, tc.opt))
			if got != tc.want {
				t.Errorf("BuildACK =\n%q\nwant\n%q", got, tc.want)
			}
			ack := mustParse(t, got)
			if code, err := CheckACK([]byte(got), in.ControlID()); code != tc.code || err != nil {
				t.Errorf("CheckACK = %q, %v", code, err)
			}
			if ack.Delims() != in.Delims() {
				t.Error("ACK does not use the incoming delimiters")
			}
		})
	}
}

func TestBuildACKSamples(t *testing.T) {
	// Every sample gets a well-formed ACK that links back to it.
	for _, f := range sampleFiles(t, messagesDir) {
		t.Run(f[len(messagesDir)+1:], func(t *testing.T) {
			in := mustParse(t, string(readFile(t, f)))
			ack := BuildACK(in, "AA", nil, ACKOptions{Now: ackNow})
			m, err := Parse(ack)
			if err != nil {
				t.Fatal(err)
			}
			if m.Value("MSA-2") != in.ControlID() || m.Value("MSH-3") != in.Value("MSH-5") || m.Value("MSH-6") != in.Value("MSH-4") {
				t.Error("ACK header does not mirror the incoming one")
			}
			if strings.HasPrefix(in.Type(), "VXU") && m.Value("MSH-21") != "Z23^CDCPHINVS" {
				t.Error("VXU ACK lacks the Z23 profile")
			}
		})
	}
}

func TestBuildNAK(t *testing.T) {
	opt := ACKOptions{ControlID: "N1", Now: ackNow}
	tests := []struct {
		name string
		raw  string
		code string
		want string
	}{
		{
			name: "framing byte in PID, header salvaged",
			raw:  "\x0bMSH|^~\\&|EHRAPP|EHRFAC|IISAPP|IISFAC|20250101||VXU^V04^VXU_V04|CTL-9|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\rPID|1||PAT123\x1c\r",
			want: "MSH|^~\\&|IISAPP|IISFAC|EHRAPP|EHRFAC|20250102030405-0500||ACK^V04^ACK|N1|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS\r" +
				"MSA|AE|CTL-9\r" +
				"ERR|||102^Data type error^HL70357|E||||hl7: MLLP framing byte inside message\r",
		},
		{
			name: "bad segment id, located",
			raw:  "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|CTL-8|P|2.4\rPID|1\rxx|1\r",
			code: "AR",
			want: "MSH|^~\\&|C|D|A|B|20250102030405-0500||ACK^A01^ACK|N1|P|2.4\r" +
				"MSA|AR|CTL-8\r" +
				"ERR||^3|100^Segment sequence error^HL70357|E||||segment 3: hl7: invalid segment id\r",
		},
		{
			name: "framing byte located in a field",
			raw:  "MSH#^~\\&#A#B#C#D#20250101##ADT^A01#CTL-7#P#2.4\rPID#1##x\x0b\r",
			want: "MSH#^~\\&#C#D#A#B#20250102030405-0500##ACK^A01^ACK#N1#P#2.4\r" +
				"MSA#AE#CTL-7\r" +
				"ERR##PID^1^3#102^Data type error^HL70357#E####PID[1]-3: hl7: MLLP framing byte inside message\r",
		},
		{
			name: "nothing salvageable",
			raw:  "hello PAT123",
			want: "MSH|^~\\&|||||20250102030405-0500||ACK^^ACK|N1|P|2.5.1\r" +
				"MSA|AE\r" +
				"ERR|||100^Segment sequence error^HL70357|E||||hl7: message does not start with MSH\r",
		},
		{
			name: "bad delimiters: standard ones, empty MSA-2",
			raw:  "MSH|^^\\&|A|B|C|D|20250101||VXU^V04|CTL-6|P|2.5.1\r",
			want: "MSH|^~\\&|||||20250102030405-0500||ACK^^ACK|N1|P|2.5.1\r" +
				"MSA|AE\r" +
				"ERR||MSH^1^2|102^Data type error^HL70357|E||||MSH[1]-2: hl7: invalid delimiters in MSH-1/MSH-2\r",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.raw))
			if err == nil {
				t.Fatal("test input parses")
			}
			got := string(BuildNAK([]byte(tc.raw), err, tc.code, opt))
			if got != tc.want {
				t.Errorf("BuildNAK =\n%q\nwant\n%q", got, tc.want)
			}
			if _, err := Parse([]byte(got)); err != nil {
				t.Errorf("NAK does not parse: %v", err)
			}
		})
	}
}

func TestErrorFromParse(t *testing.T) {
	frameTooLarge := errors.New("mllp: frame exceeds max size")
	tests := []struct {
		name string
		err  error
		want ErrorDetail
	}{
		{"nil", nil, ErrorDetail{}},
		{"empty", &ParseError{Err: ErrEmpty}, ErrorDetail{Code: "100", CodeText: "Segment sequence error", Severity: 'E', UserMessage: "hl7: empty message"}},
		{"framing", &ParseError{Segment: "PID", Seq: 1, Field: 5, Err: ErrFramingByte},
			ErrorDetail{Location: Location{Segment: "PID", Seq: 1, Field: 5}, Code: "102", CodeText: "Data type error", Severity: 'E', UserMessage: "PID[1]-5: hl7: MLLP framing byte inside message"}},
		{"required", &ParseError{Segment: "PID", Seq: 1, Field: 7, Err: ErrRequired},
			ErrorDetail{Location: Location{Segment: "PID", Seq: 1, Field: 7}, Code: "101", CodeText: "Required field missing", Severity: 'E', UserMessage: "PID[1]-7: hl7: required field empty"}},
		{"foreign", frameTooLarge, ErrorDetail{Code: "207", CodeText: "Application internal error", Severity: 'E', UserMessage: "mllp: frame exceeds max size"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorFromParse(tc.err); got != tc.want {
				t.Errorf("ErrorFromParse = %+v\nwant %+v", got, tc.want)
			}
		})
	}
	nak := string(BuildNAK(nil, frameTooLarge, "AR", ACKOptions{ControlID: "N", Now: ackNow}))
	if !strings.Contains(nak, "ERR|||207^Application internal error^HL70357|E||||mllp: frame exceeds max size\r") {
		t.Errorf("NAK for a foreign error = %q", nak)
	}
}

func TestCheckACK(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		control string
		code    string
		err     error
	}{
		{"NIST AA", "nist-onc2015/ack_z23_AD-1.2_AA.hl7", "NIST-IZ-AD-1.1_Send_V04_Z22", "AA", nil},
		{"NIST AR", "nist-onc2015/ack_z23_AD-10.2_AR_unsupported_version.hl7", "NIST-IZ-AD-10.1_Send_V04_Z22", "AR", nil},
		{"NM repeated MSA", "state-acks/ack_nm_ack_pos_1.hl7", "NIST-IZ-001.00", "AA", nil},
		{"PA without MSA-2", "state-acks/ack_pa_err_4_missing_1.hl7", "637447778778467647", "AE", ErrControlIDMismatch},
		{"mismatch", "state-acks/ack_ca_ack_neg.hl7", "OTHER", "AE", ErrControlIDMismatch},
		{"not an ACK", "nist-onc2015/vxu_z22_AD-9.1_two_vaccines.hl7", "x", "", ErrNotACK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, err := CheckACK(readFile(t, messagesDir+"/"+tc.file), tc.control)
			if code != tc.code || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("CheckACK = %q, %v; want %q, %v", code, err, tc.code, tc.err)
			}
		})
	}
	if _, err := CheckACK([]byte("garbage"), "x"); !errors.Is(err, ErrNoMSH) {
		t.Errorf("CheckACK(garbage) error = %v", err)
	}
}

func TestSalvageHeader(t *testing.T) {
	tests := []struct{ in, ctl, sender string }{
		{"MSH|^~\\&|EHR|CLINIC^1.2^ISO|IIS|ST|2025||VXU|C9|P\rP D", "C9", "CLINIC"},
		{"\n FHS|^~\\&\rMSH*%$#!*EHR*CLINIC%X*IIS*ST*2025**VXU*C10*P\r", "C10", "CLINIC"},
		{"garbage", "", ""},
		{"MSH|^~\\&|EHR", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if ctl, s := SalvageHeader([]byte(tc.in)); ctl != tc.ctl || s != tc.sender {
				t.Fatalf("got %q %q, want %q %q", ctl, s, tc.ctl, tc.sender)
			}
		})
	}
}
