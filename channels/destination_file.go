package channels

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/transforms/hl7"
)

// maxFileControlID bounds the control-ID part of a file name, in bytes.
const maxFileControlID = 64

// fileDestination writes each payload to its own file in dir, atomically:
// a reader of dir sees a whole file or none.
type fileDestination struct {
	dir string
	now func() time.Time
	log zerolog.Logger
}

// buildFileDestination is the component table's constructor for "file".
func buildFileDestination(cfg DestinationConfig, log zerolog.Logger) (Destination, error) {
	return newFileDestination(*cfg.File, log)
}

// newFileDestination returns a destination for cfg. It does no I/O: the
// directory is created by Send.
func newFileDestination(cfg FileDestinationConfig, log zerolog.Logger) (*fileDestination, error) {
	if cfg.Dir == "" {
		return nil, errors.New("channels: file destination needs a dir")
	}
	return &fileDestination{dir: filepath.Clean(cfg.Dir), now: time.Now, log: log}, nil
}

// Send writes payload to <dir>/<yyyymmdd-hhmmss.micro>-<control id>.hl7
// (UTC time; the control ID is MSH-10 with every byte other than a letter,
// digit, '.', '-' or '_' replaced by '_', at most 64 bytes, "unknown" when
// the payload has none). The file is written to a temporary name in dir,
// synced, then linked to its final name (which never replaces an existing
// file: a clash gets a "-2", "-3"… suffix) and dir is synced, so the file is
// whole and durable when Send returns. Files are 0600 and dir is created
// 0700. reply is always nil; every failure has retry true (a full disk or
// a permission an operator can fix; max_attempts bounds it).
func (d *fileDestination) Send(_ context.Context, payload []byte) ([]byte, bool, error) {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, true, fmt.Errorf("channels: file destination: %w", err)
	}
	base := d.now().UTC().Format("20060102-150405.000000") + "-" + fileSafeControlID(payload)
	tmp, err := os.CreateTemp(d.dir, ".tmp-*.part") // 0600
	if err != nil {
		return nil, true, fmt.Errorf("channels: file destination: %w", err)
	}
	tmpName := tmp.Name()
	defer func() { _ = os.Remove(tmpName) }() // gone after a successful link too
	_, werr := tmp.Write(payload)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, true, fmt.Errorf("channels: file destination: write: %w", werr)
	}
	name, err := publishNoClobber(tmpName, d.dir, base)
	if err != nil {
		return nil, true, fmt.Errorf("channels: file destination: %w", err)
	}
	if err := syncDirectory(d.dir); err != nil {
		return nil, true, fmt.Errorf("channels: file destination: %w", err)
	}
	d.log.Debug().Str("file", filepath.Base(name)).Int("bytes", len(payload)).Msg("written")
	return nil, false, nil
}

// publishNoClobber gives the temporary file tmp its final name in dir, base + ".hl7"
// or, if that exists, base + "-N.hl7". It uses a hard link, which fails
// rather than replace an existing file; on a file system without hard links
// it falls back to rename after checking that the name is free.
func publishNoClobber(tmp, dir, base string) (string, error) {
	for n := 1; n <= 1000; n++ {
		name := base
		if n > 1 {
			name += "-" + strconv.Itoa(n)
		}
		name = filepath.Join(dir, name+".hl7")
		err := os.Link(tmp, name)
		switch {
		case err == nil:
			return name, nil
		case errors.Is(err, fs.ErrExist):
			continue
		}
		if _, serr := os.Lstat(name); serr == nil {
			continue
		}
		if rerr := os.Rename(tmp, name); rerr != nil {
			return "", rerr
		}
		return name, nil
	}
	return "", errors.New("channels: file destination: no free file name")
}

// syncDirectory makes the directory entries of dir durable.
func syncDirectory(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fileSafeControlID returns MSH-10 of payload reduced to characters that are
// safe in a file name on every platform.
func fileSafeControlID(payload []byte) string {
	id := ""
	if m, err := hl7.Parse(payload); err == nil {
		id = m.ControlID()
	}
	b := make([]byte, 0, min(len(id), maxFileControlID))
	for i := 0; i < len(id) && len(b) < maxFileControlID; i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

// Close does nothing: a file destination holds nothing open between sends.
func (d *fileDestination) Close(context.Context) error { return nil }
