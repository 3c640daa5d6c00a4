package hl7

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/internal/phitest"
)

// canaries are the markers every synthetic patient carries; none may ever
// appear in a log line, an error or a formatted Message.
var canaries = phitest.Canaries

func TestCanaryNeverLeaks(t *testing.T) {
	m := mustParse(t, canaryVXU)
	var logBuf bytes.Buffer
	log := zerolog.New(&logBuf)
	log.Info().Object("msg", m).Msg("received")
	log.Info().EmbedObject(m).Msg("received")

	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", m),
		"%+v":        fmt.Sprintf("%+v", m),
		"%#v":        fmt.Sprintf("%#v", m),
		"%s":         fmt.Sprintf("%s", m),
		"%d":         fmt.Sprintf("%d", m),
		"%x":         fmt.Sprintf("%x", m),
		"%q":         fmt.Sprintf("%q", m),
		"String":     m.String(),
		"GoString":   m.GoString(),
		"zerolog":    logBuf.String(),
		"PatientRef": m.PatientRef([]byte("k")),
	}
	pid, _ := m.Segment("PID", 1)
	outputs["segment %v"] = fmt.Sprintf("%v %+v %#v %s %d", pid, pid, pid, pid, pid)
	outputs["field %#v %d %x"] = fmt.Sprintf("%#v %d %x", pid.Field(5), pid.Field(5), pid.Field(5))

	// Errors raised while working on the canary message.
	var errs []error
	for _, p := range []string{"PID-0", "PID-5.1.1.1", "pid-5", "PID[0]-5"} {
		_, _, err := m.Get(p)
		errs = append(errs, err)
	}
	for _, edit := range []func() (*Message, error){
		func() (*Message, error) { return m.Set("ZZZ-1", "ZZTEST") },
		func() (*Message, error) { return m.Set("MSH-1", "PAT123") },
		func() (*Message, error) { return m.SetRaw("PID-5", "ZZTEST|20200101") },
		func() (*Message, error) { return m.InsertSegment(0, "zzt|PAT123") },
		func() (*Message, error) { return m.AppendSegment("NTE|ZZTEST\rPAT123") },
		func() (*Message, error) { return m.DeleteSegment("ZZT", 1) },
	} {
		_, err := edit()
		errs = append(errs, err)
	}
	for _, bad := range []string{
		strings.Replace(canaryVXU, "ZZTESTCHILD", "ZZTEST\x0bCHILD", 1),
		strings.Replace(canaryVXU, "ORC|", "orc|PAT123 20200101 ZZTEST", 1),
	} {
		_, err := Parse([]byte(bad))
		errs = append(errs, err)
		if _, err := CheckACK([]byte(bad), "PAT123"); err != nil {
			errs = append(errs, err)
		}
		outputs["NAK "+strconv.Itoa(len(errs))] = string(BuildNAK([]byte(bad), err, "AE", ACKOptions{}))[len("MSH"):]
	}
	_, err := CheckACK([]byte(canaryVXU), "20200101")
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("error %d is nil", i)
			continue
		}
		outputs["error "+strconv.Itoa(i)] = err.Error() + fmt.Sprintf(" %v %+v %#v", err, err, err)
	}

	for name, out := range outputs {
		for _, c := range canaries {
			if strings.Contains(out, c) {
				t.Errorf("%s leaks canary %q: %s", name, c, out)
			}
		}
	}
	if want := "hl7 VXU^V04^VXU_V04 control_id=CTL|1"; m.String() != want {
		t.Errorf("String() = %q, want %q", m.String(), want)
	}
	if !strings.Contains(logBuf.String(), `"control_id":"CTL|1","type":"VXU^V04^VXU_V04","sender":"CLINIC^1.2.3^ISO","bytes":`) {
		t.Errorf("zerolog line lacks the allowed fields: %s", logBuf.String())
	}
}

// TestNAKCarriesNoPHI: a NAK salvages header fields only; the canary
// patient in the body must not be echoed.
func TestPatientRef(t *testing.T) {
	m := mustParse(t, canaryVXU)
	key := []byte("secret-key")
	ref := m.PatientRef(key)
	if len(ref) != 16 {
		t.Fatalf("PatientRef = %q, want 16 hex digits", ref)
	}
	if ref != m.PatientRef(key) || ref == m.PatientRef([]byte("other")) {
		t.Error("PatientRef is not a keyed, stable hash")
	}
	other := mustParse(t, strings.Replace(canaryVXU, "PAT123^", "PAT124^", 1))
	if other.PatientRef(key) == ref {
		t.Error("different PID-3.1, same ref")
	}
	none := mustParse(t, "MSH|^~\\&|A\rPID|1\r")
	if none.PatientRef(key) != "" {
		t.Error("PatientRef without PID-3.1 should be empty")
	}
}

// TestImports enforces what this package may import: the standard library
// (but not net or os), zerolog, and conf/field.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
			switch {
			case p == "net" || strings.HasPrefix(p, "net/") || p == "os" || strings.HasPrefix(p, "os/"):
				t.Errorf("%s imports %s: transforms must not do I/O", f, p)
			case std, p == "github.com/rs/zerolog", p == "github.com/iisync/iisync/conf/field":
			default:
				t.Errorf("%s imports %s: not allowed in transforms/hl7", f, p)
			}
		}
	}
}
