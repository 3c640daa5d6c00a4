package soap

import (
	"testing"
	"time"
)

// BenchmarkSubmit is one Submit of a 2 KB VXU over loopback HTTP with
// keep-alive, answered by NewServer: encode, POST, server parse and
// encode, client parse and normalise.
func BenchmarkSubmit(b *testing.B) {
	srv := serve(b, NewServer(&iis{}, ServerOptions{}))
	c := newClient(b, baseConfig(srv.URL))
	msg := vxu2K("B1")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := c.Submit(b.Context(), msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkSubmitParallel is BenchmarkSubmit from GOMAXPROCS goroutines
// sharing one Client (its keep-alive pool).
func BenchmarkSubmitParallel(b *testing.B) {
	srv := serve(b, NewServer(&iis{}, ServerOptions{}))
	c := newClient(b, baseConfig(srv.URL))
	msg := vxu2K("B2")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Submit(b.Context(), msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEncodeRequest encodes a 2011 SOAP 1.2 submitSingleMessage of a
// 2 KB VXU into a reused buffer.
func BenchmarkEncodeRequest(b *testing.B) {
	msg := vxu2K("B3")
	r := &request{v: v2011, version: SOAP12, op: opSubmit, payload: msg,
		user: []byte(testUser), password: []byte("secret"), facility: []byte(testFacility)}
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = encodeRequest(buf[:0], r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseReply parses a reply carrying a 2 KB HL7 message and
// normalises it.
func BenchmarkParseReply(b *testing.B) {
	body, err := encodeRequest(nil, &request{v: v2011, version: SOAP12, op: opConnectivity, payload: vxu2K("B4")})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := parseReply(body)
		if err != nil || !r.found {
			b.Fatal(err)
		}
		_ = normalizeHL7(r.text)
	}
}
