package channels

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/internal/ehrtest"
)

func dirChannel(t *testing.T, name, path string) ChannelConfig {
	return ChannelConfig{Name: name, Source: SourceConfig{Directory: &DirectoryConfig{Path: path, PollInterval: 100 * time.Millisecond}},
		Destinations: []DestinationConfig{parkedDest(t)}, Retry: fastRetry}
}

func TestDirectorySource(t *testing.T) {
	in := t.TempDir()
	h := newHarness(t, Config{Channels: []ChannelConfig{dirChannel(t, "files", in)}})
	batch := "FHS|^~\\&\rBHS|^~\\&\r" + string(vxu("D1", "PAT123")) + "\n" + string(vxu("D2", "PAT123")) +
		"MSH|^~\\&|EHR|CLINIC|IIS|STATE|2025||VXU^V04|D3|P|2.5.1\rP D|x\rBTS|3\rFTS|1\r"
	framed := append(mllp.Encode(vxu("D4", "PAT123")), mllp.Encode(vxu("D5", "PAT123"))...)
	if err := os.WriteFile(filepath.Join(in, "batch.hl7"), []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "framed.hl7"), framed, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "ignored.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, codes := range map[string][]string{"batch.hl7": {"AA", "AA", "AE"}, "framed.hl7": {"AA", "AA"}} {
		ackFile := filepath.Join(in, "done", file+".ack")
		ehrtest.WaitFor(t, func() bool { _, err := os.Stat(filepath.Join(in, "done", file)); return err == nil }, file+" moved to done")
		acks, err := os.ReadFile(ackFile)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(string(acks), "\r") {
			if strings.HasPrefix(line, "MSA|") {
				got = append(got, strings.Split(line, "|")[1])
			}
		}
		if strings.Join(got, ",") != strings.Join(codes, ",") {
			t.Fatalf("%s: ACK codes %v, want %v", file, got, codes)
		}
	}
	for _, c := range []string{"D1", "D2", "D4", "D5"} {
		if m := h.find(c); m.Status != store.StatusQueued || m.Source != "directory" {
			t.Fatalf("%s stored %s from %s", c, m.Status, m.Source)
		}
	}
	if _, err := os.Stat(filepath.Join(in, "ignored.txt")); err != nil {
		t.Fatal("a file not matching the pattern was touched")
	}
}

func TestDirectorySourceStoreDownMovesToErrorDir(t *testing.T) {
	in := t.TempDir()
	h := newHarness(t, Config{Channels: []ChannelConfig{dirChannel(t, "files", in)}})
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "a.hl7"), vxu("E1", "PAT123"), 0o600); err != nil {
		t.Fatal(err)
	}
	ehrtest.WaitFor(t, func() bool { _, err := os.Stat(filepath.Join(in, "error", "a.hl7")); return err == nil }, "file moved to error")
	acks, err := os.ReadFile(filepath.Join(in, "error", "a.hl7.ack"))
	if err != nil || !bytes.Contains(acks, []byte("MSA|AR|E1")) {
		t.Fatalf("ack file %q: %v", acks, err)
	}
}

func TestHTTPSource(t *testing.T) {
	ch := ChannelConfig{Name: "web", Source: SourceConfig{HTTP: &HTTPSourceConfig{}}, Destinations: []DestinationConfig{parkedDest(t)},
		Filter: FilterConfig{Expr: `control_id != "H3"`, OnReject: "AE"}, Retry: fastRetry}
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	srv := httptest.NewServer(h.mux)
	defer srv.Close()
	post := func(ct string, body []byte) (int, string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/channels/web/messages", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	hl7ct := "x-application/hl7-v2+er7"
	tests := []struct {
		name   string
		ct     string
		body   []byte
		status int
		msa    []string
	}{
		{"one", hl7ct, vxu("H1", "PAT123"), 200, []string{"MSA|AA|H1"}},
		{"two as text", "text/plain; charset=utf-8", append(vxu("H2", "PAT123"), vxu("H2b", "PAT123")...), 200, []string{"MSA|AA|H2", "MSA|AA|H2b"}},
		{"filtered", hl7ct, vxu("H3", "PAT123"), 422, []string{"MSA|AE|H3"}},
		{"unparseable", hl7ct, []byte("MSH|^~\\&|A|B|C|D|2025||VXU^V04|H4|P|2.5.1\rP D|x\r"), 422, []string{"MSA|AE|H4"}},
		{"wrong type", "application/json", vxu("H5", "PAT123"), 415, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.ct, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			for _, want := range tc.msa {
				if !strings.Contains(body, want+"\r") {
					t.Fatalf("body lacks %q", want)
				}
			}
		})
	}
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	if status, body := post(hl7ct, vxu("H6", "PAT123")); status != 503 || !strings.Contains(body, "MSA|AR|H6") {
		t.Fatalf("store closed: status %d", status)
	}
}
