//go:build !linux

package store

import "os"

// fdatasync falls back to a full sync where fdatasync is not available.
func fdatasync(f *os.File) error { return f.Sync() }

// openDirect: no O_DIRECT here; records and zero fills go through the page
// cache and a sync.
func openDirect(string) *os.File { return nil }
