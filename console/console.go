package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/conf/field"
)

// Config configures the console. conf maps the YAML "api" section to it.
type Config struct {
	// Addr is the host:port the API listens on. Default "127.0.0.1:8080".
	Addr string
	// Token, when set, is required on every /api/ route as
	// "Authorization: Bearer <token>". Empty means no authentication (bind
	// Addr to loopback then). /healthz, /readyz and /metrics are never
	// protected: they carry no PHI.
	Token field.Secret
}

// DefaultAddr is the API listen address when Config.Addr is empty.
const DefaultAddr = "127.0.0.1:8080"

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	return c
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return field.Errorf("addr", "must be host:port, got %q", c.Addr)
	}
	return nil
}

// Limits and timeouts of the API server.
const (
	maxBodyBytes      = 64 << 10 // request bodies under /api/
	maxHeaderBytes    = 64 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Server is the console's HTTP server. Create it with New, run it with
// Serve and stop it with Shutdown.
type Server struct {
	cfg     Config
	eng     *channels.Engine
	log     zerolog.Logger
	handler http.Handler
	srv     *http.Server
	// token is the SHA-256 of the bearer token, compared in constant time;
	// nil when no token is configured. SetToken swaps it (reload).
	token atomic.Pointer[[sha256.Size]byte]
	// reg is the Sync Registry behind /api/registry; nil until SetRegistry
	// (the routes answer 404 meanwhile).
	reg atomic.Pointer[registry.Service]
}

// New mounts the console's routes on mux (the mux the engine mounts its HTTP
// sources on; a new one when nil) and returns the server. gatherer backs
// /metrics (prometheus.DefaultGatherer when nil). It does no I/O.
func New(cfg Config, eng *channels.Engine, gatherer prometheus.Gatherer, mux *http.ServeMux, log zerolog.Logger) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if eng == nil {
		return nil, errors.New("console: nil engine")
	}
	if mux == nil {
		mux = http.NewServeMux()
	}
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	s := &Server{cfg: cfg, eng: eng, log: log}
	s.SetToken(cfg.Token)
	if err := s.routes(mux, gatherer); err != nil {
		return nil, err
	}
	s.handler = mux
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          newStdLogger(log),
	}
	return s, nil
}

// routes registers every route; a pattern that conflicts with one already on
// the mux (an HTTP source configured on an API path) is an error, not a panic.
func (s *Server) routes(mux *http.ServeMux, gatherer prometheus.Gatherer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("console: mount routes: %v", r)
		}
	}()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
		ErrorLog: promLogger{s.log}, ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.Handle("GET /api/channels", s.api(s.listChannels))
	mux.Handle("GET /api/messages", s.api(s.listMessages))
	mux.Handle("GET /api/messages/{id}", s.api(s.showMessage))
	mux.Handle("POST /api/messages/{id}/reprocess", s.api(s.reprocess))
	mux.Handle("POST /api/messages/{id}/resend", s.api(s.resend))
	mux.Handle("POST /api/channels/{channel}/destinations/{dest}/ping", s.api(s.ping))
	mux.Handle("POST /api/channels/{channel}/try", s.api(s.try))
	mux.Handle("GET /api/registry", s.api(s.registryChannels))
	for name, a := range registryActions {
		mux.Handle("POST /api/registry/{channel}/"+name, s.api(s.registry(name, a)))
	}
	mux.Handle("POST /api/registry/{channel}/ping", s.api(s.registryPing))
	return nil
}

// SetToken replaces the bearer token required on /api/ (a reload of
// api.token); an empty one turns authentication off.
func (s *Server) SetToken(tok field.Secret) {
	if tok.IsZero() {
		s.token.Store(nil)
		return
	}
	h := sha256.Sum256([]byte(tok.Reveal()))
	s.token.Store(&h)
}

// SetRegistry makes r the Sync Registry behind /api/registry (serve calls
// it once the engine and r have started); nil turns the routes off: they
// answer 404 "the sync registry is not running".
func (s *Server) SetRegistry(r *registry.Service) { s.reg.Store(r) }

// Handler returns the server's handler (the mux with the console's routes),
// for tests and for embedding in another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers HTTP on ln until Shutdown. It always returns a non-nil
// error; after Shutdown that is http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info().Str("addr", ln.Addr().String()).Bool("auth", s.token.Load() != nil).Msg("console started")
	return s.srv.Serve(ln)
}

// Shutdown stops accepting, lets in-flight requests finish within ctx, and
// closes idle connections.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("console: shutdown: %w", err)
	}
	return nil
}

// caller identifies who made an authenticated request, for the audit log.
// With one shared token there is one identity; X-Iisync-User (set by
// `iisync messages`) names the person, as they claim it.
type caller struct {
	user    string // "api-token" or "anonymous"
	claimed string
}

// api wraps an /api/ handler: bounded body, bearer token, JSON content type.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, c caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		c := caller{user: "anonymous", claimed: claimedUser(r.Header.Get("X-Iisync-User"))}
		if want := s.token.Load(); want != nil {
			tok, ok := bearer(r.Header.Get("Authorization"))
			got := sha256.Sum256([]byte(tok))
			if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				s.log.Warn().Str("remote_addr", r.RemoteAddr).Str("method", r.Method).Str("path", r.URL.Path).Msg("api unauthorized")
				w.Header().Set("WWW-Authenticate", `Bearer realm="iisync"`)
				writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
				return
			}
			c.user = "api-token"
		}
		w.Header().Set("Cache-Control", "no-store") // responses may hold PHI
		h(w, r, c)
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header
// (the scheme is case-insensitive, RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return h[len(p):], true
}

// claimedUser keeps at most 64 printable ASCII characters of a claimed user name.
func claimedUser(v string) string {
	out := make([]byte, 0, min(len(v), 64))
	for i := 0; i < len(v) && len(out) < 64; i++ {
		if c := v[i]; c > ' ' && c < 0x7f {
			out = append(out, c)
		}
	}
	return string(out)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers {"error": msg}. msg never holds message content.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
