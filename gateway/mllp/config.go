package mllp

import (
	"errors"
	"net"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// Limits that Validate enforces on MaxFrameBytes.
const (
	minFrameBytes = 1 << 10
	maxFrameBytes = 64 << 20
)

// Config configures a listener (Server). The zero value of each field means
// its default.
type Config struct {
	// Addr is the host:port to listen on; default "127.0.0.1:2575".
	Addr string `yaml:"addr"`
	// MaxFrameBytes is the largest payload accepted, in bytes; default 1 MiB,
	// allowed 1 KiB..64 MiB. A larger frame is delivered truncated.
	MaxFrameBytes int `yaml:"max_frame_bytes"`
	// MaxConns is the most connections served at once; default 256. Further
	// connections are closed as soon as they are accepted.
	MaxConns int `yaml:"max_conns"`
	// IdleTimeout closes a connection when no frame starts within it;
	// default 5m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// FrameTimeout bounds the time from a frame's start byte to its end
	// block (and the TLS handshake); default 30s.
	FrameTimeout time.Duration `yaml:"frame_timeout"`
	// WriteTimeout bounds writing one reply; default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// TLS enables TLS; nil means plain TCP.
	TLS *TLSConfig `yaml:"tls"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:2575"
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.MaxConns == 0 {
		c.MaxConns = 256
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.FrameTimeout == 0 {
		c.FrameTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	return c
}

// Validate returns every problem in c, joined; zero fields count as their
// defaults. It reads no files.
func (c Config) Validate() error {
	c = c.WithDefaults()
	errs := checkEndpoint(c.Addr, c.MaxFrameBytes)
	if c.MaxConns < 1 {
		errs = append(errs, field.Errorf("max_conns", "must be at least 1, got %d", c.MaxConns))
	}
	errs = append(errs, positive("idle_timeout", c.IdleTimeout)...)
	errs = append(errs, positive("frame_timeout", c.FrameTimeout)...)
	errs = append(errs, positive("write_timeout", c.WriteTimeout)...)
	if c.TLS != nil {
		errs = append(errs, c.TLS.validate(true)...)
	}
	return errors.Join(errs...)
}

// SenderConfig configures a Sender. The zero value of each field means its
// default.
type SenderConfig struct {
	// Addr is the peer's host:port (required).
	Addr string `yaml:"addr"`
	// TLS enables TLS; nil means plain TCP.
	TLS *TLSConfig `yaml:"tls"`
	// DialTimeout bounds one connect attempt, TLS handshake included;
	// default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ACKTimeout bounds the wait for the reply to one message (and the
	// write of the message); default 30s.
	ACKTimeout time.Duration `yaml:"ack_timeout"`
	// MaxFrameBytes is the largest reply accepted, in bytes; default 1 MiB,
	// allowed 1 KiB..64 MiB.
	MaxFrameBytes int `yaml:"max_frame_bytes"`
	// Backoff is the delay before the second connect attempt; it doubles
	// for each further attempt, with jitter; default 200ms.
	Backoff time.Duration `yaml:"backoff"`
	// MaxBackoff caps the delay between connect attempts; default 30s.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxAttempts is how many times one Send tries to connect; default 3.
	MaxAttempts int `yaml:"max_attempts"`
}

// WithDefaults returns c with every zero field set to its default.
func (c SenderConfig) WithDefaults() SenderConfig {
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.ACKTimeout == 0 {
		c.ACKTimeout = 30 * time.Second
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.Backoff == 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	return c
}

// Validate returns every problem in c, joined; zero fields count as their
// defaults. It reads no files.
func (c SenderConfig) Validate() error {
	c = c.WithDefaults()
	errs := checkEndpoint(c.Addr, c.MaxFrameBytes)
	errs = append(errs, positive("dial_timeout", c.DialTimeout)...)
	errs = append(errs, positive("ack_timeout", c.ACKTimeout)...)
	errs = append(errs, positive("backoff", c.Backoff)...)
	errs = append(errs, positive("max_backoff", c.MaxBackoff)...)
	if c.MaxBackoff > 0 && c.Backoff > c.MaxBackoff {
		errs = append(errs, field.Errorf("backoff", "must not exceed max_backoff (%s), got %s", c.MaxBackoff, c.Backoff))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, field.Errorf("max_attempts", "must be at least 1, got %d", c.MaxAttempts))
	}
	if c.TLS != nil {
		errs = append(errs, c.TLS.validate(false)...)
	}
	return errors.Join(errs...)
}

func positive(name string, d time.Duration) []error {
	if d > 0 {
		return nil
	}
	return []error{field.Errorf(name, "must be positive, got %s", d)}
}

// checkEndpoint validates what a listener and a sender share: the address
// and the frame size limit.
func checkEndpoint(addr string, maxFrame int) []error {
	var errs []error
	if _, _, err := net.SplitHostPort(addr); err != nil {
		errs = append(errs, field.Errorf("addr", "must be host:port, got %q", addr))
	}
	if maxFrame < minFrameBytes || maxFrame > maxFrameBytes {
		errs = append(errs, field.Errorf("max_frame_bytes", "must be 1KiB..64MiB, got %d", maxFrame))
	}
	return errs
}
