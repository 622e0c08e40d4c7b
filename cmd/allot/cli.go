package main

// The daily-work commands of the table in commands.go: their dispatch and
// help.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// cliEnv is what a running command has: its writers, its --output and, for
// commands that are not local, a client for the server.
type cliEnv struct {
	stdout, stderr io.Writer
	format         string
	c              *apiClient
	poll           time.Duration // see addPollFlag
}

// runCLI runs the daily-work command that args name, args[0] being the
// command (and args[1] the subcommand of a group such as "group").
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name, rest := args[0], args[1:]
	if isGroup(name) {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			if len(rest) > 0 && isHelpFlag(rest[0]) {
				return cliHelp([]string{name}, stdout)
			}
			return usagef("%s needs a subcommand: %s (see `allot help %s`)", name, strings.Join(subcommands(name), ", "), name)
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	cmd := findCommand(name)
	if cmd == nil || cmd.define == nil {
		return usagef("unknown command %q (see `allot help`)", name)
	}
	e := &cliEnv{stdout: stdout, stderr: stderr}
	fs, runner, connect := cmd.flagSet(e)
	fs.Bool("help", false, "show help") // parsed to ErrHelp by the flag package via -h too
	pos, err := parseArgs(fs, rest)
	if errors.Is(err, flag.ErrHelp) || (err == nil && fs.Lookup("help").Value.String() == "true") {
		return cliHelp([]string{cmd.name}, stdout)
	}
	if err != nil {
		return err
	}
	if err := connect(); err != nil {
		return err
	}
	return runner(ctx, pos)
}

// flagSet registers a define command's flags: --server, --token and
// --output unless it is local, then its own. connect, once the flags are
// parsed, gives e the --output and the client they ask for.
func (c *command) flagSet(e *cliEnv) (fs *flag.FlagSet, run func(context.Context, []string) error, connect func() error) {
	fs = newFlags(c.name)
	connect = func() error { return nil }
	if !c.local {
		conn, format := addClientFlags(fs), addOutputFlag(fs)
		connect = func() error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			e.format = *format
			var err error
			e.c, err = conn.client()
			return err
		}
	}
	return fs, c.define(fs, e), connect
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

// cmdHelp is `allot help [COMMAND]`.
func cmdHelp(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return cliHelp(args, stdout)
	}
	fmt.Fprint(stdout, usage())
	return nil
}

// cliHelp prints the help of the command that args name: a group's
// subcommands, or a daily-work command's synopsis, flags and examples.
func cliHelp(args []string, stdout io.Writer) error {
	name := strings.Join(args, " ")
	if isGroup(name) {
		fmt.Fprintf(stdout, "Usage: allot %s SUBCOMMAND [flags]\n\nSubcommands:\n", name)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, c := range commands {
			if p, _, _ := strings.Cut(c.name, " "); p == name && c.name != name {
				fmt.Fprintf(tw, "  allot %s\t%s\n", c.name, c.summary)
			}
		}
		tw.Flush()
		fmt.Fprintf(stdout, "\nRun `allot help %s SUBCOMMAND` for its flags and examples.\n", name)
		return nil
	}
	cmd := findCommand(name)
	if cmd == nil || cmd.define == nil {
		// The operator commands are described in the usage.
		if top := findCommand(args[0]); top != nil && top.run != nil {
			fmt.Fprint(stdout, usage())
			return nil
		}
		return usagef("no help for %q: not a command (see `allot help`)", name)
	}
	fs, _, _ := cmd.flagSet(&cliEnv{})
	fmt.Fprintf(stdout, "Usage: allot %s %s\n\n%s\n", cmd.name, cmd.synopsis, cmd.summary)
	if cmd.details != "" {
		fmt.Fprintf(stdout, "\n%s\n", strings.TrimSpace(cmd.details))
	}
	fmt.Fprintln(stdout, "\nFlags:")
	fs.SetOutput(stdout)
	fs.PrintDefaults()
	if cmd.examples != "" {
		fmt.Fprintln(stdout, "\nExamples:")
		for _, l := range strings.Split(strings.TrimSpace(cmd.examples), "\n") {
			fmt.Fprintf(stdout, "  %s\n", strings.TrimSpace(l))
		}
	}
	if !cmd.local {
		fmt.Fprintln(stdout, "\nThe server and token default to $ALLOT_SERVER and $ALLOT_TOKEN.")
	}
	return nil
}
