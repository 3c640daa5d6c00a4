package mllp

import "errors"

// The package's sentinel errors. Compare with errors.Is. None of them, and
// no error this package returns, contains payload bytes.
var (
	// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
	ErrServerClosed = errors.New("mllp: server closed")
	// ErrFrameTooLarge marks a frame whose payload exceeded the maximum size;
	// it was read through to its end and delivered truncated.
	ErrFrameTooLarge = errors.New("mllp: frame exceeds max size")
	// ErrIncompleteFrame means the stream ended inside a frame.
	ErrIncompleteFrame = errors.New("mllp: stream ended inside a frame")
	// ErrACKTimeout means no reply arrived within the ACK timeout. The
	// Sender closed the connection; the message may or may not have been
	// received, so the caller decides whether to send it again.
	ErrACKTimeout = errors.New("mllp: no reply before ack timeout")
	// ErrReplyRejected means the caller's verify function refused the reply
	// (for example MSA-2 did not match the MSH-10 sent). It is always joined
	// with the verify error.
	ErrReplyRejected = errors.New("mllp: reply rejected")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("mllp: sender closed")
	// ErrInvalidPayload means a payload to send holds a StartBlock or
	// EndBlock byte, which would break the framing.
	ErrInvalidPayload = errors.New("mllp: payload contains a block byte")
	// ErrNoReply means the peer closed the connection or sent a truncated
	// stream before a reply arrived.
	ErrNoReply = errors.New("mllp: connection closed before reply")
)
