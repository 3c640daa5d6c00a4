//go:build unix

package mllp

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"time"
)

// peerGone reports whether the peer has closed an idle connection, or sent
// bytes nobody asked for, by peeking at the socket without blocking. It lets
// the Sender redial before writing instead of losing a message into a
// half-closed connection.
func peerGone(nc net.Conn) bool {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn() // a close_notify or stray record counts as bytes
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	_ = nc.SetReadDeadline(time.Time{}) // an expired deadline would skip the peek
	gone := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EWOULDBLOCK), errors.Is(rerr, syscall.EINTR):
		default:
			gone = rerr != nil || n >= 0 // data, EOF (n == 0) or a socket error
		}
		return true
	})
	return gone || err != nil
}
