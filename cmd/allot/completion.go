package main

// allot completion: shell completion scripts for bash, zsh and fish, made
// from the command table (commands.go) and the commands' real flags.

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
)

func defineCompletion(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("completion: give one shell: bash, zsh or fish")
		}
		s, err := completionScript(pos[0], completions())
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(e.stdout, s)
		return err
	}
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
	for _, c := range commands {
		parent, sub, ok := strings.Cut(c.name, " ")
		if !slices.Contains(w.commands, parent) {
			w.commands = append(w.commands, parent)
		}
		if ok {
			w.subs[parent] = append(w.subs[parent], sub)
		}
		if c.define == nil {
			continue // the operator commands' flags are in the usage only
		}
		fs, _, _ := c.flagSet(&cliEnv{})
		var fl []string
		fs.VisitAll(func(f *flag.Flag) {
			if len(f.Name) > 1 { // -o is --output's short form
				fl = append(fl, "--"+f.Name)
			}
		})
		w.flags[c.name] = append(fl, "--help")
	}
	slices.Sort(w.commands)
	return w
}

func completionScript(shell string, w completionWords) (string, error) {
	var b strings.Builder
	switch shell {
	case "bash":
		bashCompletion(&b, w)
	case "zsh":
		zshCompletion(&b, w)
	case "fish":
		fishCompletion(&b, w)
	default:
		return "", usagef("completion: unknown shell %q; use bash, zsh or fish", shell)
	}
	return b.String(), nil
}

func bashCompletion(b *strings.Builder, w completionWords) {
	b.WriteString("# bash completion for allot; load with: source <(allot completion bash)\n")
	b.WriteString("_allot() {\n  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} words=\"\"\n")
	b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n")
	fmt.Fprintf(b, "    words=%q\n", strings.Join(w.commands, " "))
	b.WriteString("  else\n    case \"$cmd\" in\n")
	shellCases(b, w, `[ "$COMP_CWORD" -eq 2 ]`, "${COMP_WORDS[2]}", func(words []string) string {
		return fmt.Sprintf("words=%q", strings.Join(words, " "))
	})
	b.WriteString("    esac\n  fi\n")
	b.WriteString("  case \"${COMP_WORDS[COMP_CWORD-1]}\" in\n")
	b.WriteString("    --output|-o) words=\"table json csv\" ;;\n")
	b.WriteString("  esac\n")
	b.WriteString("  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -o default -F _allot allot\n")
}

func zshCompletion(b *strings.Builder, w completionWords) {
	// $words is zsh's own array of the command line; the candidates go
	// in opts.
	b.WriteString("#compdef allot\n# zsh completion for allot; load with: source <(allot completion zsh)\n")
	b.WriteString("_allot() {\n  local -a opts\n  if (( CURRENT == 2 )); then\n")
	fmt.Fprintf(b, "    opts=(%s)\n", strings.Join(w.commands, " "))
	b.WriteString("  else\n    case \"${words[CURRENT-1]}\" in\n      --output|-o) compadd table json csv; return ;;\n    esac\n")
	b.WriteString("    case \"${words[2]}\" in\n")
	shellCases(b, w, "(( CURRENT == 3 ))", "${words[3]}", func(words []string) string {
		return "opts=(" + strings.Join(words, " ") + ")"
	})
	b.WriteString("    *) opts=() ;;\n    esac\n  fi\n  compadd -a opts\n}\n")
	b.WriteString("compdef _allot allot\n")
}

// shellCases writes the arms, alike in bash and zsh, of the case on the
// command word: a group's subcommands and then their flags, each other
// command's flags, and the commands after help. atSub is the test that the
// word being completed is the subcommand, subWord that word; set gives
// the candidates.
func shellCases(b *strings.Builder, w completionWords, atSub, subWord string, set func([]string) string) {
	for _, parent := range slices.Sorted(maps.Keys(w.subs)) {
		fmt.Fprintf(b, "    %s)\n      if %s; then %s; else\n        case \"%s\" in\n", parent, atSub, set(w.subs[parent]), subWord)
		for _, sub := range w.subs[parent] {
			fmt.Fprintf(b, "        %s) %s ;;\n", sub, set(w.flags[parent+" "+sub]))
		}
		b.WriteString("        esac\n      fi ;;\n")
	}
	for _, name := range slices.Sorted(maps.Keys(w.flags)) {
		if !strings.Contains(name, " ") {
			fmt.Fprintf(b, "    %s) %s ;;\n", name, set(w.flags[name]))
		}
	}
	fmt.Fprintf(b, "    help) %s ;;\n", set(w.commands))
}

func fishCompletion(b *strings.Builder, w completionWords) {
	b.WriteString("# fish completion for allot; load with: allot completion fish | source\n")
	b.WriteString("complete -c allot -f\n")
	fmt.Fprintf(b, "complete -c allot -n __fish_use_subcommand -a %q\n", strings.Join(w.commands, " "))
	fmt.Fprintf(b, "complete -c allot -n '__fish_seen_subcommand_from help' -a %q\n", strings.Join(w.commands, " "))
	for _, parent := range slices.Sorted(maps.Keys(w.subs)) {
		fmt.Fprintf(b, "complete -c allot -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %q\n",
			parent, strings.Join(w.subs[parent], " "), strings.Join(w.subs[parent], " "))
	}
	for _, name := range slices.Sorted(maps.Keys(w.flags)) {
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
			fmt.Fprintf(b, "complete -c allot -n '%s' -l %s%s\n", cond, long, extra)
		}
	}
}
