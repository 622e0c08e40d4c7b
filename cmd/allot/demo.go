package main

import (
	"context"
	"fmt"

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
	admin := allot.NewContextWithActor(ctx, allot.Actor{TenantID: t.ID, Role: allot.RoleGlobalAdministrator, Name: "demo setup"})
	for sku, seats := range map[string]int{demoE3: 95, demoE1: 40, demoE5: 10, demoExoP1: 20, demoKiosk: 30, demoAudio: 40, demoCalling: 25, demoTeamsFon: 10} {
		if _, err := db.AddSubscription(admin, sku, seats); err != nil {
			return nil, err
		}
	}
	group := func(name string, types []string, mail bool) (string, error) {
		g, err := db.CreateGroup(admin, allot.GroupCreate{DisplayName: name, MailNickname: nickname(name), GroupTypes: types, MailEnabled: mail, SecurityEnabled: true})
		if err != nil {
			return "", err
		}
		return g.ID, nil
	}
	groups := map[string]string{}
	for _, g := range []struct {
		name  string
		types []string
		mail  bool
	}{
		{"All Staff", nil, false}, {"Sales", nil, true}, {"Regional Sales", nil, false},
		{"Engineering", []string{"Unified"}, true}, {"Frontline Workers", nil, false}, {"Call Center", nil, false},
	} {
		if groups[g.name], err = group(g.name, g.types, g.mail); err != nil {
			return nil, err
		}
	}
	if err := db.AddMember(admin, groups["Sales"], groups["Regional Sales"]); err != nil {
		return nil, err
	}
	var users []string
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
		u, err := db.CreateUser(admin, allot.UserCreate{UserPrincipalName: upn, DisplayName: name, UsageLocation: loc, ProxyAddresses: proxy, AccountEnabled: true})
		if err != nil {
			return nil, err
		}
		users = append(users, u.ID)
	}
	member := func(group string, from, to int) error {
		for _, u := range users[from:to] {
			if err := db.AddMember(admin, groups[group], u); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range []struct {
		group    string
		from, to int
	}{{"All Staff", 0, 120}, {"Sales", 100, 130}, {"Regional Sales", 130, 140}, {"Engineering", 140, 170}, {"Frontline Workers", 170, 200}, {"Call Center", 160, 185}} {
		if err := member(m.group, m.from, m.to); err != nil {
			return nil, err
		}
	}
	// Direct licenses: user 150 holds a mailbox with the shared address;
	// a few frontline workers have Exchange Kiosk, which conflicts with E1's
	// Exchange Plan 1.
	direct := func(u, sku string) error {
		_, err := db.AssignUserLicense(admin, u, []allot.AssignedLicense{{SkuID: sku, DisabledPlans: []string{}}}, []string{})
		return err
	}
	if err := direct(users[150], demoExoP1); err != nil {
		return nil, err
	}
	for _, i := range []int{171, 172, 173, 174, 176} {
		if err := direct(users[i], demoKiosk); err != nil {
			return nil, err
		}
	}
	for _, a := range []struct{ group, sku string }{
		{"All Staff", demoE3}, {"Engineering", demoE5}, {"Frontline Workers", demoE1}, {"Call Center", demoAudio}, {"Call Center", demoCalling}, {"Sales", demoExoP1},
	} {
		if _, err := db.AssignGroupLicense(admin, groups[a.group], []allot.AssignedLicense{{SkuID: a.sku, DisabledPlans: []string{}}}, []string{}); err != nil {
			return nil, err
		}
	}
	var out []signIn
	for _, r := range allot.Roles {
		secret, _, err := db.CreateToken(operator, t.ID, r, "demo "+string(r), 0)
		if err != nil {
			return nil, err
		}
		out = append(out, signIn{role: r, token: secret})
	}
	for i := range out {
		if out[i].username, out[i].password, err = demoAccount(admin, db, t.ID, out[i].role); err != nil {
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
