//go:build !linux

package graphgo

import "os/exec"

// stopWithUs has no portable equivalent of Linux's parent-death signal:
// elsewhere a killed test binary may leave its server running.
func stopWithUs(*exec.Cmd) {}
