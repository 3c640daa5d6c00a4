package main

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/iisync/iisync/gateway/mllp"
)

// TestInboxGroupCommit appends from many goroutines at once and reads every
// frame back whole: shared syncs must not lose or tear a frame.
func TestInboxGroupCommit(t *testing.T) {
	b, err := openInbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := b.Append(fmt.Appendf(nil, "MSH|^~\\&|W%d|%d\r", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.synced != writers*each || b.written != writers*each {
		t.Errorf("written %d synced %d, want %d", b.written, b.synced, writers*each)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(b.path)
	if err != nil {
		t.Fatal(err)
	}
	sc := mllp.NewScanner(bytes.NewReader(data), 1<<10)
	seen := map[string]bool{}
	for sc.Scan() {
		seen[string(sc.Bytes())] = true
	}
	if sc.Err() != nil || len(seen) != writers*each {
		t.Fatalf("read back %d distinct frames (%v), want %d", len(seen), sc.Err(), writers*each)
	}
}
