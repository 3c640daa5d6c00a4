package mllp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/rs/zerolog"
)

// msh10 stands in for the HL7 logic the engine injects (transforms/hl7):
// the gateway itself never looks inside a payload.
func msh10(p []byte) string {
	seg, _, _ := bytes.Cut(p, []byte("\r"))
	if f := strings.Split(string(seg), "|"); len(f) > 9 && f[0] == "MSH" {
		return f[9]
	}
	return ""
}

func ExampleServer() {
	// The handler answers after it returns, so it may commit the message
	// durably before it says AA.
	h := mllp.HandlerFunc(func(ctx context.Context, r *mllp.Request) []byte {
		code := "AA"
		if r.Truncated {
			code = "AR" // r.Payload still holds the head of the frame
		}
		return []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101||ACK^V04^ACK|A1|P|2.5.1\rMSA|" + code + "|" + msh10(r.Payload) + "\r")
	})
	srv, err := mllp.New(mllp.Config{Addr: "127.0.0.1:0"}, h, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	msg := "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|MSG00001|P|2.5.1\rPID|1||PAT123||ZZTEST^EXAMPLE||20200101\r"
	_, _ = c.Write(mllp.Encode([]byte(msg)))
	sc := mllp.NewScanner(c, 0)
	if sc.Scan() {
		fmt.Println(strings.ReplaceAll(strings.TrimSpace(string(sc.Bytes())), "\r", "\n"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(srv.Shutdown(ctx), errors.Is(<-served, mllp.ErrServerClosed))
	// Output:
	// MSH|^~\&|IIS|STATE|EHR|CLINIC|20250101||ACK^V04^ACK|A1|P|2.5.1
	// MSA|AA|MSG00001
	// <nil> true
}

func ExampleSender() {
	echoID := mllp.HandlerFunc(func(ctx context.Context, r *mllp.Request) []byte {
		return []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101||ACK^V04^ACK|A1|P|2.5.1\rMSA|AA|" + msh10(r.Payload) + "\r")
	})
	srv, err := mllp.New(mllp.Config{}, echoID, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown(context.Background())

	s, err := mllp.NewSender(mllp.SenderConfig{Addr: ln.Addr().String(), ACKTimeout: 5 * time.Second}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	// verify is the engine's check that the reply answers this message;
	// here, a plain MSA-2 == MSH-10 comparison.
	errWrongACK := errors.New("example: reply answers another message")
	verify := func(id string) func([]byte) error {
		return func(reply []byte) error {
			if !bytes.Contains(reply, []byte("\rMSA|AA|"+id+"\r")) {
				return errWrongACK
			}
			return nil
		}
	}
	for _, id := range []string{"MSG00001", "MSG00002"} {
		msg := "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|" + id + "|P|2.5.1\rPID|1||PAT123||ZZTEST^EXAMPLE||20200101\r"
		reply, err := s.Send(context.Background(), []byte(msg), verify(id))
		fmt.Println(id, err, len(reply) > 0)
	}
	_, err = s.Send(context.Background(), []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|MSG00003|P|2.5.1\r"), verify("OTHER"))
	fmt.Println(errors.Is(err, mllp.ErrReplyRejected), errors.Is(err, errWrongACK))
	// Output:
	// MSG00001 <nil> true
	// MSG00002 <nil> true
	// true true
}
