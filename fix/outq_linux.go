package fix

import (
	"net"
	"syscall"
	"unsafe"
)

// outq is the number of bytes in c's send queue that the peer has not yet
// acknowledged (SIOCOUTQ, tcp(7)); an error once c is closed.
func outq(c *net.TCPConn) (int64, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var q int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q)))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int64(q), nil
}
