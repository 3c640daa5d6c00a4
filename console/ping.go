package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/iisync/iisync/channels"
)

// PingRequest is the optional body of POST
// /api/channels/{channel}/destinations/{dest}/ping.
type PingRequest struct {
	// Echo is the text the registry is asked to echo; default "iisync ping".
	Echo string `json:"echo,omitempty"`
}

// PingResponse reports a connectivity test.
type PingResponse struct {
	Channel     string `json:"channel"`
	Destination string `json:"destination"`
	OK          bool   `json:"ok"`
	Echo        string `json:"echo,omitempty"`  // what the registry echoed (OK)
	Error       string `json:"error,omitempty"` // the fault kind or transport failure, never registry text
	Millis      int64  `json:"millis"`
}

// maxEcho bounds PingRequest.Echo.
const maxEcho = 256

// pingTimeout bounds a connectivity test, under the API's write timeout, so
// a registry that never answers gives ok false rather than a dropped
// connection.
const pingTimeout = 30 * time.Second

// ping runs a destination's connectivityTest: the Sync Registry's Ping
// button. A registry that answers with a fault or not at all is still a
// 200 with ok false: the test ran, its outcome is the answer.
func (s *Server) ping(w http.ResponseWriter, r *http.Request, _ caller) {
	var req PingRequest
	if code, msg := readJSON(r.Body, &req); code != 0 {
		writeError(w, code, msg)
		return
	}
	if len(req.Echo) > maxEcho {
		writeError(w, http.StatusBadRequest, "echo: at most 256 bytes")
		return
	}
	if req.Echo == "" {
		req.Echo = "iisync ping"
	}
	ch, dest := r.PathValue("channel"), r.PathValue("dest")
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
	defer cancel()
	got, err := s.eng.Ping(ctx, ch, dest, req.Echo)
	resp := PingResponse{Channel: ch, Destination: dest, Millis: time.Since(start).Milliseconds()}
	switch {
	case errors.Is(err, channels.ErrNoPing):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, channels.ErrNoDestination):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		resp.Error = err.Error()
	default:
		resp.OK, resp.Echo = true, got
	}
	writeJSON(w, http.StatusOK, resp)
}
