package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/store"
)

const catalogUsage = `usage: allot catalog import --plans FILE.csv [--rules FILE] [--dry-run] [--save FILE]
                            (--db FILE|URL | --server URL --token OPERATOR_TOKEN)

Builds a catalog from Microsoft's product list (FILE.csv) and a rules file
(docs/CATALOG.md, "Rules files"; docs/microsoft-365.rules is one for the real
list), prints what it changes in the current catalog, and installs it: in the
database (--db, like allot check) or on a running server (--server, PUT
/allot/v1/catalog with the operator token). --dry-run changes nothing.
`

// cmdCatalog runs `allot catalog SUBCOMMAND`.
func cmdCatalog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprint(stderr, catalogUsage)
		return exitError(2)
	}
	return cmdCatalogImport(ctx, args[1:], stdout, stderr)
}

// catalogTarget is where the catalog is read from and installed: the
// database or a server's API.
type catalogTarget interface {
	current(ctx context.Context) (*allot.Catalog, error)
	replace(ctx context.Context, c *allot.Catalog) error
	close()
}

func cmdCatalogImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseCatalogImport(args, stderr)
	if o == nil || err != nil {
		return err
	}
	start := time.Now()
	c, err := importFiles(o.plans, o.rules)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "read %s", o.plans)
	if o.rules != "" {
		fmt.Fprintf(stdout, " and %s", o.rules)
	}
	fmt.Fprintf(stdout, " in %s: %s\n", took.Round(time.Millisecond), summary(c))
	if o.save != "" {
		if err := saveCatalog(o.save, c); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", o.save)
	}
	target, err := o.target(ctx)
	if err != nil {
		return err
	}
	if target == nil {
		fmt.Fprintln(stdout, "no --db or --server: nothing to compare with or install")
		return nil
	}
	defer target.close()
	return installCatalog(ctx, target, c, o.dryRun, stdout)
}

// catalogImport is allot catalog import's flags: the files, and where the
// catalog goes (the database, a server, or neither).
type catalogImport struct {
	plans, rules, save string
	dryRun             bool
	toDB, toServer     bool
	dsn                string
	conn               *clientFlags
}

// parseCatalogImport reads the flags; it returns nil and no error for
// --help, which the flag package has answered.
func parseCatalogImport(args []string, stderr io.Writer) (*catalogImport, error) {
	o := &catalogImport{}
	fs := newFlags("catalog import")
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, catalogUsage) }
	fs.StringVar(&o.plans, "plans", "", "Microsoft's product list (`CSV` file)")
	fs.StringVar(&o.rules, "rules", "", "rules `file` (conflicts, dependencies, availability, mailboxes)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "report what would change, change nothing")
	fs.StringVar(&o.save, "save", "", "also write the catalog `file` (JSON), e.g. for allot serve --catalog")
	fs.StringVar(&o.dsn, "db", "", "install into this SQLite file or postgres://… database")
	o.conn = addClientFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil
		}
		return nil, exitError(2)
	}
	if fs.NArg() > 0 {
		return nil, usagef("allot catalog import: unexpected argument %q\n%s", fs.Arg(0), catalogUsage)
	}
	if o.plans == "" {
		return nil, usagef("allot catalog import: --plans is required\n%s", catalogUsage)
	}
	fs.Visit(func(f *flag.Flag) {
		o.toDB = o.toDB || f.Name == "db"
		o.toServer = o.toServer || f.Name == "server"
	})
	// Without --db or --server, the environment says where.
	switch {
	case o.toDB && o.toServer:
		return nil, usagef("allot catalog import: give --db or --server, not both")
	case !o.toDB && !o.toServer && os.Getenv("ALLOT_SERVER") != "":
		o.toServer = true
	case !o.toDB && !o.toServer && os.Getenv("ALLOT_DB") != "":
		o.dsn, o.toDB = os.Getenv("ALLOT_DB"), true
	}
	if !o.toDB && !o.toServer && !o.dryRun && o.save == "" {
		return nil, usagef("allot catalog import: say where to install the catalog: --db FILE|URL or --server URL --token OPERATOR_TOKEN (or --dry-run, --save FILE)")
	}
	return o, nil
}

// target opens where the catalog goes; nil when that is nowhere.
func (o *catalogImport) target(ctx context.Context) (catalogTarget, error) {
	switch {
	case o.toDB:
		db, err := store.Open(ctx, store.Config{DSN: o.dsn})
		if err != nil {
			return nil, err
		}
		return dbTarget{db}, nil
	case o.toServer:
		cl, err := o.conn.client()
		if err != nil {
			return nil, err
		}
		// The server checks and installs the whole list in one request
		// (processing follows later), which may outlast the usual timeout.
		cl.http.Timeout = 5 * time.Minute
		return serverTarget{cl}, nil
	}
	return nil, nil
}

func saveCatalog(path string, c *allot.Catalog) error {
	b, err := catalog.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// installCatalog prints how c differs from the target's catalog and,
// unless dryRun or there is no difference, installs it.
func installCatalog(ctx context.Context, target catalogTarget, c *allot.Catalog, dryRun bool, stdout io.Writer) error {
	old, err := target.current(ctx)
	if err != nil {
		return err
	}
	d := catalog.Compare(old, c)
	if err := d.Write(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d SKUs added, %d removed, %d changed; %d service plans added, %d removed, %d changed\n",
		len(d.AddedSKUs), len(d.RemovedSKUs), len(d.ChangedSKUs), len(d.AddedPlans), len(d.RemovedPlans), len(d.ChangedPlans))
	switch {
	case dryRun:
		fmt.Fprintln(stdout, "dry run: the catalog is unchanged")
		return nil
	case d.Empty():
		fmt.Fprintln(stdout, "ok: the catalog is already this one")
		return nil
	}
	start := time.Now()
	if err := target.replace(ctx, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok: catalog replaced in %s (%s); holders of %d changed SKUs are queued for processing\n",
		time.Since(start).Round(time.Millisecond), summary(c), len(d.Reevaluate()))
	return nil
}

// importFiles reads the list and the rules, naming them as given in errors.
func importFiles(plansPath, rulesPath string) (*allot.Catalog, error) {
	list, err := os.Open(plansPath)
	if err != nil {
		return nil, err
	}
	defer list.Close()
	var rules io.Reader
	if rulesPath != "" {
		f, err := os.Open(rulesPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rules = f
	}
	c, err := catalog.Import(plansPath, list, rulesPath, rules)
	if err != nil {
		return nil, importError(allot.ErrorMessage(err))
	}
	return c, nil
}

// importError is a bad list or rules file: exit status 1.
type importError string

func (e importError) Error() string { return string(e) }
func (e importError) ExitCode() int { return 1 }

func summary(c *allot.Catalog) string {
	var mailbox, conflicts, depends, available int
	for _, p := range c.Plans {
		if p.ProvisionsMailbox {
			mailbox++
		}
		conflicts += len(p.ConflictsWith)
		depends += len(p.DependsOn)
		if len(p.AvailableIn) > 0 {
			available++
		}
	}
	return fmt.Sprintf("%d SKUs, %d service plans; %d mailbox plans, %d conflicting pairs, %d dependencies, %d plans available in some countries only",
		len(c.SKUs), len(c.Plans), mailbox, conflicts, depends, available)
}

type dbTarget struct{ db *store.DB }

func (t dbTarget) current(context.Context) (*allot.Catalog, error) { return t.db.Catalog(), nil }
func (t dbTarget) replace(ctx context.Context, c *allot.Catalog) error {
	if err := t.db.ReplaceCatalog(allot.NewContextWithActor(ctx, allot.Actor{Operator: true, Name: "allot catalog import"}), c); err != nil {
		return importError(allot.ErrorMessage(err))
	}
	return nil
}
func (t dbTarget) close() { t.db.Close() }

type serverTarget struct{ c *apiClient }

func (t serverTarget) current(ctx context.Context) (*allot.Catalog, error) {
	var raw json.RawMessage
	if err := t.c.get(ctx, "/allot/v1/catalog", nil, &raw); err != nil {
		return nil, err
	}
	c, err := catalog.Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("the server's current catalog: %s", allot.ErrorMessage(err))
	}
	return c, nil
}

func (t serverTarget) replace(ctx context.Context, c *allot.Catalog) error {
	b, err := catalog.Marshal(c)
	if err != nil {
		return err
	}
	return t.c.do(ctx, http.MethodPut, "/allot/v1/catalog", json.RawMessage(b), nil)
}

func (t serverTarget) close() {}
