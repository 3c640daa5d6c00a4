package field

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret("hunter2-canary")
	b, err := json.Marshal(struct{ P Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s),
		fmt.Sprintf("%+v", struct{ P Secret }{s}), fmt.Sprintf("%#v", struct{ P Secret }{s}), string(b),
	}
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if s.Reveal() != "hunter2-canary" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	var u Secret
	if err := u.UnmarshalText([]byte("x")); err != nil || u.Reveal() != "x" {
		t.Errorf("UnmarshalText: %v %q", err, u.Reveal())
	}
}

func TestPrefix(t *testing.T) {
	tests := []struct {
		name string
		in   error
		want string
	}{
		{"nil", nil, ""},
		{"one", Errorf("addr", "must be host:port"), "x.addr: must be host:port"},
		{"index", Errorf("[2].name", "empty"), "x[2].name: empty"},
		{"plain", errors.New("boom"), "x: boom"},
		{"joined", errors.Join(Errorf("a", "1"), Errorf("b", "2")), "x.a: 1\nx.b: 2"},
		{"nested", Prefix("y", Errorf("a", "1")), "x.y.a: 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Prefix("x", tc.in)
			if tc.in == nil {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if got.Error() != tc.want {
				t.Errorf("got %q, want %q", got.Error(), tc.want)
			}
		})
	}
}
