package console

import (
	"context"
	"errors"
	"log"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
)

// statusFor maps an engine or store error to an HTTP status.
func statusFor(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrClosed), errors.Is(err, channels.ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ready reports why the console is not ready: the store is closed, or the
// engine runs no channel (not started yet, or shut down). An engine that
// offers Ready is asked instead of the second check.
func (s *Server) ready() error {
	if _, err := s.eng.Store().QueueDepth(""); err != nil {
		return errors.New("store unavailable")
	}
	if r, ok := any(s.eng).(interface{ Ready() error }); ok {
		return r.Ready()
	}
	if len(s.eng.Channels()) == 0 {
		return errors.New("engine not running")
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := s.ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Channel is one running channel in GET /api/channels.
type Channel struct {
	Name string `json:"name"`
	// Source is the source kind: mllp, directory or http.
	Source string `json:"source"`
	// Address is the bound MLLP address, the directory or the HTTP path.
	Address      string        `json:"address"`
	Destinations []Destination `json:"destinations"`
}

// Destination is one destination queue of a channel.
type Destination struct {
	Name  string `json:"name"`
	Queue string `json:"queue"`
	// Depth is the number of messages waiting; -1 when unknown.
	Depth int `json:"depth"`
	// Paused is true while the destination queues without delivering.
	Paused bool `json:"paused,omitempty"`
}

// ChannelList is the answer of GET /api/channels.
type ChannelList struct {
	Channels []Channel `json:"channels"`
}

func (s *Server) listChannels(w http.ResponseWriter, _ *http.Request, _ caller) {
	infos := s.eng.Channels()
	out := ChannelList{Channels: make([]Channel, 0, len(infos))}
	for _, ci := range infos {
		c := Channel{Name: ci.Name, Source: ci.Source, Address: ci.Address, Destinations: make([]Destination, 0, len(ci.Destinations))}
		for _, d := range ci.Destinations {
			c.Destinations = append(c.Destinations, Destination{Name: d.Name, Queue: d.Queue, Depth: d.Depth, Paused: d.Paused})
		}
		out.Channels = append(out.Channels, c)
	}
	writeJSON(w, http.StatusOK, out)
}

// stdWriter adapts net/http's error log to zerolog at warn level (TLS
// handshake errors, bad requests). Those lines name addresses, not content.
type stdWriter struct{ log zerolog.Logger }

func (w stdWriter) Write(p []byte) (int, error) {
	w.log.Warn().Str("error", strings.TrimSpace(string(p))).Msg("http server error")
	return len(p), nil
}

func newStdLogger(l zerolog.Logger) *log.Logger { return log.New(stdWriter{l}, "", 0) }

// promLogger adapts promhttp's error log.
type promLogger struct{ log zerolog.Logger }

func (p promLogger) Println(v ...any) {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err, ok := x.(error); ok {
			b.WriteString(err.Error())
		} else if s, ok := x.(string); ok {
			b.WriteString(s)
		}
	}
	p.log.Warn().Str("error", b.String()).Msg("metrics gathering failed")
}
