package channels

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// dirSource is a directory source: it polls Path for files matching
// Pattern, runs each message of a file through the receive path, then
// moves the file to DoneDir (or ErrorDir when a message could not be
// stored) with its ACKs beside it in "<file>.ack". A file is read only once
// its size has not changed for one poll, so half-written files wait.
type dirSource struct {
	e      *Engine
	cfg    DirectoryConfig
	pipe   atomic.Pointer[pipeline]
	stop   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc

	// Owned by the polling goroutine.
	sizes   map[string]int64 // size seen at the previous poll, by file name
	lastErr string           // last poll error logged, to log only changes
}

func (e *Engine) newDirSource(cfg DirectoryConfig, p *pipeline) *dirSource {
	d := &dirSource{e: e, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{}), sizes: map[string]int64{}}
	d.pipe.Store(p)
	return d
}

// start runs the poller until halt.
func (d *dirSource) start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		defer close(d.done)
		t := time.NewTicker(d.cfg.PollInterval)
		defer t.Stop()
		for {
			d.poll(ctx)
			select {
			case <-t.C:
			case <-d.stop:
				return
			}
		}
	}()
}

// halt stops polling after the file in progress; when ctx ends first the
// file's remaining messages are abandoned (the file stays to be read again).
func (d *dirSource) halt(ctx context.Context) error {
	close(d.stop)
	if d.cancel == nil {
		return nil
	}
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		d.cancel()
		<-d.done
		return fmt.Errorf("directory source %s: %w", d.cfg.Path, context.Cause(ctx))
	}
}

// stopping reports whether halt was called.
func (d *dirSource) stopping() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// poll processes the files whose size is stable since the previous poll.
func (d *dirSource) poll(ctx context.Context) {
	entries, err := os.ReadDir(d.cfg.Path)
	if err != nil {
		d.failed(err)
		return
	}
	seen := make(map[string]int64, len(entries))
	for _, ent := range entries {
		if !ent.Type().IsRegular() {
			continue
		}
		if ok, _ := filepath.Match(d.cfg.Pattern, ent.Name()); !ok {
			continue
		}
		info, err := ent.Info()
		if err != nil {
			continue
		}
		prev, known := d.sizes[ent.Name()]
		if !known || prev != info.Size() {
			seen[ent.Name()] = info.Size()
			continue
		}
		if d.stopping() || ctx.Err() != nil {
			return
		}
		if err := d.process(ctx, ent.Name()); err != nil {
			d.failed(err)
			seen[ent.Name()] = info.Size()
		}
	}
	d.sizes = seen
	d.lastErr = ""
}

// failed logs a poll error once, until it changes.
func (d *dirSource) failed(err error) {
	if s := err.Error(); s != d.lastErr {
		d.lastErr = s
		d.e.log.Warn().Err(err).Str("dir", d.cfg.Path).Msg("directory source failing")
	}
}

// process reads one file, receives its messages, writes the ACKs and moves
// the file. It returns an error only when the file could not be moved.
func (d *dirSource) process(ctx context.Context, name string) error {
	p := d.pipe.Load()
	src := filepath.Join(d.cfg.Path, name)
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read file: %w", err)
	}
	var acks bytes.Buffer
	stored := true
	n := 0
	for _, msg := range splitMessages(data) {
		if ctx.Err() != nil {
			return nil // hard shutdown: leave the file to be read again
		}
		rep := d.e.receive(ctx, p, msg, "directory")
		acks.Write(rep.ack)
		stored = stored && rep.verdict != verdictUnavailable
		n++
	}
	dir := d.cfg.DoneDir
	if !stored {
		dir = d.cfg.ErrorDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	dst := filepath.Join(dir, name)
	if _, err := os.Stat(dst); err == nil { // an earlier file of the same name
		dst = filepath.Join(dir, fmt.Sprintf("%s.%d", name, d.e.now().UnixNano()))
	}
	if err := os.WriteFile(dst+".ack", acks.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write ack file: %w", err)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("move file: %w", err)
	}
	// The file name is not logged: EHRs sometimes name files after patients.
	d.e.log.Info().Str("channel", p.name()).Int("bytes", len(data)).Int("messages", n).Bool("stored", stored).
		Str("moved_to", dir).Msg("file processed")
	return nil
}
