package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/iisync/iisync/conf"
)

// patientKeySize is the length of the patient_ref HMAC key.
const patientKeySize = 32

// patientKey reads security.patient_ref_key_file (32 raw bytes or 64 hex
// characters, the format of storage.key_file), creating it (0600, random)
// first when security.create_keys is set and it does not exist. Errors name
// the file, never its contents.
// created reports that the file was created now.
func patientKey(f *conf.File) (key []byte, created bool, err error) {
	path := f.Security.PatientRefKeyFile
	if path == "" {
		return nil, false, errors.New("security.patient_ref_key_file is not set")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && f.Security.CreateKeys {
		if err := writeKeyFile(path); err != nil {
			return nil, false, err
		}
		created = true
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("patient_ref key file: %w", err)
	}
	defer clear(b)
	if len(b) == patientKeySize {
		return bytes.Clone(b), created, nil
	}
	if t := bytes.TrimRight(b, "\r\n"); len(t) == 2*patientKeySize {
		key := make([]byte, patientKeySize)
		if _, err := hex.Decode(key, t); err == nil {
			return key, created, nil
		}
	}
	return nil, false, fmt.Errorf("patient_ref key file %s: must hold 32 raw bytes or 64 hex characters (got %d bytes)", path, len(b))
}

// writeKeyFile creates path (0600, failing over to an existing file) with
// 32 random bytes as hex.
func writeKeyFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("patient_ref key file: %w", err)
	}
	key := make([]byte, patientKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("patient_ref key file: %w", err)
	}
	text := []byte(hex.EncodeToString(key) + "\n")
	clear(key)
	defer clear(text)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // created meanwhile; use it
	}
	if err != nil {
		return fmt.Errorf("patient_ref key file: %w", err)
	}
	_, err = fh.Write(text)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("patient_ref key file: %w", err)
	}
	return nil
}
