package main

// allot's command table: every command once, in the order of the usage.
// The dispatch in run, the usage, `allot help NAME` and the shell
// completion are all read from it, so that a command added here is known
// to all of them. Each command's flags stay with its code, in its define.

import (
	"context"
	"flag"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
)

// command is a row of the table, of one of three kinds:
//   - an operator command (run): it parses its own arguments and works on
//     the database (catalog import may go to a server instead); the usage
//     is its documentation, so `allot help NAME` prints the usage;
//   - a daily-work command (define): define registers the command's flags
//     and returns the function that runs it with the positional arguments,
//     so that help and completion list the real flags. Unless local, it
//     talks to a running server and has --server, --token and --output;
//   - a group (neither): "alerts" is the group of "alerts add",
//     "alerts list"…, run as `allot alerts add`.
type command struct {
	name   string      // "products", or "group status" for a subcommand
	usage  []usageLine // the command's lines in allot's usage, if any
	run    runFunc
	define defineFunc
	local  bool // a define command that needs no server: no --server, --token, --output

	// What `allot help NAME` shows of a define command.
	synopsis string // the arguments after the name, e.g. "--product SKU (--group G… | --user U…)"
	summary  string // one line, also in its group's list
	details  string // optional paragraphs
	examples string // one per line
}

type runFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

type defineFunc func(fs *flag.FlagSet, e *cliEnv) func(ctx context.Context, pos []string) error

// usageLine is a line of allot's usage: "allot " and the synopsis, and the
// brief description in the usage's second column.
type usageLine struct {
	synopsis string // the name and arguments; a line break continues them under the first argument
	brief    string
}

// commands is set by init rather than given its value where it is
// declared: the help, completion and account commands read the table,
// and Go refuses a variable whose value refers to itself.
var commands []command

func init() {
	commands = []command{
		{
			name: "serve",
			usage: []usageLine{{synopsis: "serve  [--addr :8080] [--db allot.db] [--catalog FILE] [--operator-token SECRET]\n" +
				"[--tls-cert FILE --tls-key FILE] [--pprof ADDR]"}},
			run: serveCommand(false),
		},
		{
			name:  "demo",
			usage: []usageLine{{"demo   [--addr :8080] [--db FILE]", "serve with a demo tenant and print sign-ins"}},
			run:   serveCommand(true),
		},
		{
			name:  "check",
			usage: []usageLine{{"check  [--db allot.db]", "verify the invariants; exit 1 on a violation"}},
			run:   stdoutOnly(cmdCheck),
		},
		{
			name:  "migrate",
			usage: []usageLine{{"migrate [--db allot.db]", "apply pending database migrations and exit"}},
			run:   stdoutOnly(cmdMigrate),
		},
		{
			name: "bench",
			usage: []usageLine{{"bench  [--users 100000] [--groups 1000] [--db postgres://…] [--json FILE]", "build a large tenant and measure processing"},
				{"bench  --tenants 4 --users 25000 --replicas 1,2,4 --db postgres://…", "measure N tenants processed by R replicas"}},
			run: stdoutOnly(cmdBench),
		},
		{
			name:  "tenant",
			usage: []usageLine{{synopsis: "tenant create --name NAME [--location US] [--db allot.db]"}},
			run:   stdoutOnly(cmdTenant),
		},
		{
			name:  "token",
			usage: []usageLine{{synopsis: "token create --tenant ID --role ROLE [--name NAME] [--days N] [--db allot.db]"}},
			run:   stdoutOnly(cmdToken),
		},
		{
			name: "account",
			usage: []usageLine{
				{"account create --tenant ID --username NAME --role ROLE [--name DISPLAY] [--db allot.db]", "an admin center sign-in; prints its password"},
				{"account disable|enable|reset-password|revoke-sessions --tenant ID --username NAME [--db allot.db]", "reset-password prints the new password"},
			},
			run: stdoutOnly(cmdAccount),
		},
		{
			name: "sso",
			usage: []usageLine{
				{"sso set --tenant ID --issuer URL --client-id ID [--client-secret-file F] [--claim groups]\n--map VALUE=ROLE… [--scopes S,…] [--sso-key-file F] [--db allot.db]", "sign-in through the tenant's identity provider (docs/SSO.md)"},
				{"sso show|remove --tenant ID [--public-url URL] [--db allot.db]", "show prints the redirect URI to register"},
			},
			run: stdoutOnly(cmdSSO),
		},
		{
			name:  "catalog",
			usage: []usageLine{{"catalog import --plans FILE.csv [--rules FILE] [--dry-run] (--db DB | --server URL --token OP)", "install Microsoft's product list with rules"}},
			run:   cmdCatalog,
		},
		{name: "help", run: cmdHelp},

		{
			name:    "products",
			usage:   []usageLine{{"products", "the subscribed products and their seats"}},
			summary: "list the subscribed products with their seats",
			examples: `allot products
				allot products --output csv > products.csv
				ALLOT_SERVER=https://allot.example.com allot products -o json`,
			define: defineProducts,
		},
		{
			name:     "assign",
			usage:    []usageLine{{synopsis: "assign   --product SKU (--group G… | --user U…) [--disable-plan PLAN…] [--wait]"}},
			synopsis: "--product SKU (--group G… | --user U…) [--disable-plan PLAN…] [--include-nested] [--wait]",
			summary:  "assign a product to groups or users",
			details: `SKU and PLAN are a part number (ENTERPRISEPACK, EXCHANGE_S_ENTERPRISE) or an id;
a group is an id or a display name, a user an id or a userPrincipalName. Repeat
--group, --user and --disable-plan for several; up to 20 groups at once. Groups are
processed in the background: --wait shows the progress and the outcome. Assigning
a product again replaces its disabled plans. --include-nested (groups only) also
licenses the users of groups nested in the groups, up to 5 levels deep;
--include-nested=false switches that off, and leaving it out keeps the setting
(docs/NESTED-GROUPS.md).`,
			examples: `allot assign --product ENTERPRISEPACK --group Sales --group Marketing --wait
				allot assign --product ENTERPRISEPACK --group Sales --disable-plan EXCHANGE_S_ENTERPRISE
				allot assign --product ENTERPRISEPACK --group Staff --include-nested --wait
				allot assign --product SPE_E5 --user adele@contoso.com --user alex@contoso.com`,
			define: defineAssign(true),
		},
		{
			name:     "unassign",
			usage:    []usageLine{{synopsis: "unassign --product SKU (--group G… | --user U…) [--wait]"}},
			synopsis: "--product SKU (--group G… | --user U…) [--wait]",
			summary:  "remove a product from groups or users",
			details: `Removing a product from a group removes it from every member that has it
only through that group; --wait shows the progress.`,
			examples: `allot unassign --product ENTERPRISEPACK --group Sales --wait
				allot unassign --product SPE_E5 --user adele@contoso.com`,
			define: defineAssign(false),
		},
		{name: "group"},
		{
			name:     "group status",
			usage:    []usageLine{{"group status GROUP", "licenses, processing state, member counts"}},
			synopsis: "GROUP",
			summary:  "show a group's licenses, processing state and member counts",
			examples: `allot group status Sales
				allot group status 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f -o json`,
			define: defineGroupStatus,
		},
		{
			name:     "group errors",
			usage:    []usageLine{{"group errors GROUP", "members in error, and why"}},
			synopsis: "GROUP",
			summary:  "list the group's members whose licenses from it failed, and why",
			examples: `allot group errors Sales
				allot group errors Sales -o csv > sales-errors.csv`,
			define: defineGroupErrors,
		},
		{
			name:     "group create",
			usage:    []usageLine{{"group create --name NAME [--nickname NICK] [--rule RULE [--paused]] [--wait]", "an assigned security group, or a dynamic one"}},
			synopsis: "--name NAME [--nickname NICK] [--rule RULE [--paused]] [--wait]",
			summary:  "create a security group: assigned, or with --rule dynamic (its members are the users the rule matches)",
			details: `RULE is a Microsoft Entra membership rule for users, such as
(user.department -eq "Sales") -and (user.usageLocation -eq "US") (docs/DYNAMIC-GROUPS.md);
a rule the server cannot evaluate is refused with a caret under the column at fault.
The rule is applied to every user in the background: --wait shows the progress and
waits until it has been applied and the licenses of the members it adds or removes
are processed. --paused creates the rule without applying it (allot group rule resume).
The mailNickname defaults to the name's letters and digits in lower case.`,
			examples: `allot group create --name Marketing
				allot group create --name "Sales US" --rule '(user.department -eq "Sales") -and (user.usageLocation -eq "US")' --wait
				allot group create --name "Contractors" --rule 'user.userType -eq "Guest"' --paused -o json`,
			define: defineGroupCreate,
		},
		{
			name: "group rule",
			usage: []usageLine{
				{"group rule show|pause|resume|remove GROUP", "a dynamic group's rule and its processing"},
				{"group rule set GROUP --rule RULE [--yes] [--wait]", "give a group a new rule (makes it dynamic)"},
				{"group rule validate --rule RULE [--user U…]", "check a rule, and evaluate it for users"},
				{"group rule preview GROUP --rule RULE", "who would join and leave, and the seats"},
			},
			synopsis: "show|set|pause|resume|validate|preview|remove [GROUP] [--rule RULE] [--user U…] [--yes] [--wait]",
			summary:  "show, change, check and preview the membership rule of a dynamic group",
			details: `Actions:
  show GROUP                  the rule, its processing state (On or Paused) and status
                              (NotStarted, Running with users processed, Succeeded), members
  set GROUP --rule RULE       a new rule. A group with assigned membership becomes dynamic:
                              its members are replaced by the users the rule matches, so
                              --yes is required (preview first)
  pause GROUP                 stop applying the rule; the members stay as they are
  resume GROUP                apply the rule again, to every user
  remove GROUP                back to assigned membership; the current members stay
  validate --rule RULE        OK, or the error with a caret under the column; with --user
    [--user U…]               (up to 20) ✓ or ✗ per user and how each clause evaluated
  preview GROUP --rule RULE   what the rule would do: members joining and leaving, seats,
                              users gaining, losing or going into error; nothing changes
--wait (set, resume) waits until the rule has been applied to every user and licensing
is idle, then prints the members and those with license errors. Members of a dynamic
group cannot be added or removed by hand. RULE: docs/DYNAMIC-GROUPS.md.`,
			examples: `allot group rule show "Sales (dynamic)"
				allot group rule validate --rule '(user.department -eq "Sales") -and (user.accountEnabled -eq true)' --user adele1@contoso.example
				allot group rule preview Sales --rule 'user.department -in ["Sales","Marketing"]'
				allot group rule set Sales --rule 'user.department -eq "Sales"' --yes --wait
				allot group rule pause "Sales (dynamic)"
				allot group rule resume "Sales (dynamic)" --wait
				allot group rule remove "Sales (dynamic)"`,
			define: defineGroupRule,
		},
		{
			name:     "reprocess",
			usage:    []usageLine{{synopsis: "reprocess (--group G | --user U…) [--wait]"}},
			synopsis: "(--group G | --user U…) [--wait]",
			summary:  "apply a group's or users' licenses again, e.g. after freeing seats",
			examples: `allot reprocess --group Sales --wait
				allot reprocess --user adele@contoso.com --user alex@contoso.com`,
			define: defineReprocess,
		},
		{
			name:     "purchase",
			usage:    []usageLine{{synopsis: "purchase --product SKU --seats N [--user U…]"}},
			synopsis: "--product SKU --seats N [--user U…]",
			summary:  "buy seats, optionally giving them first to users waiting for them",
			details: `Users given with --user who wait for the product (in CountViolation, e.g. from
a group) get the new seats first, at once; the rest go to whoever waits longest.
There may be no more of them than seats bought, and at most 20.`,
			examples: `allot purchase --product ENTERPRISEPACK --seats 10
				allot purchase --product SPE_E5 --seats 2 --user adele@contoso.com --user alex@contoso.com`,
			define: definePurchase,
		},
		{
			name: "subscriptions",
			usage: []usageLine{
				{"subscriptions list|show ID", "commercial subscriptions, their status and term"},
				{"subscriptions create --sku SKU --quantity N [--trial] [--term-end DATE]", "buy a subscription, or start a trial"},
				{"subscriptions renew|cancel|reactivate|convert ID", "move a subscription through its lifecycle"},
				{"subscriptions set-quantity ID N", "change a subscription's quantity"},
				{"subscriptions settings [--grace-days N] [--suspended-days N] …", "the tenant's lifecycle periods"},
			},
		},
		{
			name:    "subscriptions list",
			summary: "list the commercial subscriptions: product, status, quantity, trial, term end and the next change",
			details: `STATUS is Enabled; Warning (the term ended, the grace period runs and the licenses
still work); Suspended (the licenses stay assigned but their services stop);
LockedOut (cancelled); or Deleted. NEXT CHANGE is when the status moves on if
nothing is done. docs/SUBSCRIPTIONS.md describes the lifecycle.`,
			examples: `allot subscriptions list
				allot subscriptions list -o csv > subscriptions.csv`,
			define: defineSubscriptionsList,
		},
		{
			name:     "subscriptions show",
			synopsis: "ID",
			summary:  "show one commercial subscription with its term",
			examples: `allot subscriptions show 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define:   defineSubscriptionsShow,
		},
		{
			name:     "subscriptions create",
			synopsis: "--sku SKU --quantity N [--trial] [--term-end DATE]",
			summary:  "buy a commercial subscription, or start a free trial (Billing Administrator)",
			details: `SKU is a part number (ENTERPRISEPACK) or an id of the catalog. The term ends a year
from now, a trial's in 30 days, unless --term-end gives a date (the term ends at
00:00 UTC that day) or an RFC 3339 time. Users waiting for the product get the new
licenses in the order they started waiting.`,
			examples: `allot subscriptions create --sku ENTERPRISEPACK --quantity 25
				allot subscriptions create --sku SPE_E5 --quantity 5 --trial
				allot subscriptions create --sku ENTERPRISEPACK --quantity 10 --term-end 2027-06-30`,
			define: defineSubscriptionsCreate,
		},
		{
			name:     "subscriptions renew",
			synopsis: "ID [--term-end DATE]",
			summary:  "renew an active subscription, or one in its grace period (Billing Administrator)",
			details:  `The term is extended to --term-end, or by a year. A subscription in its grace period is active again.`,
			examples: `allot subscriptions renew 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f
				allot subscriptions renew 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f --term-end 2028-01-01`,
			define: defineSubscriptionsRenew,
		},
		{
			name:     "subscriptions cancel",
			synopsis: "ID",
			summary:  "cancel a subscription at once: its licenses stop working, and it cannot be reactivated (Billing Administrator)",
			details: `The subscription is locked out at once and deleted after the suspended period
(allot subscriptions settings). Users keep their licenses, but the services stop.`,
			examples: `allot subscriptions cancel 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define:   defineSubscriptionAction("cancel", "cancel"),
		},
		{
			name:     "subscriptions reactivate",
			synopsis: "ID",
			summary:  "make a subscription in its grace period or suspended active again, for a year (Billing Administrator)",
			examples: `allot subscriptions reactivate 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define:   defineSubscriptionAction("reactivate", "reactivate"),
		},
		{
			name:     "subscriptions convert",
			synopsis: "ID",
			summary:  "turn a trial into a paid subscription with a term of a year (Billing Administrator)",
			examples: `allot subscriptions convert 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define:   defineSubscriptionAction("convert", "convertTrial"),
		},
		{
			name:     "subscriptions set-quantity",
			synopsis: "ID N",
			summary:  "change an active subscription's quantity; fewer take no license away (Billing Administrator)",
			examples: `allot subscriptions set-quantity 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f 40`,
			define:   defineSubscriptionsSetQuantity,
		},
		{
			name:     "subscriptions settings",
			synopsis: "[--grace-days N] [--suspended-days N] [--retention-days N] [--alert-days N,…]",
			summary:  "show or change the tenant's lifecycle periods (changes: Global Administrator)",
			details: `Without flags the settings are shown. --grace-days: how long a subscription whose
term ended keeps working (Warning) before it is suspended (default 30).
--suspended-days: how long it stays suspended, or locked out after a cancellation,
before it is deleted (90). --retention-days: how long deleted users and groups are
kept (30). --alert-days: the days before a term ends on which alerts are sent
(30,7,1; at most 5; "none" for none).`,
			examples: `allot subscriptions settings
				allot subscriptions settings --grace-days 45 --alert-days 60,30,7`,
			define: defineSubscriptionsSettings,
		},
		{
			name:    "status",
			usage:   []usageLine{{"status", "the processing queue"}},
			summary: "show the processing queue and the groups being processed",
			examples: `allot status
				allot status -o json`,
			define: defineStatus,
		},
		{
			name:     "import",
			usage:    []usageLine{{"import [--users F] [--groups F] [--memberships F] [--dry-run] [--prune-memberships]", "create and update the directory from CSV files"}},
			synopsis: "[--users FILE] [--groups FILE] [--memberships FILE] [--dry-run] [--prune-memberships]",
			summary:  "create and update users, groups and memberships from CSV files",
			details: `Users are matched by userPrincipalName and groups by mailNickname: a row that
matches is updated, one that does not is created, and what the files do not name is
left alone. --prune-memberships also removes, from every group in the files, the
members that the memberships file does not list. Running the same files again
changes nothing. With any error, in any file, nothing is changed and every error
is listed with its file and line. --dry-run reports what would change.
The file formats: docs/IMPORT-EXPORT.md.`,
			examples: `allot import --users users.csv --groups groups.csv --memberships memberships.csv --dry-run
				allot import --users users.csv --groups groups.csv --memberships memberships.csv
				allot import --memberships sales.csv --prune-memberships -o json`,
			define: defineImport,
		},
		{
			name:  "export",
			usage: []usageLine{{"export users|audit|group-errors GROUP [--file F]", "users' licenses, the audit log, a group's errors as CSV"}},
		},
		{
			name:     "export users",
			synopsis: "[--file FILE]",
			summary:  "every user with each license: its product, source (direct or group), state and error, as CSV",
			examples: `allot export users --file users.csv
				allot export users | grep CountViolation`,
			define: defineExportUsers,
		},
		{
			name:     "export group-errors",
			synopsis: "GROUP [--file FILE]",
			summary:  "a group's members whose licenses from it failed, with the errors, as CSV",
			examples: `allot export group-errors Sales --file sales-errors.csv`,
			define:   defineExportGroupErrors,
		},
		{
			name:     "export audit",
			synopsis: "[--target-id ID] [--since TIME] [--until TIME] [--file FILE]",
			summary:  "the audit log, newest first, as CSV",
			details:  `TIME is an RFC 3339 time such as 2025-01-31T12:00:00Z; --since includes it, --until does not.`,
			examples: `allot export audit --since 2025-01-01T00:00:00Z --file audit-2025.csv
				allot export audit --target-id 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define: defineExportAudit,
		},
		{
			name:  "alerts",
			usage: []usageLine{{"alerts add|list|remove|test|deliveries", "alert webhooks and their deliveries"}},
		},
		{
			name:     "alerts add",
			synopsis: "--url URL [--events TYPE,…] [--secret S] [--disabled]",
			summary:  "add a webhook that receives alerts; prints its signing secret once",
			details: `Events: ` + strings.Join(alerts.Types, ", ") + ` (default: all).
Without --secret the server generates one; it is shown only in this answer.
Deliveries are signed: docs/ALERTS.md shows how to verify them.`,
			examples: `allot alerts add --url https://hooks.example.com/allot
				allot alerts add --url https://hooks.example.com/seats --events subscription.exhausted,subscription.overallocated`,
			define: defineAlertsAdd,
		},
		{
			name:     "alerts list",
			summary:  "list the tenant's alert webhooks",
			examples: `allot alerts list -o json`,
			define:   defineAlertsList,
		},
		{
			name:     "alerts remove",
			synopsis: "WEBHOOK-ID",
			summary:  "remove a webhook (its pending deliveries fail)",
			examples: `allot alerts remove 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define:   defineAlertsRemove,
		},
		{
			name:     "alerts test",
			synopsis: "WEBHOOK-ID",
			summary:  "send a webhook.test event to one webhook",
			details:  `The delivery is queued; see it with 'allot alerts deliveries --webhook ID'.`,
			examples: `allot alerts test 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define:   defineAlertsTest,
		},
		{
			name:     "alerts deliveries",
			synopsis: "[--webhook ID] [--status pending|delivered|failed] [--top N]",
			summary:  "list webhook deliveries and their attempts, newest first",
			examples: `allot alerts deliveries --status failed`,
			define:   defineAlertsDeliveries,
		},
		{
			name:  "deleted",
			usage: []usageLine{{"deleted list [users|groups] | restore ID | purge ID", "deleted users and groups, restorable until purged"}},
		},
		{
			name:     "deleted list",
			synopsis: "[users|groups]",
			summary:  "list the deleted users (default) or groups, with when they are purged",
			details: `A deleted user or group is kept for the tenant's retention period (30 days unless
changed) and can be restored until then; DAYS LEFT counts the days until it is deleted for
good. Deleted objects appear nowhere else: not in lists, lookups or name checks.`,
			examples: `allot deleted list
				allot deleted list groups -o json`,
			define: defineDeletedList,
		},
		{
			name:     "deleted restore",
			synopsis: "ID | USERPRINCIPALNAME",
			summary:  "restore a deleted user or group with its licenses and memberships",
			details: `A user comes back with its direct licenses and its memberships of the groups
that still exist, a group with its members that still exist; licenses are then
processed as for any change, so a user whose seats were taken meanwhile waits for
one. Refused, changing nothing, when a live object now has its userPrincipalName
or mailNickname. Restoring a user takes the User Administrator role; a group, the
Group Administrator role (docs/DELETED-ITEMS.md).`,
			examples: `allot deleted restore 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f
				allot deleted restore adele@contoso.com`,
			define: defineDeletedRestore,
		},
		{
			name:     "deleted purge",
			synopsis: "ID | USERPRINCIPALNAME",
			summary:  "delete a deleted user or group permanently, before its retention ends",
			examples: `allot deleted purge 0f5c1c2e-7f3b-4c1a-9d2e-3a4b5c6d7e8f`,
			define:   defineDeletedPurge,
		},
		{
			name:     "waiting-room",
			usage:    []usageLine{{"waiting-room --product SKU", "users waiting for a seat, in the order they get one"}},
			synopsis: "--product SKU",
			summary:  "list the users waiting for a seat of a product, in the order they will get one",
			details: `The users in CountViolation for the product, first the one that gets the next
free seat: by when they started waiting, then user id. SOURCE is "direct" or the
groups whose assignment waits. Buying seats (allot purchase) licenses them in this order.`,
			examples: `allot waiting-room --product ENTERPRISEPACK
				allot waiting-room --product ENTERPRISEPACK -o csv > waiting.csv`,
			define: defineWaitingRoom,
		},
		{
			name:     "cost",
			usage:    []usageLine{{"cost [--by product|group|currency]", "seats bought, used and idle, and their spend"}},
			synopsis: "[--by product|group|currency]",
			summary:  "report seats bought, used and idle with their spend",
			details: `--by product (the default): per product, seats bought, consumed and idle, the
price per seat and the spend on seats bought and on idle seats. --by group: the
seats held through each group's assignments and their spend (a user licensed
through two groups counts in both). --by currency: totals. Amounts are never
added across currencies; products without a price show no spend (allot price).`,
			examples: `allot cost
				allot cost --by group -o csv > cost-by-group.csv
				allot cost --by currency`,
			define: defineCost,
		},
		{
			name:     "price",
			usage:    []usageLine{{synopsis: "price --product SKU (--price 8.00 --currency EUR | --clear)"}},
			synopsis: "--product SKU (--price AMOUNT --currency CODE | --clear)",
			summary:  "set or clear the price per seat of a product (Billing Administrator)",
			examples: `allot price --product ENTERPRISEPACK --price 8.00 --currency EUR
				allot price --product ENTERPRISEPACK --clear`,
			define: definePrice,
		},
		{
			name:  "policy",
			usage: []usageLine{{"policy show|block|allow [--product SKU…]", "block direct assignment of products"}},
		},
		{
			name:    "policy show",
			summary: "list the products whose direct assignment to users is blocked",
			examples: `allot policy show
				allot policy show -o json`,
			define: definePolicy(""),
		},
		{
			name:     "policy block",
			synopsis: "--product SKU…",
			summary:  "block direct assignment of products, so that groups are the only way (Global Administrator)",
			details: `Users who have the product directly keep it, and it can still be removed from
them; only new direct assignments are refused. Group assignment is unaffected.`,
			examples: `allot policy block --product ENTERPRISEPACK --product SPE_E5`,
			define:   definePolicy("block"),
		},
		{
			name:     "policy allow",
			synopsis: "--product SKU…",
			summary:  "allow direct assignment of products again (Global Administrator)",
			examples: `allot policy allow --product ENTERPRISEPACK`,
			define:   definePolicy("allow"),
		},
		{
			name:  "preview",
			usage: []usageLine{{"preview assign|unassign|add-member|remove-member|seats|location|changes", "what a change would do, without doing it"}},
		},
		{
			name:     "preview assign",
			synopsis: "--product SKU (--group G | --user U) [--disable-plan PLAN…] [--include-nested]",
			summary:  "show what assigning a product would do: seats taken, who gains it, who goes into error",
			details:  "Assigning a product the group or user has already previews changing its disabled plans.\n" + previewNote,
			examples: `allot preview assign --product ENTERPRISEPACK --group Sales
				allot preview assign --product ENTERPRISEPACK --group Sales --disable-plan EXCHANGE_S_ENTERPRISE -o json`,
			define: definePreviewAssign(true),
		},
		{
			name:     "preview unassign",
			synopsis: "--product SKU (--group G | --user U)",
			summary:  "show what removing a product would do",
			details:  previewNote,
			examples: `allot preview unassign --product ENTERPRISEPACK --group Sales`,
			define:   definePreviewAssign(false),
		},
		{
			name:     "preview add-member",
			synopsis: "--group G --user U",
			summary:  "show what adding a user to a group would do",
			details:  previewNote,
			examples: `allot preview add-member --group Sales --user adele@contoso.com`,
			define:   definePreviewMember(allot.PreviewAddMember),
		},
		{
			name:     "preview remove-member",
			synopsis: "--group G --user U",
			summary:  "show what removing a user from a group would do",
			details:  previewNote,
			examples: `allot preview remove-member --group Sales --user adele@contoso.com`,
			define:   definePreviewMember(allot.PreviewRemoveMember),
		},
		{
			name:     "preview seats",
			synopsis: "--product SKU --seats N",
			summary:  "show what setting a subscription's seats would do (who waiting gets one)",
			details:  previewNote,
			examples: `allot preview seats --product ENTERPRISEPACK --seats 25`,
			define:   definePreviewSeats,
		},
		{
			name:     "preview location",
			synopsis: "--user U --location CC",
			summary:  "show what changing a user's usage location would do",
			details:  "--location \"\" previews clearing it.\n" + previewNote,
			examples: `allot preview location --user adele@contoso.com --location FR`,
			define:   definePreviewLocation,
		},
		{
			name:     "preview changes",
			synopsis: "FILE",
			summary:  "preview several changes at once, from a JSON file (- for stdin)",
			details:  "FILE holds the API's body: {\"changes\":[{\"op\":\"setSeats\",…},…]} (docs/PREVIEW.md).\n" + previewNote,
			examples: `allot preview changes reorg.json`,
			define:   definePreviewChanges,
		},
		{
			name:     "completion",
			usage:    []usageLine{{"completion bash|zsh|fish", "a shell completion script"}},
			synopsis: "bash|zsh|fish",
			summary:  "print a shell completion script",
			examples: `source <(allot completion bash)      # in ~/.bashrc
				source <(allot completion zsh)       # in ~/.zshrc, after compinit
				allot completion fish > ~/.config/fish/completions/allot.fish`,
			local:  true,
			define: defineCompletion,
		},
	}
}

// previewNote ends the help of every preview command.
const previewNote = `Nothing is changed. The preview also includes the effect of the work already
queued for the tenant (it is reported as "queued before"), since that work
happens first. Exit status 0 even when users would go into error.`

// stdoutOnly adapts an operator command that writes only to stdout.
func stdoutOnly(f func(context.Context, []string, io.Writer) error) runFunc {
	return func(ctx context.Context, args []string, stdout, _ io.Writer) error {
		return f(ctx, args, stdout)
	}
}

// findCommand is the row named name ("group status" for a subcommand), or
// nil.
func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// isGroup says whether name is a group: a name that only subcommands
// follow ("allot group …").
func isGroup(name string) bool {
	return len(subcommands(name)) > 0
}

// subcommands are the group's subcommands, in the table's order.
func subcommands(group string) []string {
	var out []string
	for _, c := range commands {
		if parent, sub, ok := strings.Cut(c.name, " "); ok && parent == group {
			out = append(out, sub)
		}
	}
	return out
}

const (
	usageIntro = `allot — a group-based licensing server with a Microsoft Graph compatible API.

Usage:
`
	usageDaily = `
Daily work over the API of a running server (--server URL, --token SECRET; or set
ALLOT_SERVER and ALLOT_TOKEN), each with --output table|json|csv:
`
	usageEnd = "Run `allot help COMMAND` or `allot COMMAND --help` for a command's flags and examples." + `

Environment: ALLOT_ADDR, ALLOT_DB, ALLOT_CATALOG, ALLOT_OPERATOR_TOKEN, ALLOT_TLS_CERT,
ALLOT_TLS_KEY, ALLOT_PPROF set the flags' defaults.
Roles: GlobalAdministrator, LicenseAdministrator, UserAdministrator, BillingAdministrator,
GroupAdministrator, GlobalReader.
`
	// usageColumn is where the briefs start; a synopsis too long for it
	// has its brief on the next line.
	usageColumn = 50
)

// usage is allot's usage: the operator commands, then the daily-work
// commands, each with its lines from the table.
func usage() string {
	var b strings.Builder
	b.WriteString(usageIntro)
	for _, c := range commands {
		if c.run != nil {
			writeUsage(&b, c.usage)
		}
	}
	b.WriteString(usageDaily)
	for _, c := range commands {
		if c.run == nil {
			writeUsage(&b, c.usage)
		}
	}
	b.WriteString(usageEnd)
	return b.String()
}

func writeUsage(b *strings.Builder, lines []usageLine) {
	const lead = "  allot "
	for _, l := range lines {
		first, more, _ := strings.Cut(l.synopsis, "\n")
		line := lead + first
		if more != "" {
			_, args, _ := strings.Cut(first, " ")
			indent := len(lead) + strings.Index(first, " ") + len(args) - len(strings.TrimLeft(args, " ")) + 1
			for _, m := range strings.Split(more, "\n") {
				line += "\n" + strings.Repeat(" ", indent) + m
			}
		}
		if l.brief != "" {
			if n := utf8.RuneCountInString(line); n+2 <= usageColumn {
				line += strings.Repeat(" ", usageColumn-n)
			} else {
				line += "\n" + strings.Repeat(" ", usageColumn)
			}
			line += l.brief
		}
		b.WriteString(line + "\n")
	}
}
