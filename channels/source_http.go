package channels

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

// maxHTTPBody bounds one HTTP source request body, in bytes.
const maxHTTPBody = 16 << 20

// mount registers the engine's HTTP source handler on path, once: a
// ServeMux cannot unregister, so a path whose channel is removed answers
// 404 through the route table instead.
func (e *Engine) mount(path string) (err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.httpPath[path] {
		return nil
	}
	defer func() { // ServeMux panics on a pattern that conflicts with another
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot mount %q on the API listener", path)
		}
	}()
	e.opts.HTTPMux.Handle(path, http.HandlerFunc(e.serveHTTP))
	e.httpPath[path] = true
	return nil
}

// serveHTTP is the HTTP source: a POST body holds one or many messages
// (x-application/hl7-v2+er7 or text/plain; MLLP framing allowed). The
// response body is the ACKs, CR-terminated, in order. The status is 200
// when every ACK is AA, 503 when the store refused a message (resend the
// request; stored ones are deduplicated), else 422.
func (e *Engine) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := (*e.routes.Load())[r.URL.Path]
	if p == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "x-application/hl7-v2+er7" && mt != "text/plain") {
		http.Error(w, "content type must be x-application/hl7-v2+er7 or text/plain", http.StatusUnsupportedMediaType)
		return
	}
	if !e.httpGate.enter() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer e.httpGate.leave()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHTTPBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	msgs := splitMessages(body)
	if len(msgs) == 0 {
		http.Error(w, "empty body", http.StatusBadRequest)
		return
	}
	var acks bytes.Buffer
	worst := verdictAccepted
	for _, msg := range msgs {
		rep := e.receive(r.Context(), p, msg, "http")
		acks.Write(rep.ack)
		worst = max(worst, rep.verdict)
	}
	status := map[verdict]int{verdictAccepted: http.StatusOK, verdictRejected: http.StatusUnprocessableEntity,
		verdictUnavailable: http.StatusServiceUnavailable}[worst]
	w.Header().Set("Content-Type", "x-application/hl7-v2+er7")
	w.WriteHeader(status)
	_, _ = w.Write(acks.Bytes())
}

// splitMessages splits a batch (a file or a request body) into messages:
// MLLP frames when data contains a start block, else hl7.Split. Data with
// no MSH at all is returned as one message, so that it is NAKed and kept.
func splitMessages(data []byte) [][]byte {
	if bytes.IndexByte(data, mllp.StartBlock) >= 0 {
		var out [][]byte
		sc := mllp.NewScanner(bytes.NewReader(data), max(len(data), 1<<10))
		for sc.Scan() {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
		if len(out) > 0 {
			return out
		}
	}
	if msgs := hl7.Split(data); len(msgs) > 0 {
		return msgs
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	return [][]byte{data}
}
