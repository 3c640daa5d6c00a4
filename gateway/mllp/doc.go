// Package mllp carries HL7 v2 messages over TCP with the Minimal Lower Layer
// Protocol (release 2): each payload travels as 0x0B payload 0x1C 0x0D.
//
// It owns bytes on the wire and nothing else: the framer (Scanner, Encode,
// AppendFrame), the listener (Server, which hands each frame to a Handler
// and writes back what the handler returns) and the sender (Sender, one
// persistent connection with reconnect, ACK timeout and a verify hook). It
// never parses HL7: building an ACK for a received frame, or checking that a
// reply's MSA-2 matches the MSH-10 sent, is done by functions the caller
// injects (Handler, the verify argument of Sender.Send).
//
// Imports: the standard library, github.com/rs/zerolog and, for Validate,
// github.com/iisync/iisync/conf/field. Never transforms, channels or conf.
//
// Payloads are PHI. No error or log line of this package contains payload
// bytes; logs carry sizes, durations, addresses and reasons only.
//
// # Lock order
//
// Server: Server.mu, then conn.mu (Shutdown holds Server.mu while it wakes
// each idle connection under that connection's mu). Sender: the send slot
// (Sender.sem), then Sender.mu (which guards only the current connection,
// so Close can interrupt a Send in flight).
//
// # Choices
//
//   - An EndBlock (0x1C) not followed by CarriageReturn (0x0D) is payload
//     data, as MLLP release 2 defines the end of a block as the two-byte
//     sequence. A StartBlock (0x0B) inside an open frame starts a new frame
//     and the partial one is discarded and counted (Scanner.Discarded).
//   - A frame over the maximum size is read through to its end block without
//     being buffered and is delivered truncated (its first TruncatedKeep
//     bytes at most) with Request.Err = ErrFrameTooLarge, so the handler can
//     answer AR and the connection stays usable.
//   - At MaxConns the listener closes further connections as soon as they
//     are accepted and logs a warning, rather than holding them: a held
//     connection looks healthy to its sender, which would wait out its ACK
//     timeout, while a closed one makes it back off and retry at once.
//   - The Sender resends only when it knows the peer did not get the
//     message: before reusing an idle connection it peeks at the socket
//     (non-blocking, unix) and redials if the peer closed it or sent
//     something unasked, and if a write on a reused connection fails it
//     redials and writes once more. An ACK timeout or a close before the
//     reply is returned to the caller, never resent here.
//   - Frames on one connection are handled one at a time, in order, and a
//     reply is written only after the handler returns, so the engine can
//     commit a message durably before it answers AA. Pipelined frames are
//     read one after the other and answered in order.
package mllp
