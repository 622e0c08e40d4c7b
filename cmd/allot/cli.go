package main

// The daily-work commands that talk to a running server over the API
// (products, assign, group status, …): their table, dispatch, help and
// shell completion. The commands themselves are in cli_cmds.go.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// cliCmd is one API command. define registers the command's own flags and
// returns the function that runs it with the positional arguments; keeping
// the flags in one place lets help and completion list them from the real
// FlagSet. Another file may add commands with
// func init() { cliCommands = append(cliCommands, cliCmd{...}) } and a
// `case` in main.go's run that calls runCLI.
type cliCmd struct {
	name     string // "products", or "group status" for a subcommand
	synopsis string // the arguments after the name, e.g. "--product SKU (--group G… | --user U…)"
	summary  string // one line for the command list
	details  string // optional paragraphs for `allot help NAME`
	examples string // shown by `allot help NAME`, one per line
	local    bool   // needs no server: no --server, --token, --output
	define   func(fs *flag.FlagSet, e *cliEnv) func(ctx context.Context, pos []string) error
}

// cliEnv is what a running command has: its writers, its --output and, for
// commands that are not local, a client for the server.
type cliEnv struct {
	stdout, stderr io.Writer
	format         string
	c              *apiClient
	poll           time.Duration // see addPollFlag
}

// cliCommands lists the API commands in the order `allot help` shows them.
var cliCommands []cliCmd

// cliGroups are the commands that only group subcommands ("allot group …").
func cliGroups() map[string]bool {
	out := map[string]bool{}
	for _, c := range cliCommands {
		if parent, _, ok := strings.Cut(c.name, " "); ok {
			out[parent] = true
		}
	}
	return out
}

func findCLI(name string) *cliCmd {
	for i := range cliCommands {
		if cliCommands[i].name == name {
			return &cliCommands[i]
		}
	}
	return nil
}

// runCLI runs the API command that args name, args[0] being the command
// (and args[1] the subcommand of a group such as "group").
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name, rest := args[0], args[1:]
	if cliGroups()[name] {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			if len(rest) > 0 && isHelpFlag(rest[0]) {
				return cliHelp([]string{name}, stdout)
			}
			return usagef("%s needs a subcommand: %s (see `allot help %s`)", name, strings.Join(subcommands(name), ", "), name)
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	cmd := findCLI(name)
	if cmd == nil {
		return usagef("unknown command %q (see `allot help`)", name)
	}
	fs := newFlags(cmd.name)
	e := &cliEnv{stdout: stdout, stderr: stderr}
	var conn *clientFlags
	var format *string
	if !cmd.local {
		conn = addClientFlags(fs)
		format = addOutputFlag(fs)
	}
	runner := cmd.define(fs, e)
	fs.Bool("help", false, "show help") // parsed to ErrHelp by the flag package via -h too
	pos, err := parseArgs(fs, args[len(args)-len(rest):])
	if errors.Is(err, flag.ErrHelp) || (err == nil && fs.Lookup("help").Value.String() == "true") {
		return cliHelp([]string{cmd.name}, stdout)
	}
	if err != nil {
		return err
	}
	if !cmd.local {
		if err := checkFormat(*format); err != nil {
			return err
		}
		e.format = *format
		if e.c, err = conn.client(); err != nil {
			return err
		}
	}
	return runner(ctx, pos)
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

func subcommands(parent string) []string {
	var out []string
	for _, c := range cliCommands {
		if p, sub, ok := strings.Cut(c.name, " "); ok && p == parent {
			out = append(out, sub)
		}
	}
	return out
}

// cliHelp prints the help of the command that args name: its synopsis,
// flags and examples.
func cliHelp(args []string, stdout io.Writer) error {
	name := strings.Join(args, " ")
	if cliGroups()[name] {
		fmt.Fprintf(stdout, "Usage: allot %s SUBCOMMAND [flags]\n\nSubcommands:\n", name)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, c := range cliCommands {
			if p, _, _ := strings.Cut(c.name, " "); p == name && c.name != name {
				fmt.Fprintf(tw, "  allot %s\t%s\n", c.name, c.summary)
			}
		}
		tw.Flush()
		fmt.Fprintf(stdout, "\nRun `allot help %s SUBCOMMAND` for its flags and examples.\n", name)
		return nil
	}
	cmd := findCLI(name)
	if cmd == nil {
		// The database-level commands are described in the main usage.
		for _, c := range topLevelCommands {
			if c == args[0] {
				fmt.Fprint(stdout, usage)
				return nil
			}
		}
		return usagef("no help for %q: not a command (see `allot help`)", name)
	}
	fs := newFlags(cmd.name)
	if !cmd.local {
		addClientFlags(fs)
		addOutputFlag(fs)
	}
	cmd.define(fs, &cliEnv{})
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

// completionWords is what the shells complete: the top-level commands, the
// subcommands of groups, and each command's flags.
type completionWords struct {
	commands []string            // top level, sorted
	subs     map[string][]string // "group" → status, errors
	flags    map[string][]string // "group status" → --output, --server, …
}

func completions() completionWords {
	w := completionWords{subs: map[string][]string{}, flags: map[string][]string{}}
	top := map[string]bool{}
	for _, name := range topLevelCommands {
		top[name] = true
	}
	for _, c := range cliCommands {
		parent, sub, ok := strings.Cut(c.name, " ")
		top[parent] = true
		if ok {
			w.subs[parent] = append(w.subs[parent], sub)
		}
		fs := newFlags(c.name)
		if !c.local {
			addClientFlags(fs)
			addOutputFlag(fs)
		}
		c.define(fs, &cliEnv{})
		var fl []string
		fs.VisitAll(func(f *flag.Flag) {
			if len(f.Name) > 1 { // -o is --output's short form
				fl = append(fl, "--"+f.Name)
			}
		})
		w.flags[c.name] = append(fl, "--help")
	}
	for name := range top {
		w.commands = append(w.commands, name)
	}
	sort.Strings(w.commands)
	return w
}

// topLevelCommands are the database-level commands of main.go, which
// completion offers alongside the API commands.
var topLevelCommands = []string{"serve", "demo", "check", "migrate", "bench", "tenant", "token", "account", "catalog", "help"}

func completionScript(shell string, w completionWords) (string, error) {
	var b strings.Builder
	switch shell {
	case "bash":
		b.WriteString("# bash completion for allot; load with: source <(allot completion bash)\n")
		b.WriteString("_allot() {\n  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} words=\"\"\n")
		b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n")
		fmt.Fprintf(&b, "    words=%q\n", strings.Join(w.commands, " "))
		b.WriteString("  else\n    case \"$cmd\" in\n")
		for _, parent := range sortedKeys(w.subs) {
			fmt.Fprintf(&b, "    %s)\n      if [ \"$COMP_CWORD\" -eq 2 ]; then words=%q; else\n        case \"${COMP_WORDS[2]}\" in\n",
				parent, strings.Join(w.subs[parent], " "))
			for _, sub := range w.subs[parent] {
				fmt.Fprintf(&b, "        %s) words=%q ;;\n", sub, strings.Join(w.flags[parent+" "+sub], " "))
			}
			b.WriteString("        esac\n      fi ;;\n")
		}
		for _, name := range sortedKeys(w.flags) {
			if !strings.Contains(name, " ") {
				fmt.Fprintf(&b, "    %s) words=%q ;;\n", name, strings.Join(w.flags[name], " "))
			}
		}
		fmt.Fprintf(&b, "    help) words=%q ;;\n", strings.Join(w.commands, " "))
		b.WriteString("    esac\n  fi\n")
		b.WriteString("  case \"${COMP_WORDS[COMP_CWORD-1]}\" in\n")
		b.WriteString("    --output|-o) words=\"table json csv\" ;;\n")
		b.WriteString("  esac\n")
		b.WriteString("  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -o default -F _allot allot\n")
	case "zsh":
		// $words is zsh's own array of the command line; the candidates go
		// in opts.
		b.WriteString("#compdef allot\n# zsh completion for allot; load with: source <(allot completion zsh)\n")
		b.WriteString("_allot() {\n  local -a opts\n  if (( CURRENT == 2 )); then\n")
		fmt.Fprintf(&b, "    opts=(%s)\n", strings.Join(w.commands, " "))
		b.WriteString("  else\n    case \"${words[CURRENT-1]}\" in\n      --output|-o) compadd table json csv; return ;;\n    esac\n")
		b.WriteString("    case \"${words[2]}\" in\n")
		for _, parent := range sortedKeys(w.subs) {
			fmt.Fprintf(&b, "    %s)\n      if (( CURRENT == 3 )); then opts=(%s); else\n        case \"${words[3]}\" in\n",
				parent, strings.Join(w.subs[parent], " "))
			for _, sub := range w.subs[parent] {
				fmt.Fprintf(&b, "        %s) opts=(%s) ;;\n", sub, strings.Join(w.flags[parent+" "+sub], " "))
			}
			b.WriteString("        esac\n      fi ;;\n")
		}
		for _, name := range sortedKeys(w.flags) {
			if !strings.Contains(name, " ") {
				fmt.Fprintf(&b, "    %s) opts=(%s) ;;\n", name, strings.Join(w.flags[name], " "))
			}
		}
		fmt.Fprintf(&b, "    help) opts=(%s) ;;\n", strings.Join(w.commands, " "))
		b.WriteString("    *) opts=() ;;\n    esac\n  fi\n  compadd -a opts\n}\n")
		b.WriteString("compdef _allot allot\n")
	case "fish":
		b.WriteString("# fish completion for allot; load with: allot completion fish | source\n")
		b.WriteString("complete -c allot -f\n")
		fmt.Fprintf(&b, "complete -c allot -n __fish_use_subcommand -a %q\n", strings.Join(w.commands, " "))
		fmt.Fprintf(&b, "complete -c allot -n '__fish_seen_subcommand_from help' -a %q\n", strings.Join(w.commands, " "))
		for _, parent := range sortedKeys(w.subs) {
			fmt.Fprintf(&b, "complete -c allot -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %q\n",
				parent, strings.Join(w.subs[parent], " "), strings.Join(w.subs[parent], " "))
		}
		for _, name := range sortedKeys(w.flags) {
			cond := "__fish_seen_subcommand_from " + name
			if parent, sub, ok := strings.Cut(name, " "); ok {
				cond = "__fish_seen_subcommand_from " + parent + "; and __fish_seen_subcommand_from " + sub
			}
			for _, f := range w.flags[name] {
				long := strings.TrimPrefix(f, "--")
				extra := ""
				if long == "output" {
					extra = " -r -a 'table json csv'"
				}
				fmt.Fprintf(&b, "complete -c allot -n '%s' -l %s%s\n", cond, long, extra)
			}
		}
	default:
		return "", usagef("completion: unknown shell %q; use bash, zsh or fish", shell)
	}
	return b.String(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
