package dynrule

import (
	"sort"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// kind is the type of a property.
type kind uint8

const (
	kString  kind = iota // one string; empty is null
	kBool                // true or false (dirSyncEnabled may be null)
	kDate                // a time; zero is null
	kStrings             // a collection of strings
	kPlans               // user.assignedPlans
)

var kindNames = [...]string{kString: "string", kBool: "bool", kDate: "date", kStrings: "strings", kPlans: "plans"}

// kindWords name a kind in error messages.
var kindWords = [...]string{kString: "a string", kBool: "a boolean", kDate: "a date", kStrings: "a string collection", kPlans: "a collection of plans"}

// source says where a property's value comes from.
type source uint8

const (
	srcUser source = iota // a user property: the getter of property
	srcItem               // _ inside -any/-all over a string collection
	srcPlan               // assignedPlan.<field> inside -any/-all over assignedPlans
)

// Fields of an assigned plan.
const (
	planServicePlanID uint8 = iota
	planCapabilityStatus
	planService
	planAssignedDateTime
)

// property is a name a rule may compare.
type property struct {
	name  string // as Microsoft spells it in rules, without "user."
	field string // the Graph user property it reads (Properties)
	kind  kind
	src   source
	plan  uint8 // with srcPlan: which field

	str   func(*allot.User) string
	strs  func(*allot.User) []string
	boolv func(*allot.User) (v, null bool)
	date  func(*allot.User) time.Time
}

// userProps are the user.<name> properties, by name in lower case (aliases
// included); propList is each once, in PropertyList's order.
var (
	userProps = map[string]*property{}
	propList  []*property
)

// Element properties of -any/-all.
var (
	itemProp  = &property{name: "_", kind: kString, src: srcItem}
	planProps = map[string]*property{
		"servicePlanId":    {name: "assignedPlan.servicePlanId", field: "assignedPlans", kind: kString, src: srcPlan, plan: planServicePlanID},
		"capabilityStatus": {name: "assignedPlan.capabilityStatus", field: "assignedPlans", kind: kString, src: srcPlan, plan: planCapabilityStatus},
		"service":          {name: "assignedPlan.service", field: "assignedPlans", kind: kString, src: srcPlan, plan: planService},
		"assignedDateTime": {name: "assignedPlan.assignedDateTime", field: "assignedPlans", kind: kDate, src: srcPlan, plan: planAssignedDateTime},
	}
	planPropsLower = map[string]*property{}
)

// profileGetters read Profile's text fields directly; a name of
// allot.ProfileTextNames missing here falls back to Profile.Text.
var profileGetters = map[string]func(*allot.User) string{
	"givenName":         func(u *allot.User) string { return u.Profile.GivenName },
	"surname":           func(u *allot.User) string { return u.Profile.Surname },
	"jobTitle":          func(u *allot.User) string { return u.Profile.JobTitle },
	"department":        func(u *allot.User) string { return u.Profile.Department },
	"companyName":       func(u *allot.User) string { return u.Profile.CompanyName },
	"employeeId":        func(u *allot.User) string { return u.Profile.EmployeeID },
	"employeeType":      func(u *allot.User) string { return u.Profile.EmployeeType },
	"streetAddress":     func(u *allot.User) string { return u.Profile.StreetAddress },
	"city":              func(u *allot.User) string { return u.Profile.City },
	"state":             func(u *allot.User) string { return u.Profile.State },
	"postalCode":        func(u *allot.User) string { return u.Profile.PostalCode },
	"country":           func(u *allot.User) string { return u.Profile.Country },
	"officeLocation":    func(u *allot.User) string { return u.Profile.OfficeLocation },
	"mobilePhone":       func(u *allot.User) string { return u.Profile.MobilePhone },
	"preferredLanguage": func(u *allot.User) string { return u.Profile.PreferredLanguage },
	"userType":          func(u *allot.User) string { return u.Profile.UserType },
	"externalUserState": func(u *allot.User) string { return u.Profile.ExternalUserState },
	"creationType":      func(u *allot.User) string { return u.Profile.CreationType },
}

// unsupportedProps are Microsoft's user rule properties Allot does not store.
var unsupportedProps = map[string]string{
	"facsimiletelephonenumber":     "facsimileTelephoneNumber",
	"mailnickname":                 "mailNickName",
	"onpremisesdistinguishedname":  "onPremisesDistinguishedName",
	"onpremisessecurityidentifier": "onPremisesSecurityIdentifier",
	"passwordpolicies":             "passwordPolicies",
	"sipproxyaddress":              "sipProxyAddress",
	"employeehiredate":             "employeeHireDate",
}

func addProp(p *property, aliases ...string) {
	if p.field == "" {
		p.field = p.name
	}
	userProps[strings.ToLower(p.name)] = p
	for _, a := range aliases {
		userProps[strings.ToLower(a)] = p
	}
	propList = append(propList, p)
}

func str(name string, get func(*allot.User) string) *property {
	return &property{name: name, kind: kString, str: get}
}

func strs(name string, get func(*allot.User) []string) *property {
	return &property{name: name, kind: kStrings, strs: get}
}

func init() {
	for k, p := range planProps {
		planPropsLower[strings.ToLower(k)] = p
	}
	addProp(str("userPrincipalName", func(u *allot.User) string { return u.UserPrincipalName }))
	addProp(str("displayName", func(u *allot.User) string { return u.DisplayName }))
	addProp(str("mail", func(u *allot.User) string { return u.Mail }))
	addProp(str("usageLocation", func(u *allot.User) string { return u.UsageLocation }))
	p := str("objectId", func(u *allot.User) string { return u.ID })
	p.field = "id"
	addProp(p)
	for _, name := range allot.ProfileTextNames() {
		get := profileGetters[name]
		if get == nil {
			name := name
			get = func(u *allot.User) string {
				if v := u.Profile.Text(name); v != nil {
					return *v
				}
				return ""
			}
		}
		addProp(str(name, get))
	}
	p = str("physicalDeliveryOfficeName", profileGetters["officeLocation"])
	p.field = "officeLocation"
	addProp(p)
	p = str("mobile", profileGetters["mobilePhone"])
	p.field = "mobilePhone"
	addProp(p)
	p = str("telephoneNumber", func(u *allot.User) string {
		if len(u.Profile.BusinessPhones) > 0 {
			return u.Profile.BusinessPhones[0]
		}
		return ""
	})
	p.field = allot.FieldBusinessPhones
	addProp(p)
	for i := range allot.NumExtensionFields {
		name := allot.ExtensionName(i)
		addProp(str(name, func(u *allot.User) string { return u.Profile.ExtensionAttributes[i] }),
			"onPremisesExtensionAttributes."+name)
	}
	addProp(&property{name: "accountEnabled", kind: kBool, boolv: func(u *allot.User) (bool, bool) { return u.AccountEnabled, false }})
	addProp(&property{name: "dirSyncEnabled", field: allot.FieldOnPremisesSyncEnabled, kind: kBool, boolv: func(u *allot.User) (bool, bool) {
		if s := u.Profile.OnPremisesSyncEnabled; s != nil {
			return *s, false
		}
		return false, true
	}})
	addProp(&property{name: "createdDateTime", kind: kDate, date: func(u *allot.User) time.Time { return u.CreatedAt }})
	addProp(strs("proxyAddresses", func(u *allot.User) []string { return u.ProxyAddresses }))
	addProp(strs("otherMails", func(u *allot.User) []string { return u.Profile.OtherMails }))
	addProp(strs("businessPhones", func(u *allot.User) []string { return u.Profile.BusinessPhones }))
	addProp(&property{name: "assignedPlans", kind: kPlans})
	sort.SliceStable(propList, func(i, j int) bool {
		return strings.ToLower(propList[i].name) < strings.ToLower(propList[j].name)
	})
}

// Operators by kind, in the order PropertyList gives them.
var (
	stringOps  = []string{"-eq", "-ne", "-startsWith", "-notStartsWith", "-endsWith", "-notEndsWith", "-contains", "-notContains", "-match", "-notMatch", "-in", "-notIn"}
	boolOps    = []string{"-eq", "-ne"}
	dateOps    = []string{"-eq", "-ne", "-le", "-ge"}
	quantOps   = []string{"-any", "-all"}
	stringsOps = append(append([]string{}, stringOps...), quantOps...)
)

func opsOf(k kind) []string {
	switch k {
	case kBool:
		return boolOps
	case kDate:
		return dateOps
	case kStrings:
		return stringsOps
	case kPlans:
		return quantOps
	}
	return stringOps
}

// PropertyInfo describes a user property rules may use.
type PropertyInfo struct {
	Name      string   // as written after "user.", e.g. "department"
	Kind      string   // "string", "bool", "date", "strings" or "plans"
	Operators []string // the operators it takes, e.g. "-eq"
}

// PropertyList returns the user properties rules may use, sorted by name.
// Collections ("strings", "plans") also take -any and -all.
func PropertyList() []PropertyInfo {
	out := make([]PropertyInfo, len(propList))
	for i, p := range propList {
		out[i] = PropertyInfo{Name: p.name, Kind: kindNames[p.kind], Operators: append([]string(nil), opsOf(p.kind)...)}
	}
	return out
}

// suggest returns the property name closest to name, or "".
func suggest(name string) string {
	if len(name) > 48 {
		return ""
	}
	low := strings.ToLower(name)
	best, bestD := "", 3
	for _, p := range propList {
		if d := distance(low, strings.ToLower(p.name)); d < bestD {
			best, bestD = p.name, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
