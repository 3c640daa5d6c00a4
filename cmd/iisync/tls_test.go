package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/gateway/mllp/mllptest"
)

func TestSendServeMutualTLS(t *testing.T) {
	pki := mllptest.NewPKI(t)
	eng := startEngine(t, testConfig{tls: &pki})
	f := writeFile(t, "m.hl7", canaryVXU)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"client certificate", []string{"--ca", pki.CAFile, "--cert", pki.ClientCert, "--key", pki.ClientKey}, 0, "CANARY-1\tAA\tno ERR\n"},
		{"no client certificate", []string{"--ca", pki.CAFile}, 1, "CANARY-1\tERROR\t"},
		{"untrusted server", []string{"--tls", "--cert", pki.ClientCert, "--key", pki.ClientKey}, 1, "CANARY-1\tERROR\t"},
		{"plain TCP to a TLS listener", nil, 1, "CANARY-1\tERROR\t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"send", "--to", eng.addr, "--ack-timeout", "3s"}, tc.args...)
			r := iisync(t, "", append(args, f)...)
			if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.want) {
				t.Errorf("exit %d stdout %q stderr %q; want %d %q", r.code, r.stdout, r.stderr, tc.code, tc.want)
			}
		})
	}
	// Only the mutually authenticated send was stored (the dedupe window
	// keeps a resend of CANARY-1 from being stored twice anyway).
	if got := eng.controlIDs(t); !slices.Equal(got, []string{"CANARY-1"}) {
		t.Errorf("store holds %q", got)
	}
}
