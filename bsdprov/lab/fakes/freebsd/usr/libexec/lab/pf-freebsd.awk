# pf-freebsd.awk: the lab's checker of FreeBSD's pf.conf(5) (FreeBSD 13/14 pfctl, parse.y), run
# by freebsd/sbin/pfctl through lab_awk. FreeBSD's pf is older than OpenBSD's: translation is
# its own rule type (`nat on IF from SRC to DST -> ADDR`), not `nat-to` on a filter rule, and
# pfctl enforces the statement order unless `set require-order no` (check_rulestate).
#
# Variables: file (host path; "-" is stdin), root (LAB_ROOT), target (the anchor the file is
# loaded into, "" for the main ruleset), loadanchors (1: also parse `load anchor` files).
# Output, one record per line, tab-separated (as the OpenBSD fake's pf.awk):
#   E msg          an error for stderr (FILE:LINE: message)
#   A path         an anchor that exists once this is loaded
#   L path         a ruleset this load replaces
#   R path rule    a rule of that ruleset (translation and filter rules alike, as written,
#                  macros expanded, blanks squeezed; pfctl -sn/-sr tell them apart)
# path "." is the main ruleset. Accepted: macros, tables, set, scrub, nat/rdr/binat (and
# `no`), nat-anchor/rdr-anchor/binat-anchor, pass/block/match/antispoof/anchor, load anchor.
# Rejected as pfctl does: an unknown first word, `nat-to`/`rdr-to` (OpenBSD syntax, a syntax
# error before FreeBSD 15), a nat/rdr rule without `->` (parse.y natrule: redirpool), an
# undefined macro, statements out of order, a `load anchor` file that cannot be read.

BEGIN {
	ORDER["set"] = 1; ORDER["ether"] = 2; ORDER["scrub"] = 3; ORDER["altq"] = 4; ORDER["queue"] = 4
	split("nat rdr binat nat-anchor rdr-anchor binat-anchor no", tv, " ")
	for (i = 1; i in tv; i++) ORDER[tv[i]] = 5
	split("pass block match antispoof anchor", fv, " ")
	for (i = 1; i in fv; i++) ORDER[fv[i]] = 6
	nerr = 0
	parsefile(file, target)
	for (li = 1; li <= nload; li++) {
		if (nerr) break
		parsefile(LOADF[li], LOADP[li])
	}
	exit nerr > 0
}

function out(s) { print s }
function P(path) { return path == "" ? "." : path }
function err(f, ln, msg) { out("E\t" f ":" ln ": " msg); nerr++ }

function parsefile(f, path,    real, line, ln, st, w, n, i, name, v, order, startln, text) {
	real = f == "-" ? "-" : root f
	if (f != "-" && (getline line < real) < 0) {
		err(f, 0, "cannot open the main config file!: No such file or directory")
		return
	}
	if (f != "-") close(real)
	out("L\t" P(path))
	delete MACRO
	st = 0; order = 1; ln = 0; text = ""
	while ((f == "-" ? (getline line) : (getline line < real)) > 0) {
		ln++
		if (text == "") startln = ln
		# parse.y lgetc: a backslash-newline joins lines; '#' starts a comment to the line end.
		if (line ~ /\\$/) { text = text substr(line, 1, length(line) - 1) " "; continue }
		text = text line
		sub(/#.*/, "", text)
		gsub(/[ \t]+/, " ", text); sub(/^ /, "", text); sub(/ $/, "", text)
		if (text == "") continue
		statement(f, startln, path, text)
		text = ""
	}
	if (f != "-") close(real)
}

function statement(f, ln, path, text,    w, n, v, name, file, rest) {
	# macro definition: name = value (parse.y varset)
	if (match(text, /^[A-Za-z_][A-Za-z0-9_]* ?= ?/)) {
		name = text; sub(/ ?=.*/, "", name)
		v = substr(text, RLENGTH + 1); gsub(/^"|"$/, "", v)
		MACRO[name] = v
		return
	}
	while (match(text, /\$[A-Za-z_][A-Za-z0-9_]*/)) {
		name = substr(text, RSTART + 1, RLENGTH - 1)
		if (!(name in MACRO)) { err(f, ln, "macro '" name "' not defined"); return }
		text = substr(text, 1, RSTART - 1) MACRO[name] substr(text, RSTART + RLENGTH)
	}
	n = split(text, w, " ")
	if (w[1] == "table") return
	if (w[1] == "load") {
		if (n != 5 || w[2] != "anchor" || w[4] != "from") { err(f, ln, "syntax error"); return }
		name = w[3]; gsub(/"/, "", name); file = w[5]; gsub(/"/, "", file)
		if (loadanchors) {
			nload++; LOADF[nload] = file; LOADP[nload] = (path == "" ? "" : path "/") name
			out("A\t" LOADP[nload])
		}
		return
	}
	if (!(w[1] in ORDER)) { err(f, ln, "syntax error"); return }
	if (text ~ /(^| )(nat-to|rdr-to|binat-to|af-to)( |$)/) { err(f, ln, "syntax error"); return }
	if (w[1] == "set" && w[2] == "require-order") { REQORDER[f] = (w[3] == "no") ? 0 : 1; return }
	if (!(f in REQORDER) || REQORDER[f]) {
		if (ORDER[w[1]] < STATE[f]) {
			err(f, ln, "Rules must be in order: options, ethernet, normalization, queueing, translation, filtering")
			return
		}
	}
	if (ORDER[w[1]] > STATE[f]) STATE[f] = ORDER[w[1]]
	if (w[1] == "set") return
	if (w[1] == "no" && w[2] !~ /^(nat|rdr|binat)$/) { err(f, ln, "syntax error"); return }
	if ((w[1] == "nat" || w[1] == "rdr" || w[1] == "binat") && text !~ / -> [^ ]/) {
		err(f, ln, "syntax error")
		return
	}
	if (w[1] ~ /anchor$/) {
		if (w[2] !~ /^"[^"]+"$/) { err(f, ln, "syntax error"); return }
		name = w[2]; gsub(/"/, "", name)
		if (name !~ /\*$/) out("A\t" (path == "" ? "" : path "/") name)
		if (n == 2) text = text " all"
	}
	out("R\t" P(path) "\t" text)
}
