// Command allot runs and operates the Allot licensing server. It is the
// only place where the store, the worker and the API are wired together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		os.Exit(report(err, os.Stderr))
	}
}

// report prints err for the user and returns the exit status: an
// exitError's own status, 1 for an error answered by the server, 2 for bad
// usage and anything else.
func report(err error, stderr io.Writer) int {
	var ex exitError
	if errors.As(err, &ex) {
		return int(ex)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "allot:", err)
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 2
}

// exitError ends the program with a status and no further message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// run dispatches to the command that args[0] names in the table of
// commands.go.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitError(2)
	}
	name, rest := args[0], args[1:]
	if name == "-h" || name == "--help" {
		fmt.Fprint(stdout, usage())
		return nil
	}
	cmd := findCommand(name)
	switch {
	case cmd == nil || strings.Contains(name, " "): // a subcommand is not a command of its own
		fmt.Fprintf(stderr, "allot: unknown command %q\n\n%s", name, usage())
		return exitError(2)
	case cmd.run != nil:
		return cmd.run(ctx, rest, stdout, stderr)
	}
	return runCLI(ctx, args, stdout, stderr)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("allot "+name, flag.ContinueOnError)
	return fs
}
