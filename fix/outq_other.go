//go:build !linux

package fix

import "net"

// outq is not known here: what is written counts as acknowledged.
func outq(*net.TCPConn) (int64, error) { return 0, nil }
