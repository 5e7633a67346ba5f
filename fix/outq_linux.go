package fix

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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

// peerWindow is the receive window c's peer last advertised
// (tcpi_snd_wnd, tcp(7), Linux 5.4 on; 0 before): it grows as the peer's
// process reads what its kernel holds. An error once c is closed.
func peerWindow(c *net.TCPConn) (int64, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var info *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, err
	}
	if ierr != nil {
		return 0, ierr
	}
	return int64(info.Snd_wnd), nil
}
