# lib.awk: address arithmetic shared by the fakes; lab_awk (lib.sh) prepends it to programs.
#
# Addresses are handled as "keys": fixed-width lowercase hex strings (8 digits for inet, 32 for
# inet6), so prefix tests and sorting are string operations. Debian's busybox awk has no `^`
# operator (no math support) and a 32-bit printf %d, hence the loops and string building.

function hexd(c) { return index("0123456789abcdef", c) - 1 }

function pow2(n,    v) { v = 1; while (n-- > 0) v *= 2; return v }

function ip4n(a,    p, n, i, v) {
	if (a !~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) return -1
	n = split(a, p, ".")
	v = 0
	for (i = 1; i <= 4; i++) {
		if (p[i] + 0 > 255) return -1
		v = v * 256 + p[i]
	}
	return v
}

function n2ip4(v,    o, i) {
	o = ""
	for (i = 0; i < 4; i++) {
		o = (i ? (v % 256) "." o : (v % 256) "")
		v = int(v / 256)
	}
	return o
}

function pad4(g) {
	if (g !~ /^[0-9a-f]+$/ || length(g) > 4) return "x"
	while (length(g) < 4) g = "0" g
	return g
}

# v6x: inet6 text (with or without %scope) -> 32-digit key, "" when invalid.
function v6x(a,    i, l, r, nl, nr, L, R, out) {
	sub(/%.*/, "", a)
	a = tolower(a)
	if (a ~ /:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) {	# embedded IPv4, as in ::ffff:0.0.0.0
		l = a; sub(/.*:/, "", l)
		if ((r = akey("inet", l)) == "") return ""
		a = substr(a, 1, length(a) - length(l)) substr(r, 1, 4) ":" substr(r, 5, 4)
	}
	if (a !~ /^[0-9a-f:]+$/ || a !~ /:/) return ""
	out = ""
	if (index(a, "::")) {
		l = substr(a, 1, index(a, "::") - 1)
		r = substr(a, index(a, "::") + 2)
		if (index(r, "::")) return ""
		nl = (l == "") ? 0 : split(l, L, ":")
		nr = (r == "") ? 0 : split(r, R, ":")
		if (nl + nr > 7) return ""
		for (i = 1; i <= nl; i++) out = out pad4(L[i])
		for (i = nl + nr; i < 8; i++) out = out "0000"
		for (i = 1; i <= nr; i++) out = out pad4(R[i])
	} else {
		if (split(a, L, ":") != 8) return ""
		for (i = 1; i <= 8; i++) out = out pad4(L[i])
	}
	return (out ~ /x/ || length(out) != 32) ? "" : out
}

# x2v6: key -> RFC 5952 text (longest run of zero groups, at least two, becomes "::";
# IPv4-mapped addresses end in dotted quad).
function x2v6(x,    i, g, best, bl, cur, cl, out) {
	if (substr(x, 1, 24) == "00000000000000000000ffff")
		return "::ffff:" kaddr("inet", substr(x, 25))
	for (i = 0; i < 8; i++) {
		g[i] = substr(x, i * 4 + 1, 4)
		sub(/^0+/, "", g[i])
		if (g[i] == "") g[i] = "0"
	}
	best = -1; bl = 1; cl = 0
	for (i = 0; i < 8; i++) {
		if (g[i] != "0") { cl = 0; continue }
		if (cl++ == 0) cur = i
		if (cl > bl) { bl = cl; best = cur }
	}
	out = ""
	for (i = 0; i < 8; i++) {
		if (i == best) { out = out "::"; i += bl - 1; continue }
		out = out ((out == "" || out ~ /:$/) ? "" : ":") g[i]
	}
	return out
}

function hostlen(fam) { return fam == "inet6" ? 128 : 32 }

# akey: address -> key ("" when invalid); kaddr: key -> canonical text.
function akey(fam, a,    v, s, i) {
	if (fam == "inet6") return v6x(a)
	v = ip4n(a)
	if (v < 0) return ""
	s = ""
	for (i = 0; i < 8; i++) { s = substr("0123456789abcdef", v % 16 + 1, 1) s; v = int(v / 16) }
	return s
}

function kaddr(fam, k,    v, i) {
	if (fam == "inet6") return x2v6(k)
	v = 0
	for (i = 1; i <= 8; i++) v = v * 16 + hexd(substr(k, i, 1))
	return n2ip4(v)
}

function canon(fam, a,    k) { k = akey(fam, a); return k == "" ? "" : kaddr(fam, k) }

# keynet: the key with every bit after plen cleared; keybcast: ... set.
function keynet(k, plen)   { return keyfill(k, plen, "0") }
function keybcast(k, plen) { return keyfill(k, plen, "f") }
function keyfill(k, plen, fill,    n, r, d, v, out, i) {
	n = int(plen / 4); r = plen % 4
	out = substr(k, 1, n)
	if (r && n < length(k)) {
		d = pow2(4 - r)
		v = int(hexd(substr(k, n + 1, 1)) / d) * d
		if (fill == "f") v += d - 1
		out = out substr("0123456789abcdef", v + 1, 1)
		n++
	}
	for (i = n; i < length(k); i++) out = out fill
	return out
}

function keyin(k, net, plen) { return k != "" && keynet(k, plen) == keynet(net, plen) }

function innet(fam, a, net, plen) { return keyin(akey(fam, a), akey(fam, net), plen) }

function netof(fam, a, plen) { return kaddr(fam, keynet(akey(fam, a), plen)) }

function bcastof(a, plen) { return kaddr("inet", keybcast(akey("inet", a), plen)) }

function bin4(d) { return (d >= 8 ? "1" : "0") (d % 8 >= 4 ? "1" : "0") (d % 4 >= 2 ? "1" : "0") (d % 2) }

# mask2plen: dotted or 0x-hex netmask -> prefix length, -1 when not a contiguous mask.
function mask2plen(m,    k, i, bits, b) {
	m = tolower(m)
	if (m ~ /^0x[0-9a-f]+$/) {
		k = substr(m, 3)
		while (length(k) < 8) k = "0" k
		if (length(k) > 8) return -1
	} else if ((k = akey("inet", m)) == "") return -1
	bits = ""
	for (i = 1; i <= 8; i++) bits = bits bin4(hexd(substr(k, i, 1)))
	if (bits !~ /^1*0*$/) return -1
	b = bits
	gsub(/0/, "", b)
	return length(b)
}

function maskkey(plen, width,    s, i, n) {
	s = ""
	for (i = 0; i < width; i++) {
		n = plen - i * 4
		s = s substr("08cef", (n < 0 ? 0 : (n > 4 ? 4 : n)) + 1, 1)
	}
	return s
}

function plen2mask(plen) { return kaddr("inet", maskkey(plen, 8)) }
function plen2hex(plen)  { return "0x" maskkey(plen, 8) }
function plen2mask6(plen) { return x2v6(maskkey(plen, 32)) }

# classful: the netmask an inet address gets when none is given.
function classful(a,    o) {
	o = a + 0
	return o < 128 ? 8 : (o < 192 ? 16 : 24)
}

# v4short: OpenBSD/NetBSD netstat network names: one octet per started byte of the mask.
function v4short(a, plen,    p, n, i, s) {
	split(a, p, ".")
	n = int((plen + 7) / 8)
	if (n < 1) n = 1
	s = p[1]
	for (i = 2; i <= n; i++) s = s "." p[i]
	return s
}

function famof(a) { return a ~ /:/ ? "inet6" : "inet" }
