package graphgo

import (
	"os/exec"
	"syscall"
)

// stopWithUs makes the kernel stop the server if the test binary dies
// without running its cleanup (a -timeout panic, a kill), so that no server
// outlives the suite.
func stopWithUs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
