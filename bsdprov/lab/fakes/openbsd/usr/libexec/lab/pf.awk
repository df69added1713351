# pf.awk: the lab's pf.conf(5) checker and normaliser, run by pfctl through lab_awk.
#
# Variables: file (host path of the ruleset; "-" is stdin), root (LAB_ROOT), target (the anchor
# the file is loaded into, "" for the main ruleset), loadanchors (1: also parse the files of
# `load anchor` lines), defines ("name=value" lines from -D), ifdir, ifnames, egress.
# Output, one record per line, tab-separated:
#   E msg          an error for stderr (FILE:LINE: message)
#   A path         an anchor that exists once this is loaded
#   L path         a ruleset this load replaces (even when it ends up empty)
#   R path rule    a rule of that ruleset, normalised as `pfctl -sr` prints it
# where path "." is the main ruleset.
# It accepts the grammar bsdprov generates and rejects, as pfctl does, unknown keywords,
# unbalanced braces and parentheses, undefined macros, bad ports and protocols, interface
# addresses that do not exist yet, and a `load anchor` with no `anchor` rule before it.

BEGIN {
	split("ftp-data 20 ftp 21 ssh 22 telnet 23 smtp 25 domain 53 bootps 67 bootpc 68 tftp 69 " \
		"www 80 http 80 kerberos 88 pop3 110 sunrpc 111 auth 113 ntp 123 imap 143 snmp 161 " \
		"snmptrap 162 bgp 179 ldap 389 https 443 smtps 465 isakmp 500 syslog 514 submission 587 " \
		"ldaps 636 imaps 993 pop3s 995 openvpn 1194 nfsd 2049 mysql 3306 rdp 3389 ipsec-nat-t 4500 " \
		"postgresql 5432 x11 6000", sv, " ")
	for (i = 1; i in sv; i += 2) SERV[sv[i]] = sv[i + 1]
	split("ip icmp igmp ggp ipencap tcp egp pup udp ipv6 rsvp gre esp ah icmp6 ipv6-icmp ospf " \
		"pim ipcomp vrrp carp sctp pfsync etherip l2tp mobile", pv, " ")
	for (i = 1; i in pv; i++) PROTO[pv[i]] = 1
	split("echorep unreach squench redir althost echoreq routeradv routersol timex paramprob " \
		"timereq timerep inforeq inforep maskreq maskrep trace dataconv mobredir ipv6-where " \
		"ipv6-here mobregreq mobregrep skip photuris toobig groupqry listqry grouprep listenrep " \
		"groupterm listendone neighbrsol neighbradv routrrenum wrureq wrurep fqdnreq fqdnrep " \
		"niqry nirep mtraceresp mtrace", iv, " ")
	for (i = 1; i in iv; i++) ICMPT[iv[i]] = 1
	split("all allow-opts altq anchor antispoof any bitmask block code const counters divert-packet " \
		"divert-reply divert-to drop dup-to file flags for fragment from group icmp-type icmp6-type " \
		"in include inet inet6 keep label least-states limit load log match max-pkt-rate modulate " \
		"nat-to no no-route on once os out pass persist port prio probability proto quick random " \
		"rdomain rdr-to received-on reply-to return return-icmp return-icmp6 return-rst " \
		"round-robin route-to rtable scrub self set skip source-hash state static-port " \
		"sticky-address synproxy table tag tagged to tos urpf-failed user af-to binat-to " \
		"queue once", kv, " ")
	for (i = 1; i in kv; i++) KEYWORD[kv[i]] = 1
	split("skip block-policy loginterface optimization limit timeout ruleset-optimization " \
		"reassemble debug hostid state-policy state-defaults fingerprints syncookies", ov, " ")
	for (i = 1; i in ov; i++) SETOPT[ov[i]] = 1
	loadifs()
	nerr = 0
	parsefile(file, target, defines)
	for (li = 1; li <= nload; li++) {
		if (nerr) break
		parsefile(LOADF[li], LOADP[li], defines)
	}
	exit nerr > 0
}

function out(s) { print s }
function P(path) { return path == "" ? "." : path }
function rd(f, real) { if (f == "-") return getline RL; return (getline RL < real) }
function err(f, ln, msg) { out("E\t" f ":" ln ": " msg); nerr++; stmterr = 1 }

# Interfaces, their first address and groups (type, egress, `group` lines) from the state.
function loadifs(    n, names, i, f, l, a) {
	n = split(ifnames, names, " ")
	for (i = 1; i <= n; i++) {
		IFX[names[i]] = 1
		f = ifdir "/" names[i]
		while ((getline l < f) > 0) {
			split(l, a, " ")
			if ((a[1] == "inet" || a[1] == "inet6") && !(names[i] in FIRST)) FIRST[names[i]] = a[2] " " a[3]
			if (a[1] == "type") GROUPS[a[2] == "loop" ? "lo" : a[2]] = GROUPS[a[2] == "loop" ? "lo" : a[2]] " " names[i]
			if (a[1] == "group") GROUPS[a[2]] = GROUPS[a[2]] " " names[i]
		}
		close(f)
	}
	n = split(egress, names, " ")
	for (i = 1; i <= n; i++) GROUPS["egress"] = GROUPS["egress"] " " names[i]
}

# parsefile FILE PATH DEFINES: lex FILE into statements and parse them into ruleset PATH.
function parsefile(f, path, defs,    n, d, i) {
	delete MAC
	n = split(defs, d, "\n")
	for (i = 1; i <= n; i++) if (index(d[i], "=")) MAC[substr(d[i], 1, index(d[i], "=") - 1)] = substr(d[i], index(d[i], "=") + 1)
	if (!readable(f)) {
		out("E\tpfctl: " f ": No such file or directory"); nerr++
		return
	}
	CUR = path
	out("L\t" P(path))
	delete DECL
	ctxn = 0
	reset()
	readfile(f)
	if (ctxn > 0) err(FNAME, LASTLN, "syntax error")
}

function readable(f,    l, r) {
	if (f == "-") return 1
	r = (getline l < realpath(f))
	close(realpath(f))
	return r >= 0
}
function realpath(f) { return (f == "-") ? "-" : ((f ~ /^\//) ? root f : f) }

# readfile FILE: the statements of FILE, into the current ruleset; `include` nests here, with
# the macros and anchors seen so far, as pfctl's pushfile does.
function readfile(f,    real, l, ln, line, cont, i, depth, outer) {
	real = realpath(f)
	outer = FNAME
	FNAME = (f == "-") ? "stdin" : f
	depth = 0; ln = 0; line = ""; cont = 0
	while (rd(f, real) > 0) {
		l = RL
		ln++
		if (!cont) { line = ""; sl = ln }
		if (l ~ /\\$/) { line = line substr(l, 1, length(l) - 1); cont = 1; continue }
		line = line l; cont = 0
		if (ctxn == 0 && depth == 0 && tn == 0 && macrodef(line, sl)) continue
		if (!lexline(expand(line, sl), sl)) { reset(); depth = 0; continue }
		if (tn == 0) continue
		depth = 0
		for (i = 1; i <= tn; i++) depth += (T[i] == "{" || T[i] == "(") - (T[i] == "}" || T[i] == ")")
		if (depth > 0 && !(T[1] == "anchor" && T[tn] == "{" && depth == 1)) continue
		statement()
		reset(); depth = 0
	}
	if (f != "-") close(real)
	if (tn > 0) { err(FNAME, ln, "syntax error"); reset() }
	LASTLN = ln
	FNAME = outer
}

# p_include: `include "FILE"`, read in place (a missing file is an error of the including line).
function p_include(    f, at) {
	if (!(tn == 2 && TQ[2])) return bad()
	f = T[2]; at = TL[2]
	if (++incdepth > 10 || !readable(f)) {
		if (incdepth <= 10) out("E\tpfctl: " f ": No such file or directory")
		err(FNAME, at, "failed to include file " f)
		incdepth--
		return 0
	}
	reset()
	readfile(f)
	incdepth--
	return 1
}

# macrodef LINE LN: NAME = value at top level; true when LINE was one.
function macrodef(s, ln,    name, v) {
	if (!match(s, /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*=/)) return 0
	name = substr(s, RSTART, RLENGTH - 1); gsub(/[ \t]/, "", name)
	v = substr(s, RLENGTH + 1)
	if (name in KEYWORD) { err(FNAME, ln, "syntax error"); return 1 }
	if (!lexline(expand(v, ln), ln)) { reset(); return 1 }
	if (tn == 0) { err(FNAME, ln, "syntax error"); return 1 }
	MAC[name] = ""
	for (i = 1; i <= tn; i++) MAC[name] = MAC[name] (i > 1 ? " " : "") T[i]
	reset()
	return 1
}

# expand S LN: S with the macros outside quotes replaced by their values.
function expand(s, ln,    o, c, q, m, name, guard) {
	o = ""; q = 0; guard = 0
	while (s != "") {
		c = substr(s, 1, 1)
		if (c == "\"") q = !q
		if (c == "#" && !q) { o = o s; break }
		if (c == "$" && !q && match(substr(s, 2), /^[A-Za-z0-9_]+/)) {
			name = substr(s, 2, RLENGTH)
			if (!(name in MAC)) { err(FNAME, ln, "macro '" name "' not defined"); err(FNAME, ln, "syntax error"); return "\001" }
			if (++guard > 100) return "\001"
			s = MAC[name] substr(s, RLENGTH + 2)
			continue
		}
		o = o c; s = substr(s, 2)
	}
	return o
}

# lexline S LN: append S's tokens to T (text), TQ (was quoted), TL (line). False on error.
function lexline(s, ln,    c, two, j) {
	if (s == "\001") return 0
	while (s != "") {
		c = substr(s, 1, 1)
		if (c == " " || c == "\t") { s = substr(s, 2); continue }
		if (c == "#") break
		if (c == "\"") {
			j = index(substr(s, 2), "\"")
			if (!j) { err(FNAME, ln, "syntax error"); return 0 }
			tok(substr(s, 2, j - 1), ln, 1); s = substr(s, j + 2); continue
		}
		two = substr(s, 1, 2)
		if (two == "!=" || two == "<=" || two == ">=" || two == "<>" || two == "><") { tok(two, ln, 0); s = substr(s, 3); continue }
		if (index("{}(),/!<>=", c)) { tok(c, ln, 0); s = substr(s, 2); continue }
		match(s, /^[^ \t#"{}(),\/!<>=]+/)
		tok(substr(s, 1, RLENGTH), ln, 0); s = substr(s, RLENGTH + 1)
	}
	return 1
}
function tok(t, ln, q) { tn++; T[tn] = t; TL[tn] = ln; TQ[tn] = q }
function reset() { tn = 0; delete T; delete TL; delete TQ }

# ---- statements ----------------------------------------------------------------------------

function statement() {
	p = 1; stmterr = 0
	if (T[1] == "}" && tn == 1 && ctxn > 0) { CUR = CTX[ctxn--]; return }
	if (T[1] == "set") p_set()
	else if (T[1] == "pass" || T[1] == "block" || T[1] == "match" || T[1] == "anchor") p_rule(T[1])
	else if (T[1] == "load") p_load()
	else if (T[1] == "table") p_table()
	else if (T[1] == "include") p_include()
	else if (T[1] == "antispoof") p_antispoof()
	else if (T[1] != "queue") bad()
}

# bad: a syntax error, unless the statement already reported a more precise one (pf's
# YYERROR after yyerror() prints nothing more).
function bad() { if (!stmterr) err(FNAME, TL[p <= tn ? p : tn], "syntax error"); return 0 }
function obad() { bad(); return "\001" }
function more() { return p <= tn }
function at(t) { return p <= tn && T[p] == t && !TQ[p] }
function take(t) { if (at(t)) { p++; return 1 } return 0 }
function word() { return p <= tn && !TQ[p] && !(T[p] in KEYWORD) && T[p] !~ /^[{}(),\/!<>=]$|^(!=|<=|>=|<>|><)$/ }
function value() { return p <= tn && (TQ[p] || word()) }
function q(s) { return "\"" s "\"" }
function braces(v) { if (!index(v, "\002")) return v; gsub(/\002/, ", ", v); return "{ " v " }" }

# skipparens: consume a balanced "( ... )"; false when unbalanced.
function skipparens(    d, s) {
	s = ""
	if (!at("(")) return ""
	d = 0
	while (p <= tn) {
		if (T[p] == "(") d++
		if (T[p] == ")") d--
		s = s (s == "" || s ~ /[(<]$/ || T[p] == ")" || T[p] == "," || T[p] == ">" ? "" : " ") T[p]
		p++
		if (d == 0) return s
	}
	return "\001"
}

function p_set(    o, s) {
	p = 2
	if (!more() || !(T[p] in SETOPT)) return bad()
	o = T[p++]
	if (o == "skip") { if (!take("on")) return bad(); return list("ifname") != "\001" && !more() ? 1 : bad() }
	if (!more()) return bad()
	while (more()) {
		if (at("{")) { if (list("any") == "\001") return bad(); continue }
		if (at("(")) { if (skipparens() == "\001") return bad(); continue }
		if (!value() && T[p] != "," && T[p] != "drop" && T[p] != "return") return bad()
		p++
	}
	return 1
}

function p_load(    name, fl) {
	p = 2
	if (!take("anchor") || !value()) return bad()
	name = T[p++]
	if (!take("from") || !(p <= tn && TQ[p])) return bad()
	fl = T[p++]
	if (more()) return bad()
	if (!declared(name)) { p = 1; return bad() }
	if (loadanchors) { nload++; LOADP[nload] = sub_(CUR, name); LOADF[nload] = fl }
	return 1
}

# declared NAME: an earlier anchor rule of this ruleset attaches NAME (exactly, or "parent/*").
function declared(name,    par) {
	if (name in DECL) return 1
	par = name; sub(/\/[^\/]*$/, "", par)
	return par != name && ((par "/*") in DECL)
}
function sub_(base, name) { return base == "" ? name : base "/" name }

function p_table(    s) {
	p = 2
	if (!take("<") || !word() || !(T[p + 1] == ">")) return bad()
	p += 2
	while (more()) {
		if (take("persist") || take("const") || take("counters")) continue
		if (take("file")) { if (!(p <= tn && TQ[p])) return bad(); p++; continue }
		if (at("{")) { if (list("host") == "\001") return bad(); continue }
		return bad()
	}
	return 1
}

function p_antispoof() {
	p = 2
	take("log"); take("quick")
	if (!take("for") || list("ifname") == "\001") return bad()
	if (at("inet") || at("inet6")) p++
	if (take("label")) { if (!value()) return bad(); p++ }
	return more() ? bad() : 1
}

# list KIND: one item or "{ item [,] item ... }" (items may be negated with "!"); returns the
# items separated by "\002", or "\001" on error. Items are checked and normalised per KIND.
function list(kind,    items, it, neg) {
	items = ""
	if (!take("{")) return item(kind)
	while (p <= tn && !at("}")) {
		if (take(",")) continue
		it = item(kind)
		if (it == "\001") return it
		items = items (items == "" ? "" : "\002") it
	}
	if (!take("}") || items == "") return "\001"
	return items
}

function item(kind,    neg, v, w) {
	neg = take("!") ? "! " : ""
	if (p > tn) return "\001"
	if (kind == "host") return hostitem(neg)
	if (kind == "port") return portitem(neg)
	if (TQ[p]) return neg T[p++]
	if (kind == "proto") {
		v = T[p]
		if (!(v in PROTO) && v !~ /^[0-9]+$/) { err(FNAME, TL[p], "unknown protocol " v); return "\001" }
		p++
		return neg v
	}
	if (kind == "ifname" && at("rdomain")) { p++; if (T[p] !~ /^[0-9]+$/) return "\001"; return neg "rdomain " T[p++] }
	if (!word() && !(kind == "any" && value())) return "\001"
	return neg T[p++]
}

# A host: any, self, no-route, urpf-failed, <table>, (ifspec), address[/len], IF[:mod], or a list.
function hostitem(neg,    v, m, n, a) {
	if (at("<")) { if (!(T[p + 1] != "" && T[p + 2] == ">")) return "\001"; p += 3; return neg "<" T[p - 2] ">" }
	if (at("(")) { v = skipparens(); return v == "\001" ? v : neg v }
	if (at("any") || at("self") || at("no-route") || at("urpf-failed")) return neg T[p++]
	if (TQ[p]) return "\001"
	v = T[p++]
	if (at("/")) { p++; if (T[p] !~ /^[0-9]+$/) return "\001"; v = v "/" T[p++] }
	m = v; sub(/\/.*/, "", m)
	if (akey("inet", m) != "" || akey("inet6", m) != "") return neg v
	# Unparenthesised interface names are resolved now, so the interface needs an address.
	n = v; sub(/:.*/, "", n)
	if (n in IFX || n in GROUPS) {
		a = ifaddr(n, substr(v, length(n) + 1))
		if (a != "") return neg a
	}
	if (v == "localhost") return neg "127.0.0.1"
	err(FNAME, TL[p - 1], "no IP address found for " v)
	err(FNAME, TL[p - 1], "could not parse host specification")
	return "\001"
}

# ifaddr NAME MOD: the address (or network/broadcast with MOD) of an interface or group.
function ifaddr(n, mod,    g, mem, k, x, a, f) {
	if (!(n in IFX)) { g = split(GROUPS[n], mem, " "); for (k = 1; k <= g; k++) if (mem[k] in FIRST) { n = mem[k]; break } }
	if (!(n in FIRST)) return ""
	split(FIRST[n], a, " "); f = famof(a[1])
	if (mod == ":network") return netof(f, a[1], a[2]) "/" a[2]
	if (mod == ":broadcast") return f == "inet" ? bcastof(a[1], a[2]) : ""
	if (mod == "" || mod == ":0" || mod == ":peer") return a[1]
	return ""
}

function portval(v) {
	if (v ~ /^[0-9]+$/) return v
	if (v in SERV) return SERV[v]
	err(FNAME, TL[p], "unknown port " v)
	return ""
}

# A port: [op] value, value:value, value >< value, value <> value.
function portitem(neg,    op, v, w) {
	if (at("=") || at("!=") || at("<") || at("<=") || at(">") || at(">=")) {
		op = T[p++]
		if ((v = portval(T[p])) == "") return "\001"
		p++
		return op " " v
	}
	if (T[p] ~ /^[0-9]+:[0-9]+$/) return T[p++]
	if ((v = portval(T[p])) == "") return "\001"
	p++
	if (at("><") || at("<>")) { op = T[p++]; if ((w = portval(T[p])) == "") return "\001"; p++; return v " " op " " w }
	return "= " v
}

# p_rule ACTION: pass, block, match or anchor; emits the rule expanded over its lists.
function p_rule(action,    head, name, dir, lg, quick, on, af, proto, fromh, fromp, toh, top, \
		opts, flags, nostate, v, rest, block) {
	p = 2
	head = action
	if (action == "anchor") {
		if (!value() && !(p <= tn && TQ[p])) { if (!at("{")) return bad() ; name = "_" ++anon }
		else name = T[p++]
		head = "anchor " q(name)
	}
	if (action == "block") {
		if (at("drop") || at("return-rst") || at("return-icmp") || at("return-icmp6") || at("return")) {
			head = head " " T[p++]
			if (at("(")) { v = skipparens(); if (v == "\001") return bad(); head = head " " v }
		}
	}
	on = proto = fromh = fromp = toh = top = "\003"
	while (p <= tn) {
		if (at("in") || at("out")) { if (dir != "") return bad(); dir = T[p++]; continue }
		if (at("log")) { p++; lg = "log"; if (at("(")) { v = skipparens(); if (v == "\001") return bad(); lg = lg " " v }; continue }
		if (take("quick")) { quick = "quick"; continue }
		if (take("on")) { on = list("ifname"); if (on == "\001") return bad(); continue }
		if (at("inet") || at("inet6")) { af = T[p++]; continue }
		if (take("proto")) { proto = list("proto"); if (proto == "\001") return bad(); continue }
		if (take("all")) continue
		if (take("from")) {
			fromh = "any"
			if (!at("port")) { fromh = list("host"); if (fromh == "\001") return bad() }
			if (take("port")) { fromp = list("port"); if (fromp == "\001") return bad() }
			if (take("os")) { if (!value()) return bad(); opts = opts " os " q(T[p++]) }
			continue
		}
		if (take("to")) {
			toh = "any"
			if (!at("port")) { toh = list("host"); if (toh == "\001") return bad() }
			if (take("port")) { top = list("port"); if (top == "\001") return bad() }
			continue
		}
		if (action == "anchor" && at("{") && p == tn) { block = 1; p++; continue }
		if (action == "anchor") return bad()
		if ((rest = option()) == "\001") return 0
		if (rest ~ /^ flags /) flags = 1
		if (rest ~ /^ no state/) nostate = 1
		opts = opts rest
	}
	if (action == "anchor") {
		DECL[name] = 1
		out("A\t" P(sub_(CUR, name ~ /\/\*$/ ? substr(name, 1, length(name) - 2) : name)))
	}
	emit(head, dir, lg, quick, on, af, proto, fromh, fromp, toh, top, opts, \
		action == "pass" && !flags && !nostate)
	if (block) {
		CTX[++ctxn] = CUR
		CUR = sub_(CUR, name)
		out("L\t" P(CUR))
	}
	return 1
}

# option: one filter option of a rule, as " text" (or "\001" after reporting an error).
function option(    k, v, s, h, n, it, j) {
	k = T[p++]
	if (k == "flags") {
		if (at("any")) { p++; return " flags any" }
		s = ""
		if (word()) s = T[p++]
		if (!take("/") || !word()) { p--; return obad() }
		return " flags " s "/" T[p++]
	}
	if (k == "icmp-type" || k == "icmp6-type") {
		v = list("any")
		if (v == "\001") return obad()
		n = split(v, it, "\002")
		for (j = 1; j <= n; j++) if (!(it[j] in ICMPT) && it[j] !~ /^[0-9]+$/) {
			err(FNAME, TL[p - 1], "unknown icmp-type " it[j])
			return "\001"
		}
		v = braces(v)
		s = " " k " " v
		if (take("code")) { if (!value()) return obad(); s = s " code " T[p++] }
		return s
	}
	if (k == "keep" || k == "modulate" || k == "synproxy" || k == "no") {
		if (!take("state")) { p--; return obad() }
		s = " " k " state"
		if (at("(")) { v = skipparens(); if (v == "\001") return obad(); s = s " " v }
		return s
	}
	if (k == "label" || k == "tag" || k == "tagged" || k == "rtable" || k == "probability" || \
	    k == "prio" || k == "tos" || k == "received-on" || k == "max-pkt-rate" || k == "queue") {
		if (k == "queue" && at("(")) { v = skipparens(); return v == "\001" ? obad() : " queue " v }
		if (!value()) { p--; return obad() }
		v = TQ[p] ? q(T[p]) : T[p]
		p++
		if (k == "max-pkt-rate" && take("/")) v = v "/" T[p++]
		return " " k " " v
	}
	if (k == "user" || k == "group") {
		v = list("any")
		return v == "\001" ? obad() : " " k " " braces(v)
	}
	if (k == "set") {
		if (!(at("prio") || at("tos") || at("queue") || at("delay"))) { p--; return obad() }
		s = " set " T[p++]
		if (at("(")) { v = skipparens(); if (v == "\001") return obad(); return s " " v }
		if (!value()) return obad()
		return s " " T[p++]
	}
	if (k == "scrub") { v = skipparens(); return v == "" || v == "\001" ? obad() : " scrub " v }
	if (k == "nat-to" || k == "rdr-to" || k == "binat-to" || k == "route-to" || k == "reply-to" || \
	    k == "dup-to" || k == "divert-to") {
		h = list("host")
		if (h == "\001") return obad()
		s = " " k " " h
		if (take("port")) { v = list("port"); if (v == "\001") return obad(); s = s " port " v }
		while (at("bitmask") || at("random") || at("source-hash") || at("round-robin") || \
		       at("least-states") || at("static-port") || at("sticky-address")) s = s " " T[p++]
		return s
	}
	if (k == "af-to") {
		if (!(at("inet") || at("inet6"))) return obad()
		s = " af-to " T[p++]
		if (!take("from")) return obad()
		h = list("host"); if (h == "\001") return obad()
		s = s " from " h
		if (take("to")) { h = list("host"); if (h == "\001") return obad(); s = s " to " h }
		return s
	}
	if (k == "divert-packet") { if (!take("port") || !value()) return obad(); return " divert-packet port " T[p++] }
	if (k == "once" || k == "allow-opts" || k == "divert-reply" || k == "fragment") return " " k
	p--
	bad()
	return "\001"
}

# emit: print one rule per combination of the list items, in pfctl's field order; pass rules
# for TCP (or any protocol) get pf's default "flags S/SA" unless they say otherwise.
function emit(head, dir, lg, quick, on, af, proto, fromh, fromp, toh, top, opts, defflags, \
		ON, PR, FH, FP, TH, TP, non, npr, nfh, nfp, nth, ntp, a, b, c, d, e, g, s) {
	non = split(on, ON, "\002"); npr = split(proto, PR, "\002")
	nfh = split(fromh, FH, "\002"); nfp = split(fromp, FP, "\002")
	nth = split(toh, TH, "\002"); ntp = split(top, TP, "\002")
	for (a = 1; a <= non; a++) for (b = 1; b <= npr; b++) for (c = 1; c <= nfh; c++)
	for (d = 1; d <= nfp; d++) for (e = 1; e <= nth; e++) for (g = 1; g <= ntp; g++) {
		s = head
		if (dir != "") s = s " " dir
		if (lg != "") s = s " " lg
		if (quick != "") s = s " quick"
		if (ON[a] != "\003") s = s " on " ON[a]
		if (af != "") s = s " " af
		if (PR[b] != "\003") s = s " proto " PR[b]
		if (FH[c] == "\003" && TH[e] == "\003") s = s " all"
		else {
			s = s " from " (FH[c] == "\003" ? "any" : FH[c])
			if (FP[d] != "\003") s = s " port " FP[d]
			s = s " to " (TH[e] == "\003" ? "any" : TH[e])
			if (TP[g] != "\003") s = s " port " TP[g]
		}
		if (defflags && (PR[b] == "\003" || PR[b] == "tcp")) s = s " flags S/SA"
		out("R\t" P(CUR) "\t" s opts)
	}
}
