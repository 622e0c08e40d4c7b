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
	"syscall"
)

const usage = `allot — a group-based licensing server with a Microsoft Graph compatible API.

Usage:
  allot serve  [--addr :8080] [--db allot.db] [--catalog FILE] [--operator-token SECRET]
               [--tls-cert FILE --tls-key FILE] [--pprof ADDR]
  allot demo   [--addr :8080] [--db FILE]         serve with a demo tenant and print sign-ins
  allot check  [--db allot.db]                    verify the invariants; exit 1 on a violation
  allot migrate [--db allot.db]                   apply pending database migrations and exit
  allot bench  [--users 100000] [--groups 1000] [--db postgres://…] [--json FILE]
                                                  build a large tenant and measure processing
  allot tenant create --name NAME [--location US] [--db allot.db]
  allot token create --tenant ID --role ROLE [--name NAME] [--days N] [--db allot.db]
  allot account create --tenant ID --username NAME --role ROLE [--name DISPLAY] [--db allot.db]
                                                  an admin center sign-in; prints its password
  allot account disable|enable|reset-password|revoke-sessions --tenant ID --username NAME [--db allot.db]
                                                  reset-password prints the new password
  allot catalog import --plans FILE.csv [--rules FILE] [--dry-run] (--db DB | --server URL --token OP)
                                                  install Microsoft's product list with rules

Daily work over the API of a running server (--server URL, --token SECRET; or set
ALLOT_SERVER and ALLOT_TOKEN), each with --output table|json|csv:
  allot products                                  the subscribed products and their seats
  allot assign   --product SKU (--group G… | --user U…) [--disable-plan PLAN…] [--wait]
  allot unassign --product SKU (--group G… | --user U…) [--wait]
  allot group status GROUP                        licenses, processing state, member counts
  allot group errors GROUP                        members in error, and why
  allot reprocess (--group G | --user U…) [--wait]
  allot purchase --product SKU --seats N [--user U…]
  allot status                                    the processing queue
  allot import [--users F] [--groups F] [--memberships F] [--dry-run] [--prune-memberships]
                                                  create and update the directory from CSV files
  allot export users|audit|group-errors GROUP [--file F]
                                                  users' licenses, the audit log, a group's errors as CSV
  allot alerts add|list|remove|test|deliveries    alert webhooks and their deliveries
  allot waiting-room --product SKU                users waiting for a seat, in the order they get one
  allot cost [--by product|group|currency]        seats bought, used and idle, and their spend
  allot price --product SKU (--price 8.00 --currency EUR | --clear)
  allot policy show|block|allow [--product SKU…]  block direct assignment of products
  allot preview assign|unassign|add-member|remove-member|seats|location|changes
                                                  what a change would do, without doing it
  allot completion bash|zsh|fish                  a shell completion script
Run ` + "`allot help COMMAND`" + ` or ` + "`allot COMMAND --help`" + ` for a command's flags and examples.

Environment: ALLOT_ADDR, ALLOT_DB, ALLOT_CATALOG, ALLOT_OPERATOR_TOKEN, ALLOT_TLS_CERT,
ALLOT_TLS_KEY, ALLOT_PPROF set the flags' defaults.
Roles: GlobalAdministrator, LicenseAdministrator, UserAdministrator, BillingAdministrator,
GroupAdministrator, GlobalReader.
`

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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr, false)
	case "demo":
		return cmdServe(ctx, rest, stdout, stderr, true)
	case "check":
		return cmdCheck(ctx, rest, stdout)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout)
	case "bench":
		return cmdBench(ctx, rest, stdout)
	case "tenant":
		return cmdTenant(ctx, rest, stdout)
	case "token":
		return cmdToken(ctx, rest, stdout)
	case "account":
		return cmdAccount(ctx, rest, stdout)
	case "catalog":
		return cmdCatalog(ctx, rest, stdout, stderr)
	case "products", "assign", "unassign", "group", "reprocess", "purchase", "status", "completion",
		"import", "export", // import.go, export.go
		"waiting-room", "cost", "price", "policy": // cli_beyond.go
		return runCLI(ctx, args, stdout, stderr)
	case "alerts": // cli_alerts.go
		return runCLI(ctx, args, stdout, stderr)
	case "preview": // cli_preview.go
		return runCLI(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		if cmd == "help" && len(rest) > 0 {
			return cliHelp(rest, stdout)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "allot: unknown command %q\n\n%s", cmd, usage)
		return exitError(2)
	}
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
