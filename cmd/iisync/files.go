package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

// fileMessage is one message read from a file, located for error reports.
type fileMessage struct {
	file  string
	index int // 1-based within the file
	raw   []byte
}

func (f fileMessage) where() string { return fmt.Sprintf("%s #%d", f.file, f.index) }

// readMessages reads every message in the named files ("-" is stdin). A file
// may hold one or many messages, with CR, LF or CRLF segment terminators,
// batch wrappers, or MLLP framing.
func readMessages(stdin io.Reader, names []string) ([]fileMessage, error) {
	var out []fileMessage
	for _, name := range names {
		data, err := readInput(stdin, name)
		if err != nil {
			return nil, err
		}
		for i, raw := range splitMessages(data) {
			out = append(out, fileMessage{file: name, index: i + 1, raw: raw})
		}
	}
	return out, nil
}

// readInput reads the named file, or stdin for "-".
func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// splitMessages splits a file's bytes into messages. MLLP-framed content is
// unframed first; each frame may itself hold a batch.
func splitMessages(data []byte) [][]byte {
	if bytes.IndexByte(data, mllp.StartBlock) < 0 {
		return hl7.Split(data)
	}
	var out [][]byte
	sc := mllp.NewScanner(bytes.NewReader(data), len(data)+1)
	for sc.Scan() {
		frame := bytes.Clone(sc.Bytes())
		out = append(out, hl7.Split(frame)...)
	}
	return out
}
