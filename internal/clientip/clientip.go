// Package clientip is the one reading of a request's client address that
// the API's rate limits and the admin center's sign-in limits share.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Key is the client's address as the limits see it: the TCP peer, or the
// last address of header (e.g. X-Forwarded-For) when a trusted reverse
// proxy sets it; header empty means the peer. An IPv6 client is keyed by
// its /64, which one subscriber usually holds whole. Whatever is not an
// address (a unix socket, a proxy's garbage) is kept short and printable,
// since it is logged and stored.
func Key(r *http.Request, header string) string {
	addr := r.RemoteAddr
	if header != "" {
		if vs := r.Header.Values(header); len(vs) > 0 {
			last := vs[len(vs)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if last = strings.TrimSpace(last); last != "" {
				addr = last
			}
		}
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		host = strings.Map(func(r rune) rune {
			if r < 0x21 || r > 0x7e {
				return '?'
			}
			return r
		}, host)
		return host[:min(len(host), 64)]
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
