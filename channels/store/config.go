package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// Defaults applied by WithDefaults.
const (
	DefaultPath             = "./var/store"
	DefaultPruneInterval    = time.Hour
	DefaultCacheMB          = 64
	DefaultContentRetention = 720 * time.Hour
	DefaultMetaRetention    = 2160 * time.Hour
)

// keySize is the AES-256 key length Badger needs.
const keySize = 32

// WithDefaults returns c with zero fields set to their defaults. With
// CreateKey and no KeyFile, the key file defaults to Path + ".key", next to
// (not inside) the data directory.
func (c Config) WithDefaults() Config {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.KeyFile == "" && c.CreateKey {
		c.KeyFile = filepath.Clean(c.Path) + ".key"
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = DefaultPruneInterval
	}
	if c.CacheMB == 0 {
		c.CacheMB = DefaultCacheMB
	}
	c.Retention = c.Retention.WithDefaults()
	return c
}

// WithDefaults returns r with zero durations set to the defaults: 720h for
// Content and 2160h (or Content, if longer) for Metadata.
func (r Retention) WithDefaults() Retention {
	if r.Content == 0 {
		r.Content = DefaultContentRetention
	}
	if r.Metadata == 0 {
		r.Metadata = max(DefaultMetaRetention, r.Content)
	}
	return r
}

// Validate reports every problem in c (after WithDefaults) as field errors
// joined together.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, field.Errorf("path", "required"))
	}
	if c.KeyFile == "" {
		errs = append(errs, field.Errorf("key_file", "required unless create_key is set"))
	}
	if c.PruneInterval < time.Second || c.PruneInterval > 7*24*time.Hour {
		errs = append(errs, field.Errorf("prune_interval", "must be 1s..168h, got %s", c.PruneInterval))
	}
	if c.CacheMB < 8 || c.CacheMB > 64<<10 {
		errs = append(errs, field.Errorf("cache_mb", "must be 8..65536, got %d", c.CacheMB))
	}
	if err := c.Retention.Validate(); err != nil {
		errs = append(errs, field.Prefix("retention", err))
	}
	return errors.Join(errs...)
}

// Validate reports every problem in r (after WithDefaults).
func (r Retention) Validate() error {
	var errs []error
	if r.Content < time.Minute {
		errs = append(errs, field.Errorf("content", "must be at least 1m, got %s", r.Content))
	}
	if r.Metadata < time.Minute {
		errs = append(errs, field.Errorf("metadata", "must be at least 1m, got %s", r.Metadata))
	}
	if r.Metadata < r.Content {
		errs = append(errs, field.Errorf("metadata", "must not be shorter than content (%s), got %s", r.Content, r.Metadata))
	}
	return errors.Join(errs...)
}

// loadKey reads the 32-byte key from path, creating it first when create is
// set and the file does not exist. created reports that it did. Errors name
// the file and never include its contents.
func loadKey(path string, create bool) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := writeNewKey(path); err != nil {
			return nil, false, err
		}
		created = true
		b, err = os.ReadFile(path)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("%w %s: does not exist (create it with 32 random bytes, or set create_key / create_keys)", ErrKeyFile, path)
	case err != nil:
		return nil, false, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	key, err = parseKey(b)
	clear(b)
	if err != nil {
		return nil, false, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	return key, created, nil
}

var errKeyFormat = errors.New("must hold 32 raw bytes or 64 hex characters")

// parseKey accepts 32 raw bytes, or 64 hex characters with an optional
// trailing newline.
func parseKey(b []byte) ([]byte, error) {
	if len(b) == keySize {
		return bytes.Clone(b), nil
	}
	t := bytes.TrimRight(b, "\r\n")
	if len(t) == 2*keySize {
		key := make([]byte, keySize)
		if _, err := hex.Decode(key, t); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%w (got %d bytes)", errKeyFormat, len(b))
}

// writeNewKey creates path (0600, failing if it appeared meanwhile) holding
// 32 random bytes as 64 hex characters and a newline.
func writeNewKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	text := make([]byte, 2*keySize+1)
	hex.Encode(text, key)
	text[2*keySize] = '\n'
	clear(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // another process created it first; use theirs
	}
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	_, err = f.Write(text)
	clear(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	return nil
}

// LoadKeyFile reads a 32-byte key file in the store's format (32 raw bytes,
// or 64 hex characters and an optional newline), creating it (0600, random)
// first when create is set and it does not exist. The engine's other keys
// (the patient_ref HMAC key) use it too. Errors wrap ErrKeyFile, name the
// file and never include its contents.
func LoadKeyFile(path string, create bool) (key []byte, created bool, err error) {
	return loadKey(path, create)
}
