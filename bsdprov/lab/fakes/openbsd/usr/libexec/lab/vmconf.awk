# vmconf.awk: the lab's vm.conf(5) parser, shared by vmd -n, vmd start and vmctl reload.
#
# Variables: file (host path), root (LAB_ROOT), ifdir (interface state). Output records:
#   E msg                                       an error (FILE:LINE: message) or a warning line
#   S id name bridge enabled group locked       a switch
#   V id name memMB enabled owner               a VM
#   D vmid path                                 one of its disks
#   I vmid idx tap switch lladdr locked group   one of its interfaces ("-" when unset)
# Like vmd's lexer it ends statements at newlines, takes `#` comments, quoted strings, macros
# (name="value" / $name) and `include`. Stricter than vmd on purpose: any `;` outside quotes is a
# syntax error (vmd glues it onto a bare word and then silently ignores the option).

BEGIN {
	split("agentx allow boot cdrom context delay device disable disk down enable format group " \
		"include instance interface interfaces local locked lladdr memory owner parallel path " \
		"prefix rdomain sev seves socket staggered start switch up vm inet6 cpu", kv, " ")
	for (i = 1; i in kv; i++) KEYWORD[kv[i]] = 1
	nerr = 0; nsw = 0; nvm = 0
	parse(file)
	if (depth > 0) err(lastf, lastl, "syntax error")
	exit nerr > 0
}

function err(f, ln, m) { print "E\t" f ":" ln ": " m; nerr++ }
function warn(m) { print "E\t" m; nerr++ }
function real(f) { return f ~ /^\// ? root f : f }
function exists(f,    l, r) { r = (getline l < real(f)); close(real(f)); return r >= 0 }

function parse(f,    l, ln, line, cont, sl) {
	if (!exists(f)) { warn("vmd: " f ": No such file or directory"); return }
	ln = 0; cont = 0
	while ((getline l < real(f)) > 0) {
		ln++
		if (!cont) { line = ""; sl = ln }
		if (l ~ /\\$/) { line = line substr(l, 1, length(l) - 1) " "; cont = 1; continue }
		line = line l; cont = 0
		lastf = f; lastl = ln
		if (depth == 0 && match(line, /^[ \t]*[A-Za-z_][A-Za-z0-9_]*=/)) {
			macro(line, f, sl)
			continue
		}
		tn = 0
		if (!lex(line, f, sl)) continue
		if (tn) statement(f)
	}
	close(real(f))
}

function macro(s, f, ln,    n) {
	n = substr(s, RSTART, RLENGTH - 1); sub(/^[ \t]*/, "", n)
	if (n in KEYWORD) { err(f, ln, "syntax error"); return }
	tn = 0
	if (!lex(substr(s, RSTART + RLENGTH), f, ln) || tn != 1) { err(f, ln, "syntax error"); return }
	MAC[n] = T[1]
}

# lex S F LN: S's tokens into T/TQ/TL. Macros expand to one token each.
function lex(s, f, ln,    c, j, w) {
	while (s != "") {
		c = substr(s, 1, 1)
		if (c == " " || c == "\t") { s = substr(s, 2); continue }
		if (c == "#") break
		if (c == "\"") {
			j = index(substr(s, 2), "\"")
			if (!j) { err(f, ln, "syntax error"); return 0 }
			add(substr(s, 2, j - 1), 1, ln); s = substr(s, j + 2); continue
		}
		if (c == "{" || c == "}" || c == ",") { add(c, 0, ln); s = substr(s, 2); continue }
		match(s, /^[^ \t#"{},]+/)
		w = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
		if (w ~ /;/) { err(f, ln, "syntax error"); return 0 }
		if (w ~ /^\$/) {
			if (!((substr(w, 2)) in MAC)) { err(f, ln, "macro '" substr(w, 2) "' not defined"); return 0 }
			add(MAC[substr(w, 2)], 1, ln); continue
		}
		add(w, 0, ln)
	}
	return 1
}
function add(t, q, ln) { tn++; T[tn] = t; TQ[tn] = q; TL[tn] = ln }

# The grammar runs as a small state machine over the statements of each line; `depth` and
# `ctx` (switch, vm, if, allow) carry the open blocks across lines.
function statement(f,    k) {
	p = 1
	while (p <= tn) {
		k = T[p]
		if (k == "}" && !TQ[p]) { if (!close_(f)) return; p++; continue }
		if (k == ",") { if (ctx[depth] == "" || !commaok) return bad(f); p++; continue }
		if (depth == 0) { if (!top(f)) return }
		else if (ctx[depth] == "switch") { if (!swopt(f)) return }
		else if (ctx[depth] == "vm") { if (!vmopt(f)) return }
		else if (ctx[depth] == "if") { if (!ifopt(f)) return }
		else if (ctx[depth] == "allow") { p++ }
	}
}

function bad(f) { err(f, TL[p <= tn ? p : tn], "syntax error"); return 0 }
function tk(t) { return p <= tn && T[p] == t && !TQ[p] }
function str() { return p <= tn && T[p] != "{" && T[p] != "}" && T[p] != "," && !(T[p] in KEYWORD && !TQ[p]) }

function top(f,    k, n) {
	k = T[p++]
	if (k == "include") { if (!(p <= tn && TQ[p])) return bad(f); parse(T[p++]); return 1 }
	if (k == "switch" || k == "vm") {
		if (!str()) return bad(f)
		n = T[p++]
		if (!tk("{")) return bad(f)
		p++
		depth = 1; ctx[1] = k
		if (k == "switch") { nsw++; SWN = n; SWIF = ""; SWL = TL[p - 1]; SWEN = 1; SWG = "-"; SWLK = 0 }
		else {
			if (n !~ /^[A-Za-z][A-Za-z0-9._-]*$/) { err(f, TL[p - 1], "invalid VM name"); nvm++; VMN = n; return 1 }
			if (n in SEEN) { err(f, TL[p - 1], "vm \"" n "\" already exists") }
			SEEN[n] = 1
			nvm++; VMN = n; VMMEM = 512; VMEN = 1; VMOWN = "root"; nif = 0
		}
		return 1
	}
	if (k == "local") { if (!(tk("prefix") || tk("inet6"))) return bad(f); p++; while (p <= tn && !tk("{")) p++; return 1 }
	if (k == "socket") { if (!tk("owner")) return bad(f); p += 2; return 1 }
	if (k == "staggered") { if (!tk("start")) return bad(f); p++; if (!tk("parallel")) return bad(f); p += 2; if (!tk("delay")) return bad(f); p += 2; return 1 }
	if (k == "agentx") { while (tk("context") || tk("path")) p += 2; return 1 }
	p--
	return bad(f)
}

function close_(f) {
	if (depth == 0) return bad(f)
	if (ctx[depth] == "switch") {
		if (SWIF == "") err(f, SWL, "switch \"" SWN "\" is missing interface name")
		print "S", nsw, SWN, SWIF, SWEN, SWG, SWLK
	} else if (ctx[depth] == "vm") {
		print "V", nvm, VMN, VMMEM, VMEN, VMOWN
	} else if (ctx[depth] == "if") {
		print "I", nvm, nif - 1, IFN, IFSW, IFLL, IFLK, IFG
	}
	delete ctx[depth--]
	commaok = 0
	return 1
}

function swopt(f,    k, v) {
	k = T[p++]
	if (k == "interface") {
		if (!str()) return bad(f)
		v = T[p++]
		SWIF = v
		if (v !~ /^(bridge|veb)[0-9]+$/) err(f, TL[p - 1], "invalid switch interface: " v)
		return 1
	}
	if (k == "enable" || k == "disable") { SWEN = (k == "enable"); return 1 }
	if (k == "up" || k == "down") return 1
	if (k == "group") return groupname(f)
	if (k == "locked") { if (!tk("lladdr")) return bad(f); p++; SWLK = 1; return 1 }
	if (k == "rdomain") { if (T[p] !~ /^[0-9]+$/) return bad(f); p++; return 1 }
	p--
	return bad(f)
}

function groupname(f,    v) {
	if (!str()) return bad(f)
	v = T[p++]
	if (v ~ /[0-9]$/ || length(v) > 15) { err(f, TL[p - 1], "invalid group name: " v); return 1 }
	if (ctx[depth] == "if") IFG = v; else SWG = v
	return 1
}

function vmopt(f,    k, v, mb) {
	k = T[p++]
	if (k == "memory") {
		if (!str()) return bad(f)
		v = T[p++]
		mb = size(v)
		if (mb == -1) { warn("vmd: size must be at least one megabyte"); err(f, TL[p - 1], "failed to parse size: " v); return 1 }
		if (mb == -2) { err(f, TL[p - 1], "failed to parse size: " v); return 1 }
		VMMEM = mb
		return 1
	}
	if (k == "disk" || k == "cdrom" || k == "boot") {
		if (k == "boot" && tk("device")) { p++; if (!(tk("cdrom") || tk("disk") || tk("net"))) return bad(f); p++; return 1 }
		if (!(p <= tn && TQ[p]) && !str()) return bad(f)
		v = T[p++]
		if (k == "disk" && tk("format")) { p++; if (!(tk("qcow2") || tk("raw"))) return bad(f); p++ }
		if (!exists(v)) {
			warn("vmd: " k " " v ": No such file or directory")
			err(f, TL[p - 1], "failed to parse " (k == "disk" ? "disks" : k) ": " v)
			return 1
		}
		if (k == "disk") print "D", nvm, v
		return 1
	}
	if (k == "enable" || k == "disable") { VMEN = (k == "enable"); return 1 }
	if (k == "owner") { if (!str()) return bad(f); VMOWN = T[p++]; return 1 }
	if (k == "interfaces") { if (T[p] !~ /^[0-9]+$/) return bad(f); v = T[p++]; while (nif < v) { nif++; print "I", nvm, nif - 1, "tap", "-", "-", 0, "-" }; return 1 }
	if (k == "sev" || k == "seves") return 1
	if (k == "allow") { if (!tk("instance")) return bad(f); p++; if (!tk("{")) return bad(f); p++; ctx[++depth] = "allow"; return 1 }
	if (k == "local") { if (!tk("interface")) return bad(f); k = T[p++] }
	if (k == "interface") {
		nif++; IFN = "tap"; IFSW = "-"; IFLL = "-"; IFLK = 0; IFG = "-"
		if (p <= tn && T[p] ~ /^tap[0-9]*$/) IFN = T[p++]
		if (tk("{")) { p++; ctx[++depth] = "if"; commaok = 0; return 1 }
		# The brace-less form takes its options on the same line, separated by commas.
		ctx[++depth] = "if"; commaok = 1
		while (p <= tn) { if (tk(",")) { p++; continue } if (!ifopt(f)) return 0 }
		return close_(f)
	}
	p--
	return bad(f)
}

function ifopt(f,    k, v) {
	k = T[p++]
	if (k == "switch") { if (!str()) return bad(f); IFSW = T[p++]; return 1 }
	if (k == "locked") { if (!tk("lladdr")) return bad(f); IFLK = 1; k = T[p++] }
	if (k == "lladdr") {
		if (p <= tn && T[p] ~ /^[0-9A-Fa-f][0-9A-Fa-f]?(:[0-9A-Fa-f][0-9A-Fa-f]?)+$/) {
			if (split(T[p], v, ":") != 6) { err(f, TL[p], "invalid address: " T[p]); p++; return 1 }
			IFLL = tolower(T[p++])
		}
		return 1
	}
	if (k == "group") return groupname(f)
	if (k == "rdomain") { if (T[p] !~ /^[0-9]+$/) return bad(f); p++; return 1 }
	if (k == "up" || k == "down") return 1
	p--
	return bad(f)
}

# size V: megabytes from a vm.conf size (K/M/G/T suffix; a bare number is bytes); -1 when
# below a megabyte, -2 when unparsable.
function size(v,    n, u) {
	if (!match(v, /^[0-9]+[KkMmGgTtBb]?$/)) return -2
	n = v + 0; u = toupper(substr(v, length(v)))
	if (u == "T") return n * 1024 * 1024
	if (u == "G") return n * 1024
	if (u == "M") return n
	if (u == "K") n = n * 1024
	return n < 1048576 ? -1 : int(n / 1048576)
}
