//go:build !unix

package httpd_test

func processCPUNs() int64 { return 0 }
