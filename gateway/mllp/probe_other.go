//go:build !unix

package mllp

import "net"

// peerGone cannot peek at a socket on this platform; a connection the peer
// closed while idle is found by the next exchange instead.
func peerGone(net.Conn) bool { return false }
