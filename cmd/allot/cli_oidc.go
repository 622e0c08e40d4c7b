package main

// allot sso: a tenant's sign-in through its organisation's identity
// provider (docs/SSO.md), set on the database by the operator like
// allot account, and the key its client secret is sealed with.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

// mappingFlags collects --map VALUE=ROLE in the order given: the first
// mapping a person matches gives the role.
type mappingFlags []allot.OIDCRoleMapping

func (m *mappingFlags) String() string { return fmt.Sprint(len(*m)) }

func (m *mappingFlags) Set(v string) error {
	value, role, ok := strings.Cut(v, "=")
	if !ok || value == "" || role == "" {
		return errors.New("want VALUE=ROLE, e.g. allot-admins=GlobalAdministrator")
	}
	*m = append(*m, allot.OIDCRoleMapping{Value: value, Role: allot.Role(role)})
	return nil
}

// readSSOKey reads the key client secrets are sealed with: the first line
// of the file, 32 bytes in base64 (openssl rand -base64 32) or hex. No file
// means no single sign-on.
func readSSOKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	line, err := firstLine(path)
	if err != nil {
		return nil, fmt.Errorf("--sso-key-file: %w", err)
	}
	for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString, hex.DecodeString} {
		if k, err := dec(line); err == nil && len(k) == 32 {
			return k, nil
		}
	}
	return nil, fmt.Errorf("--sso-key-file: %s does not hold a 32-byte key in base64 or hex (make one with: openssl rand -base64 32)", path)
}

func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// openSSO is the single sign-on service of allot serve, or nil (off)
// without a key.
func openSSO(db *store.DB, keyFile, publicURL string) (allot.OIDCService, error) {
	key, err := readSSOKey(keyFile)
	if err != nil || key == nil {
		return nil, err
	}
	o, err := db.OIDC(store.OIDCOptions{Key: key, PublicURL: publicURL})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// cmdSSO: allot sso set|show|remove --tenant ID.
func cmdSSO(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage())
		return exitError(2)
	}
	sub := args[0]
	if sub != "set" && sub != "show" && sub != "remove" {
		fmt.Fprint(stdout, usage())
		return exitError(2)
	}
	var tenant, keyFile, publicURL, issuer, clientID, secretFile, claim, scopes *string
	var maps mappingFlags
	db, err := openDB(ctx, args[1:], "sso "+sub, func(fs *flagSet) {
		tenant = fs.String("tenant", "", "tenant id")
		keyFile = fs.String("sso-key-file", env("ALLOT_SSO_KEY_FILE", ""), "file holding the key client secrets are sealed with, as allot serve's")
		publicURL = fs.String("public-url", env("ALLOT_PUBLIC_URL", ""), "the server's public URL, to print the redirect URI to register")
		if sub == "set" {
			issuer = fs.String("issuer", "", "the provider's issuer URL, e.g. https://login.microsoftonline.com/TENANT/v2.0")
			clientID = fs.String("client-id", "", "the application (client) id registered at the provider")
			secretFile = fs.String("client-secret-file", "", "file whose first line is the client secret (omitted: keep the stored one, or none)")
			claim = fs.String("claim", "groups", "the ID token claim holding groups or roles")
			scopes = fs.String("scopes", "", "scopes to ask for besides openid profile email, comma-separated (Okta: groups)")
			fs.Var(&maps, "map", "VALUE=ROLE: give ROLE to whoever's claim holds VALUE; repeat, first match wins")
		}
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if *tenant == "" {
		return usagef("sso %s needs --tenant", sub)
	}
	key, err := readSSOKey(*keyFile)
	if err != nil {
		return err
	}
	base, err := publicBase(*publicURL)
	if err != nil {
		return err
	}
	svc, err := db.OIDC(store.OIDCOptions{Key: key, PublicURL: base})
	if err != nil {
		return err
	}
	op := allot.NewContextWithActor(ctx, allot.Actor{Operator: true, Name: "operator"})
	switch sub {
	case "remove":
		if err := svc.RemoveOIDCConfig(op, *tenant); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "single sign-on removed for tenant %s\n", *tenant)
		return nil
	case "show":
		c, err := svc.OIDCConfig(op, *tenant)
		if err != nil {
			return err
		}
		printSSO(stdout, c)
		return nil
	}
	c := allot.OIDCConfig{TenantID: *tenant, Issuer: *issuer, ClientID: *clientID, RoleClaim: *claim, RoleMappings: maps}
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Scopes = append(c.Scopes, s)
		}
	}
	if *secretFile != "" {
		if c.ClientSecret, err = firstLine(*secretFile); err != nil {
			return fmt.Errorf("--client-secret-file: %w", err)
		}
		if c.ClientSecret == "" {
			return fmt.Errorf("--client-secret-file: %s is empty", *secretFile)
		}
	}
	out, err := svc.SetOIDCConfig(op, c)
	if err != nil {
		return err
	}
	printSSO(stdout, out)
	return nil
}

// printSSO shows a configuration, never its secret.
func printSSO(w io.Writer, c *allot.OIDCConfig) {
	secret := "none"
	if c.HasClientSecret {
		secret = "set (encrypted)"
	}
	redirect, link := c.RedirectURL, c.RedirectURL+"?sso="+c.TenantID
	if redirect == "" {
		redirect = "<public URL>" + allot.OIDCCallbackPath + " (give --public-url to print it)"
		link = "<public URL>" + allot.OIDCCallbackPath + "?sso=" + c.TenantID
	}
	fmt.Fprintf(w, "tenant        %s\nissuer        %s\nclient id     %s\nclient secret %s\nscopes        %s\nrole claim    %s\nredirect URI  %s\nsign-in link  %s\n",
		c.TenantID, c.Issuer, c.ClientID, secret, strings.Join(append([]string{"openid", "profile", "email"}, c.Scopes...), " "),
		c.RoleClaim, redirect, link)
	for i, m := range c.RoleMappings {
		fmt.Fprintf(w, "mapping %d     %s -> %s\n", i+1, m.Value, m.Role)
	}
}
