package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

func TestSendToServeCommitsBeforeAA(t *testing.T) {
	eng := startEngine(t, testConfig{})
	msgs := canaryVXU + strings.Replace(canaryVXU, "CANARY-1", "CANARY-2", 1) + strings.Replace(canaryVXU, "CANARY-1", "CANARY-3", 1)
	f := writeFile(t, "three.hl7", strings.ReplaceAll(msgs, "\r", "\n"))
	r := iisync(t, "", "send", "--to", eng.addr, f)
	if r.code != 0 {
		t.Fatalf("send exit %d\nstdout %s\nstderr %s\nserver log %s", r.code, r.stdout, r.stderr, eng.log)
	}
	want := "CANARY-1\tAA\tno ERR\nCANARY-2\tAA\tno ERR\nCANARY-3\tAA\tno ERR\n"
	if r.stdout != want {
		t.Errorf("send printed %q, want %q", r.stdout, want)
	}
	// Every AA'd message is in the store the moment the AA arrived: ask the
	// API right away, without waiting for delivery.
	if got := eng.controlIDs(t); !slices.Equal(got, []string{"CANARY-1", "CANARY-2", "CANARY-3"}) {
		t.Errorf("store holds %q", got)
	}
	if code := eng.stop(); code != 0 {
		t.Errorf("serve exited %d:\n%s", code, eng.log)
	}
	eng.noCanaries(t)
	// The store directory is private, and after the stop the messages are
	// still there (reopened with the same key).
	if fi, err := os.Stat(filepath.Join(eng.dir, "store")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("store dir mode: %v %v", fi.Mode(), err)
	}
	eng2 := restartEngine(t, eng)
	if got := eng2.controlIDs(t); !slices.Equal(got, []string{"CANARY-1", "CANARY-2", "CANARY-3"}) {
		t.Errorf("after restart the store holds %q", got)
	}
}

// TestServeNAKsAndKeepsConnection drives the listener with a raw client: a
// malformed message gets AE with an ERR giving the position, an oversize
// frame gets AR, and the same connection then still takes a good message.
func TestServeNAKsAndKeepsConnection(t *testing.T) {
	eng := startEngine(t, testConfig{maxFrame: 4096})
	conn, err := net.Dial("tcp", eng.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sc := mllp.NewScanner(conn, 1<<20)
	exchange := func(payload []byte) *hl7.Message {
		t.Helper()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(mllp.Encode(payload)); err != nil {
			t.Fatal(err)
		}
		if !sc.Scan() {
			t.Fatalf("no reply: %v", sc.Err())
		}
		ack, err := hl7.Parse(bytes.Clone(sc.Bytes()))
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		return ack
	}

	badPID := "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|BAD-7|P|2.5.1\rPID|1||PAT123\rZZ|not a segment ID\r"
	ack := exchange([]byte(badPID))
	if ack.Value("MSA-1") != "AE" || ack.Value("MSA-2") != "BAD-7" {
		t.Errorf("malformed: MSA %s|%s, want AE|BAD-7", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
	if loc := ack.Value("ERR-2"); loc != "^3" || ack.Value("ERR-4") != "E" || !strings.Contains(ack.Value("ERR-8"), "segment 3") {
		t.Errorf("malformed: ERR-2 %q ERR-4 %q, want the bad segment (3rd) located with severity E", loc, ack.Value("ERR-4"))
	}

	big := canaryVXU + "NTE|1||" + strings.Repeat("x", 8000) + "\r"
	big = strings.Replace(big, "CANARY-1", "BIG-1", 1)
	ack = exchange([]byte(big))
	if ack.Value("MSA-1") != "AR" || ack.Value("MSA-2") != "BIG-1" {
		t.Errorf("oversize: MSA %s|%s, want AR|BIG-1", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}

	ack = exchange([]byte(canaryVXU))
	if ack.Value("MSA-1") != "AA" || ack.Value("MSA-2") != "CANARY-1" {
		t.Errorf("after NAKs: MSA %s|%s, want AA|CANARY-1", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
	if ack.Value("MSH-3") != "IIS" || ack.Value("MSH-5") != "EHR" || ack.Value("MSH-21.1") != "Z23" {
		t.Errorf("ACK header: MSH-3 %q MSH-5 %q MSH-21 %q", ack.Value("MSH-3"), ack.Value("MSH-5"), ack.Value("MSH-21"))
	}
	// The good message is stored for delivery; the malformed one, if kept
	// for the record, is errored and queued nowhere; the oversize frame,
	// which was never whole, is not stored.
	list := eng.messages(t, "list")
	if list.code != 0 {
		t.Fatalf("messages list: %d %s", list.code, list.stderr)
	}
	var good, bad int
	for line := range strings.Lines(list.stdout) {
		f := strings.Split(strings.TrimSpace(line), "\t")
		switch f[3] {
		case "CANARY-1":
			good++
			if f[5] == string(store.StatusErrored) {
				t.Errorf("good message stored as %s", f[5])
			}
		case "BAD-7":
			bad++
			if f[5] != string(store.StatusErrored) {
				t.Errorf("malformed message stored as %s, want errored", f[5])
			}
		default:
			t.Errorf("unexpected stored message: %q", line)
		}
	}
	if good != 1 || bad > 1 {
		t.Errorf("store holds %d good and %d malformed messages:\n%s", good, bad, list.stdout)
	}
	eng.stop()
	eng.noCanaries(t)
}

func TestSendReportsNonAA(t *testing.T) {
	// A peer that answers every frame AE with an ERR, and one that answers
	// with another message's control ID.
	tests := []struct {
		name  string
		reply func(in *hl7.Message) []byte
		want  string
	}{
		{"AE with ERR", func(in *hl7.Message) []byte {
			return hl7.BuildACK(in, "AE", []hl7.ErrorDetail{{
				Location: hl7.Location{Segment: "RXA", Seq: 1, Field: 5, Rep: 1, Component: 1},
				Code:     "999", CodeText: "Application error", Severity: 'E',
				AppCode: "5", AppCodeText: "Table value not found", UserMessage: "Vaccine code not recognized",
			}}, hl7.ACKOptions{})
		}, "CANARY-1\tAE\t1 ERR: E RXA^1^5^1^1 999 (5) Vaccine code not recognized\n"},
		{"wrong control ID", func(in *hl7.Message) []byte {
			other, err := in.Set("MSH-10", "SOMEONE-ELSE")
			if err != nil {
				panic(err)
			}
			return hl7.BuildACK(other, "AA", nil, hl7.ACKOptions{})
		}, "CANARY-1\tERROR\t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				sc := mllp.NewScanner(c, 1<<20)
				for sc.Scan() {
					m, err := hl7.Parse(bytes.Clone(sc.Bytes()))
					if err != nil {
						return
					}
					_, _ = c.Write(mllp.Encode(tc.reply(m)))
				}
			}()
			f := writeFile(t, "m.hl7", canaryVXU)
			r := iisync(t, "", "send", "--to", ln.Addr().String(), "--ack-timeout", "5s", f)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			if !strings.HasPrefix(r.stdout, tc.want) {
				t.Errorf("stdout %q, want prefix %q", r.stdout, tc.want)
			}
		})
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := writeFile(t, "m.hl7", canaryVXU)
	r := iisync(t, "", "send", "--to", addr, f)
	if r.code != 1 || !strings.Contains(r.stdout, "CANARY-1\tERROR") {
		t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}
