package alerts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/allot-dev/allot"
)

// ErrDestinationRefused is the error of a delivery whose receiver's
// address is one deliveries may not go to (CheckAddr).
var ErrDestinationRefused = errors.New("destination address not allowed")

// Address classes of CheckAddr. The empty class is a public unicast address.
const (
	classLoopback    = "a loopback address"
	classPrivate     = "a private address"
	classLinkLocal   = "a link-local address"
	classShared      = "a carrier-grade NAT address (100.64.0.0/10)"
	classReserved    = "a reserved address"
	classUnspecified = "an unspecified address"
	classMulticast   = "a multicast or broadcast address"
	classMetadata    = "a cloud metadata address"
)

// metadataAddrs are cloud instance metadata and agent endpoints. Most are
// link-local or private anyway; listing them keeps them refused when the
// operator allows private destinations.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, Azure, GCP, OpenStack, Oracle… IMDS
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata and credentials
	netip.MustParseAddr("169.254.170.23"):  true, // AWS EKS Pod Identity agent
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS IMDS over IPv6
	netip.MustParseAddr("fd00:ec2::23"):    true, // AWS EKS Pod Identity agent over IPv6
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud metadata
	netip.MustParseAddr("168.63.129.16"):   true, // Azure WireServer (a public address)
	netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud metadata
}

var v4Classes = []struct {
	p     netip.Prefix
	class string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), classUnspecified}, // "this network": 0.0.0.0 dials the host itself
	{netip.MustParsePrefix("127.0.0.0/8"), classLoopback},
	{netip.MustParsePrefix("10.0.0.0/8"), classPrivate},
	{netip.MustParsePrefix("172.16.0.0/12"), classPrivate},
	{netip.MustParsePrefix("192.168.0.0/16"), classPrivate},
	{netip.MustParsePrefix("169.254.0.0/16"), classLinkLocal},
	{netip.MustParsePrefix("100.64.0.0/10"), classShared},
	{netip.MustParsePrefix("192.0.0.0/24"), classReserved},  // IETF protocol assignments
	{netip.MustParsePrefix("192.0.2.0/24"), classReserved},  // documentation
	{netip.MustParsePrefix("198.18.0.0/15"), classReserved}, // benchmarking
	{netip.MustParsePrefix("198.51.100.0/24"), classReserved},
	{netip.MustParsePrefix("203.0.113.0/24"), classReserved},
	{netip.MustParsePrefix("224.0.0.0/4"), classMulticast},
	{netip.MustParsePrefix("255.255.255.255/32"), classMulticast}, // broadcast; before 240/4
	{netip.MustParsePrefix("240.0.0.0/4"), classReserved},
}

var v6Classes = []struct {
	p     netip.Prefix
	class string
}{
	{netip.MustParsePrefix("::/128"), classUnspecified},
	{netip.MustParsePrefix("::1/128"), classLoopback},
	{netip.MustParsePrefix("::/96"), classReserved},         // IPv4-compatible, deprecated
	{netip.MustParsePrefix("64:ff9b:1::/48"), classPrivate}, // local-use NAT64 (RFC 8215)
	{netip.MustParsePrefix("100::/64"), classReserved},      // discard-only
	{netip.MustParsePrefix("2001:db8::/32"), classReserved}, // documentation
	{netip.MustParsePrefix("fc00::/7"), classPrivate},       // unique local (RFC 4193)
	{netip.MustParsePrefix("fe80::/10"), classLinkLocal},
	{netip.MustParsePrefix("fec0::/10"), classPrivate}, // site-local, deprecated
	{netip.MustParsePrefix("ff00::/8"), classMulticast},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the IPv4 address in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: the IPv4 address in bits 16–47
)

// addrClass is the class of ip; "" for a public unicast address. IPv6
// forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) have the
// class of that IPv4 address.
func addrClass(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	if metadataAddrs[ip] {
		return classMetadata
	}
	if ip.Is4() {
		for _, c := range v4Classes {
			if c.p.Contains(ip) {
				return c.class
			}
		}
		return ""
	}
	if !ip.IsValid() {
		return classReserved
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return addrClass(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return addrClass(netip.AddrFrom4([4]byte(b[2:6])))
	}
	for _, c := range v6Classes {
		if c.p.Contains(ip) {
			return c.class
		}
	}
	return ""
}

// CheckAddr tells whether a delivery may connect to ip: nil if it may, an
// error wrapping ErrDestinationRefused if not. Public unicast addresses
// are allowed. Loopback, private (RFC 1918, RFC 4193), link-local,
// carrier-grade NAT and reserved addresses are allowed only with
// allowPrivate. Unspecified, multicast and broadcast addresses and the
// cloud metadata endpoints (169.254.169.254, fd00:ec2::254, …) never are.
// IPv4-mapped IPv6 addresses count as their IPv4 address.
func CheckAddr(ip netip.Addr, allowPrivate bool) error {
	switch class := addrClass(ip); class {
	case "":
		return nil
	case classLoopback, classPrivate, classLinkLocal, classShared, classReserved:
		if allowPrivate {
			return nil
		}
		fallthrough
	default:
		return fmt.Errorf("%w: %s is %s", ErrDestinationRefused, ip, class)
	}
}

// checkLiteralHost refuses a URL host that is an IP address deliveries may
// never go to, whatever the operator allows. Host names, and the addresses
// only the operator's option allows, are checked when delivering.
func checkLiteralHost(host string) error {
	ip, err := netip.ParseAddr(host)
	if err != nil || CheckAddr(ip, true) == nil {
		return nil
	}
	return allot.Errorf(allot.EINVALID, "The webhook url's host %s is %s; webhooks are never sent there.", host, addrClass(ip))
}

// controlDial is a net.Dialer's Control: it runs after name resolution,
// for every address dialed (each one a name resolves to, and any
// redirect's), with the address about to be connected to.
func controlDial(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot tell the address of %q", ErrDestinationRefused, address)
		}
		return CheckAddr(ap.Addr(), allowPrivate)
	}
}

// newClient is the dispatcher's default client: it refuses, as it dials,
// the addresses CheckAddr refuses, never uses a proxy (which would dial
// for it), and does not follow redirects (a redirect would send the signed
// event to a URL the admin did not give).
func newClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: controlDial(allowPrivate)}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		// A literal address is refused before a socket is made; the
		// Control hook checks every address, resolved ones included.
		if host, _, err := net.SplitHostPort(address); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil {
				if err := CheckAddr(ip, allowPrivate); err != nil {
					return nil, &net.OpError{Op: "dial", Net: network, Err: err}
				}
			}
		}
		return dialer.DialContext(ctx, network, address)
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Errors stored with a failed attempt. The detail (addresses, ports, the
// resolver's answer) goes to the server's log only, so that the deliveries
// listing cannot be used to map the server's network.
const (
	errRefused = "connection refused by policy: destination address not allowed"
	errConnect = "could not connect to the receiver"
	errTimeout = "timed out waiting for the receiver"
	errTLS     = "TLS handshake with the receiver failed"
	errURL     = "the webhook url is not valid"
)

// publicError is what a failed attempt stores instead of err.
func publicError(err error, tlsFailed bool) string {
	var ne net.Error
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var ue *url.Error
	switch {
	case errors.As(err, &ue) && ue.Op == "parse":
		return errURL
	case errors.Is(err, ErrDestinationRefused):
		return errRefused
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case tlsFailed || errors.As(err, &certErr) || errors.As(err, &recErr):
		return errTLS
	}
	return errConnect
}
