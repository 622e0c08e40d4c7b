package main

import (
	"context"
	"fmt"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

type signIn struct {
	role               allot.Role
	token              string
	username, password string // an admin center account
}

// Demo catalog SKUs (docs/CATALOG.md).
const (
	demoE1       = "18181a46-0d4e-45cd-891e-60aabd171b4e" // Office 365 E1
	demoE3       = "6fd2c87f-b296-42f0-b197-1e91e994b900" // Office 365 E3
	demoE5       = "06ebc4ee-1bb5-47dd-8120-11324bc54e06" // Microsoft 365 E5
	demoExoP1    = "4b9405b0-7788-4568-add1-99614e613b69" // Exchange Online (Plan 1)
	demoKiosk    = "80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82" // Exchange Online Kiosk
	demoAudio    = "0c266dff-15dd-4b49-8397-2bb16070ed52" // Audio Conferencing add-on
	demoCalling  = "0dab259f-bf13-4952-b7f8-7db8f131b28d" // Domestic Calling Plan
	demoTeamsFon = "e43b5b99-8dfb-405f-9987-dc307f34bcbd" // Teams Phone Standard
	demoExoP2    = "19ec0d23-8335-4cbd-94ac-6050e30712fa" // Exchange Online (Plan 2): suspended, held by nobody
)

var demoNames = []string{"Adele", "Alex", "Allan", "Bianca", "Brian", "Cameron", "Christie", "Debra", "Delia", "Diego",
	"Emily", "Enrico", "Grady", "Henrietta", "Irvin", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan",
	"Miriam", "Nestor", "Patti", "Pradeep", "Raul", "Sakura", "Tomas", "Zrinka"}

var demoLocations = []string{"US", "GB", "DE", "FR", "US", "NL", "IN", "US", "CA", "BR"}

// seedDemo builds the demo tenant through the same service the API uses:
// a few seats short, users in several countries and some with none (the
// tenant has no default), a shared proxy address, and groups of each kind.
func seedDemo(ctx context.Context, db *store.DB) ([]signIn, error) {
	t, err := db.CreateTenant(operator, allot.Tenant{DisplayName: "Contoso (demo)"})
	if err != nil {
		return nil, err
	}
	d := &demoSeed{db: db, tenant: t.ID, groups: map[string]string{},
		admin: allot.NewContextWithActor(ctx, allot.Actor{TenantID: t.ID, Role: allot.RoleGlobalAdministrator, Name: "demo setup"})}
	for _, step := range []func() error{d.subscriptions, d.addGroups, d.addUsers, d.addMembers, d.addDynamic, d.licenses} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return d.signIns()
}

// demoSeed is the demo tenant being built.
type demoSeed struct {
	db     *store.DB
	tenant string
	admin  context.Context   // its Global Administrator
	groups map[string]string // display name → id
	users  []string          // ids, in the order made
}

func (d *demoSeed) subscriptions() error {
	for sku, seats := range map[string]int{demoE3: 95, demoE1: 40, demoExoP1: 20, demoKiosk: 30, demoAudio: 30, demoCalling: 25, demoTeamsFon: 45} {
		if _, err := d.db.AddSubscription(d.admin, sku, seats); err != nil {
			return err
		}
	}
	return d.lifecycles(time.Now().UTC())
}

// lifecycles gives the demo a subscription in each state a new admin
// should recognise (docs/SUBSCRIPTIONS.md): E5 is a trial that ends in 5
// days; 10 more Audio Conferencing licenses are in their grace period (the
// 30 renewing by themselves serve the Call Center); Exchange Online
// (Plan 2) was not renewed and is suspended. Each is as it would be had it
// been bought on its date and left alone.
func (d *demoSeed) lifecycles(now time.Time) error {
	days := func(n int) time.Time { return now.AddDate(0, 0, n) }
	ptr := func(t time.Time) *time.Time { return &t }
	for _, c := range []allot.CompanySubscription{
		{SkuID: demoE5, Quantity: 10, Status: allot.SubEnabled, IsTrial: true,
			CreatedAt: days(-25), TermStart: days(-25), TermEnd: ptr(days(5)), StatusSince: days(-25)},
		{SkuID: demoAudio, Quantity: 10, Status: allot.SubWarning,
			CreatedAt: days(-377), TermStart: days(-377), TermEnd: ptr(days(-12)), StatusSince: days(-12)},
		{SkuID: demoExoP2, Quantity: 15, Status: allot.SubSuspended,
			CreatedAt: days(-410), TermStart: days(-410), TermEnd: ptr(days(-45)), StatusSince: days(-15)},
	} {
		if _, err := d.db.ImportCompanySubscription(d.admin, c); err != nil {
			return err
		}
	}
	return nil
}

func (d *demoSeed) addGroups() error {
	for _, g := range []struct {
		name  string
		types []string
		mail  bool
	}{
		{"All Staff", nil, false}, {"Sales", nil, true}, {"Regional Sales", nil, false},
		{"Engineering", []string{"Unified"}, true}, {"Frontline Workers", nil, false}, {"Call Center", nil, false},
	} {
		made, err := d.db.CreateGroup(d.admin, allot.GroupCreate{DisplayName: g.name, MailNickname: nickname(g.name), GroupTypes: g.types, MailEnabled: g.mail, SecurityEnabled: true})
		if err != nil {
			return err
		}
		d.groups[g.name] = made.ID
	}
	return d.db.AddMember(d.admin, d.groups["Sales"], d.groups["Regional Sales"])
}

var (
	demoDepartments = []string{"Sales", "Engineering", "Support", "Finance", "Operations"}
	demoTitles      = []string{"Account Manager", "Engineer", "Support Specialist", "Analyst", "Team Lead", "Intern"}
)

func (d *demoSeed) addUsers() error {
	for i := range 200 {
		loc := demoLocations[i%len(demoLocations)]
		if i%23 == 5 {
			loc = "" // no usage location: ProhibitedInUsageLocationViolation
		}
		name := fmt.Sprintf("%s %d", demoNames[i%len(demoNames)], i+1)
		upn := fmt.Sprintf("%s%d@contoso.example", nickname(demoNames[i%len(demoNames)]), i+1)
		proxy := []string{"SMTP:" + upn}
		if i == 12 || i == 150 {
			proxy = append(proxy, "smtp:sales@contoso.example") // the duplicate address
		}
		// A profile as license reports read it: departments, titles, a few
		// guests, and sign-ins that make some licenses look unused.
		p := allot.Profile{Department: demoDepartments[i%len(demoDepartments)], JobTitle: demoTitles[i%len(demoTitles)], CompanyName: "Contoso"}
		if i%40 == 39 {
			p.UserType = allot.UserGuest
		}
		if i%7 != 3 {
			p.SignIn.Last = time.Date(2026, time.Month(1+i%11), 1+i%27, 8, 0, 0, 0, time.UTC)
		}
		// A few salespeople have left: their accounts are disabled, which
		// keeps them out of "Sales (dynamic)".
		enabled := i%40 != 35
		u, err := d.db.CreateUser(d.admin, allot.UserCreate{UserPrincipalName: upn, DisplayName: name, UsageLocation: loc, ProxyAddresses: proxy, AccountEnabled: enabled, Profile: p})
		if err != nil {
			return err
		}
		d.users = append(d.users, u.ID)
	}
	return nil
}

// addMembers puts ranges of the users in the groups; some overlap.
func (d *demoSeed) addMembers() error {
	for _, m := range []struct {
		group    string
		from, to int
	}{{"All Staff", 0, 120}, {"Sales", 100, 130}, {"Regional Sales", 130, 140}, {"Engineering", 140, 170}, {"Frontline Workers", 170, 200}, {"Call Center", 160, 185}} {
		for _, u := range d.users[m.from:m.to] {
			if err := d.db.AddMember(d.admin, d.groups[m.group], u); err != nil {
				return err
			}
		}
	}
	return nil
}

// demoDynamicRule is the rule of the demo's dynamic group.
const demoDynamicRule = `(user.department -eq "Sales") -and (user.accountEnabled -eq true)`

// addDynamic makes "Sales (dynamic)", whose members are the enabled users
// of the Sales department: the rule is applied to every user in the
// background once the server runs, and its members then get Teams Phone
// (licenses).
func (d *demoSeed) addDynamic() error {
	made, err := d.db.CreateGroup(d.admin, allot.GroupCreate{DisplayName: "Sales (dynamic)", MailNickname: "salesdynamic",
		GroupTypes: []string{allot.GroupDynamic}, SecurityEnabled: true,
		MembershipRule: demoDynamicRule, MembershipRuleProcessingState: allot.RuleOn})
	if err != nil {
		return err
	}
	d.groups[made.DisplayName] = made.ID
	return nil
}

// licenses assigns the direct licenses, then the groups'. User 150 holds
// a mailbox with the shared address; a few frontline workers have
// Exchange Kiosk, which conflicts with E1's Exchange Plan 1.
func (d *demoSeed) licenses() error {
	direct := func(u, sku string) error {
		_, err := d.db.AssignUserLicense(d.admin, u, []allot.AssignedLicense{{SkuID: sku, DisabledPlans: []string{}}}, []string{})
		return err
	}
	if err := direct(d.users[150], demoExoP1); err != nil {
		return err
	}
	for _, i := range []int{171, 172, 173, 174, 176} {
		if err := direct(d.users[i], demoKiosk); err != nil {
			return err
		}
	}
	for _, a := range []struct{ group, sku string }{
		{"All Staff", demoE3}, {"Engineering", demoE5}, {"Frontline Workers", demoE1}, {"Call Center", demoAudio}, {"Call Center", demoCalling}, {"Sales", demoExoP1},
		{"Sales (dynamic)", demoTeamsFon},
	} {
		if _, err := d.db.AssignGroupLicense(d.admin, d.groups[a.group], []allot.AssignedLicense{{SkuID: a.sku, DisabledPlans: []string{}}}, []string{}); err != nil {
			return err
		}
	}
	return nil
}

// signIns makes a token and an admin center account for every role.
func (d *demoSeed) signIns() ([]signIn, error) {
	var out []signIn
	for _, r := range allot.Roles {
		secret, _, err := d.db.CreateToken(operator, d.tenant, r, "demo "+string(r), 0)
		if err != nil {
			return nil, err
		}
		out = append(out, signIn{role: r, token: secret})
	}
	for i := range out {
		var err error
		if out[i].username, out[i].password, err = demoAccount(d.admin, d.db, d.tenant, out[i].role); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func nickname(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = append(out, r)
		case r >= 'A' && r <= 'Z':
			out = append(out, r+'a'-'A')
		}
	}
	return string(out)
}
