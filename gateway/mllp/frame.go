package mllp

import (
	"bytes"
	"errors"
	"io"
)

// The MLLP block bytes: a frame on the wire is StartBlock, the payload,
// EndBlock, CarriageReturn.
const (
	StartBlock     byte = 0x0B
	EndBlock       byte = 0x1C
	CarriageReturn byte = 0x0D
)

const (
	// DefaultMaxFrameBytes is the default maximum payload size of one frame.
	DefaultMaxFrameBytes = 1 << 20
	// TruncatedKeep is how many leading payload bytes a truncated frame keeps
	// (fewer if the maximum frame size is smaller), enough to find MSH-10.
	TruncatedKeep = 4 << 10

	readBufSize = 16 << 10
	maxEmpty    = 100 // consecutive (0, nil) reads before io.ErrNoProgress
)

// Encode returns payload framed for the wire. It does not check the payload:
// a payload holding StartBlock, or EndBlock followed by CarriageReturn, will
// not survive the trip.
func Encode(payload []byte) []byte {
	return AppendFrame(make([]byte, 0, len(payload)+3), payload)
}

// AppendFrame appends the framed payload to dst and returns the extended
// slice. Like Encode it does not check the payload.
func AppendFrame(dst, payload []byte) []byte {
	dst = append(dst, StartBlock)
	dst = append(dst, payload...)
	return append(dst, EndBlock, CarriageReturn)
}

// Scanner reads MLLP frames from a byte stream, like bufio.Scanner reads
// lines. It is not safe for concurrent use.
//
// Bytes before a StartBlock are skipped (see Skipped). A StartBlock inside
// an open frame starts a new frame and the partial one is discarded (see
// Discarded). A frame ends at EndBlock CarriageReturn. Following MLLP
// release 2, which defines the end of a block as the two-byte sequence, an
// EndBlock followed by any other byte is kept as payload data; the frame
// stays open.
//
// A frame whose payload exceeds the maximum is not buffered: the Scanner
// keeps its first bytes (up to TruncatedKeep, and never more than the
// maximum), reads the rest through to the end block and delivers it with
// Truncated reporting true, so the stream stays in step.
type Scanner struct {
	r   io.Reader
	max int

	buf    []byte // buf[fstart:end] holds the unprocessed or open-frame bytes
	fstart int    // first payload byte of the open frame (normal mode)
	pos    int    // next byte to examine
	end    int    // end of valid data in buf
	rerr   error  // read error held back until buffered data is processed

	inFrame bool   // a StartBlock has been seen and the frame is open
	drain   bool   // the open frame is oversize: count, don't keep
	size    int    // drain mode: payload bytes counted so far
	trunc   []byte // drain mode: the kept head of the frame
	frame   []byte // the current frame's payload (Bytes)
	full    int    // the current frame's payload size on the wire
	isTrunc bool
	err     error
	done    bool

	discarded int
	skipped   int64

	onStart func() // called when a frame opens (the server's frame deadline)
}

// NewScanner returns a Scanner reading from r that accepts payloads of up to
// maxFrame bytes; maxFrame <= 0 means DefaultMaxFrameBytes.
func NewScanner(r io.Reader, maxFrame int) *Scanner {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameBytes
	}
	return &Scanner{r: r, max: maxFrame}
}

// Scan advances to the next frame, which is then available through Bytes.
// It returns false at the end of the stream or on an error; Err tells which.
func (s *Scanner) Scan() bool {
	s.frame, s.full, s.isTrunc = nil, 0, false
	if s.done {
		return false
	}
	if s.buf == nil {
		s.buf = make([]byte, readBufSize)
	}
	for {
		if s.step() {
			return true
		}
		if err := s.fill(); err != nil {
			s.finish(err)
			return false
		}
	}
}

// step examines the buffered bytes. It returns true when a frame is
// complete; false means more input is needed.
func (s *Scanner) step() bool {
	for {
		if !s.inFrame {
			i := bytes.IndexByte(s.buf[s.pos:s.end], StartBlock)
			if i < 0 {
				s.skipped += int64(s.end - s.pos)
				s.pos = s.end
				return false
			}
			s.skipped += int64(i)
			s.open(s.pos + i + 1)
			continue
		}
		seg := s.buf[s.pos:s.end]
		k := bytes.IndexByte(seg, EndBlock)
		data := seg
		if k >= 0 {
			data = seg[:k]
		}
		if v := bytes.IndexByte(data, StartBlock); v >= 0 {
			s.discarded++ // restart: the partial frame is dropped
			s.open(s.pos + v + 1)
			continue
		}
		if k < 0 {
			s.advance(len(seg))
			return s.checkSize()
		}
		if s.pos+k+1 >= s.end { // EndBlock is the last buffered byte
			s.advance(k)
			return s.checkSize()
		}
		if s.buf[s.pos+k+1] != CarriageReturn {
			s.advance(k + 1) // a lone EndBlock is payload data
			if s.checkSize() {
				return true
			}
			continue
		}
		s.advance(k)
		s.checkSize()
		s.complete()
		s.pos += 2
		return true
	}
}

// open starts a frame whose payload begins at p.
func (s *Scanner) open(p int) {
	s.inFrame, s.drain, s.size = true, false, 0
	s.fstart, s.pos = p, p
	if s.onStart != nil {
		s.onStart()
	}
}

// advance moves pos over n payload bytes of the open frame.
func (s *Scanner) advance(n int) {
	s.pos += n
	if s.drain {
		s.size += n
	}
}

// checkSize switches an open frame that outgrew the maximum to drain mode.
// It never completes a frame; it returns false so callers can chain it.
func (s *Scanner) checkSize() bool {
	if s.drain || s.pos-s.fstart <= s.max {
		return false
	}
	keep := min(TruncatedKeep, s.max)
	s.trunc = append(s.trunc[:0], s.buf[s.fstart:s.fstart+keep]...)
	s.drain = true
	s.size = s.pos - s.fstart
	return false
}

// complete publishes the frame ending at pos (which points at EndBlock).
func (s *Scanner) complete() {
	s.inFrame = false
	if s.drain {
		s.drain = false
		s.frame, s.full, s.isTrunc = s.trunc, s.size, true
		return
	}
	s.frame = s.buf[s.fstart:s.pos]
	s.full = len(s.frame)
}

// fill reads more input, first moving the bytes still needed to the front
// of the buffer and growing it if a frame under the maximum fills it.
func (s *Scanner) fill() error {
	if s.rerr != nil {
		return s.rerr
	}
	keep := s.pos
	if s.inFrame && !s.drain {
		keep = s.fstart
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.end])
		s.fstart -= keep
		s.pos -= keep
		s.end = n
	}
	if s.end == len(s.buf) {
		// Only a frame below the maximum gets here, so the buffer never
		// grows past max+2 bytes.
		nb := make([]byte, min(2*len(s.buf), max(s.max+2, len(s.buf)+1)))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for range maxEmpty {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.rerr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	s.rerr = io.ErrNoProgress
	return s.rerr
}

// finish records the end of the stream.
func (s *Scanner) finish(err error) {
	s.done = true
	switch {
	case errors.Is(err, io.EOF) && s.inFrame:
		s.discarded++
		s.err = ErrIncompleteFrame
	case errors.Is(err, io.EOF):
		s.err = nil
	default:
		s.err = err
	}
}

// Bytes returns the current frame's payload. It is valid until the next
// call to Scan. For a truncated frame it is the first bytes of the payload.
func (s *Scanner) Bytes() []byte { return s.frame }

// Truncated reports whether the current frame exceeded the maximum size.
func (s *Scanner) Truncated() bool { return s.isTrunc }

// FrameSize returns the full payload size of the current frame as it was on
// the wire, even if the frame was truncated.
func (s *Scanner) FrameSize() int { return s.full }

// Err returns the error that ended scanning: nil at a clean end of stream,
// ErrIncompleteFrame if the stream ended inside a frame, or the reader's
// error (such as a deadline).
func (s *Scanner) Err() error { return s.err }

// Discarded returns how many partial frames were dropped so far, because a
// new StartBlock opened before their end block or the stream ended inside
// them.
func (s *Scanner) Discarded() int { return s.discarded }

// Skipped returns how many bytes outside any frame were skipped so far.
func (s *Scanner) Skipped() int64 { return s.skipped }

// Buffered returns how many bytes have been read but not yet examined. On
// a request/reply connection a non-zero count between exchanges means the
// peer sent something unasked.
func (s *Scanner) Buffered() int { return s.end - s.pos }

// inOpenFrame reports whether a frame has started but not ended.
func (s *Scanner) inOpenFrame() bool { return s.inFrame }

// pendingStart reports whether an unexamined StartBlock is buffered: a
// frame the peer sent without being asked.
func (s *Scanner) pendingStart() bool {
	return s.pos < s.end && bytes.IndexByte(s.buf[s.pos:s.end], StartBlock) >= 0
}
