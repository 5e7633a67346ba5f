//go:build !unix

package audit

func processCPUNs() int64 { return 0 }
