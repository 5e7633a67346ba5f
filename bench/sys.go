package bench

import "runtime"

func numCPU() int       { return runtime.NumCPU() }
func goVersion() string { return runtime.Version() }
