#!/bin/sh
# init-state.sh: give a simulated host its initial network state and the config files that
# produce it, as if it had just booted.
#
# Usage: LAB_ROOT=ROOT sh init-state.sh [-b] [-l] [-n HOSTNAME] [-r RELEASE] [-x IF]...
#            OS IF ADDR/PREFIX GATEWAY
#   ROOT         the host's root after common/ then OS/ were copied over it; leave LAB_ROOT
#                empty when running inside the host
#   OS           openbsd | freebsd | netbsd
#   IF           the management NIC: vio0 (openbsd), vtnet0 (freebsd), vioif0 (netbsd)
#   ADDR/PREFIX  the management IPv4 address and prefix length, e.g. 198.18.0.5/24
#   GATEWAY      the IPv4 default gateway; one outside ADDR/PREFIX is reached through an
#                interface host route, configured the way each OS's reference recipe does
#   -n HOSTNAME  node name (default: /var/lab/hostname if present, else "lab")
#   -r RELEASE   e.g. 7.6, 14.1-RELEASE, 10.0 (default: /var/lab/release if present, else
#                7.6 | 14.1-RELEASE | 10.0)
#   -x IF        one more physical interface, present but down and unconfigured (repeatable)
#   -l           IF is the lab's own NIC, which the host's inventory does not name (a host with
#                no static IPv4 address, maybe DHCP): on OpenBSD its default route goes in
#                /etc/hostname.IF, not /etc/mygate, whose IPv4 line netstart ignores once an
#                interface is autoconf; the lab stays reachable after a reboot
#   -b           boot: build the state by running the OS's own network start on the written
#                files (netstart, rc.d/netif + routing, rc.d/network) instead of writing it
#                directly; slower, and what the direct path must match
#
# Writes /var/lab/{os,release,hostname,mgmt}, the state in /var/lab/state, the power-on state
#   (NICs, lo0, sysctl defaults) in /var/lab/hardware for lab.reboot, the config files
#   openbsd  /etc/hostname.IF (0640), /etc/mygate, /etc/myname, /etc/pf.conf (0600)
#   freebsd  /etc/rc.conf (hostname, ifconfig_IF, defaultrouter, sshd_enable)
#   netbsd   /etc/ifconfig.IF, /etc/rc.conf (rc_configured=YES, hostname, defaultroute, sshd)
# and leaves /var/log/lab-calls.log empty.
boot=0 name='' release='' extra='' labnic=0
while getopts :bln:r:x: opt; do
	case $opt in
	b) boot=1 ;;
	l) labnic=1 ;;
	n) name=$OPTARG ;;
	r) release=$OPTARG ;;
	x) extra="$extra $OPTARG" ;;
	*)
		echo "usage: LAB_ROOT=ROOT init-state.sh [-b] [-l] [-n HOSTNAME] [-r RELEASE] [-x IF]... OS IF ADDR/PREFIX GATEWAY" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 4 ] || {
	echo "init-state.sh: need OS IF ADDR/PREFIX GATEWAY" >&2
	exit 2
}
os=$1 nic=$2 addr=${3%/*} plen=${3#*/} gw=$4
case $os in openbsd | freebsd | netbsd) ;; *)
	echo "init-state.sh: unknown OS '$os'" >&2
	exit 2
	;;
esac
[ "$plen" != "$3" ] || plen=32

R=${LAB_ROOT:-}
mkdir -p "$R/var/log" "$R/etc" "$R/tmp"
rm -rf "$R/var/lab/state"
mkdir -p "$R/var/lab/state/if"
echo "$os" >"$R/var/lab/os"
echo "$nic $addr" >"$R/var/lab/mgmt"
[ -n "$name" ] || name=$(cat "$R/var/lab/hostname" 2>/dev/null) || :
[ -n "$name" ] || name=lab
echo "$name" >"$R/var/lab/hostname"
if [ -z "$release" ]; then
	release=$(cat "$R/var/lab/release" 2>/dev/null) || :
fi
if [ -z "$release" ]; then
	case $os in openbsd) release=7.6 ;; freebsd) release=14.1-RELEASE ;; *) release=10.0 ;; esac
fi
echo "$release" >"$R/var/lab/release"

# shellcheck source=/dev/null
. "$R/usr/libexec/lab/lib.sh"

# mask and on-link test, with the same arithmetic as the fakes
# shellcheck disable=SC2046 # two words
set -- $(lab_awk -v a="$addr" -v p="$plen" -v g="$gw" 'BEGIN {
	if (akey("inet", a) == "" || akey("inet", g) == "" || p !~ /^[0-9]+$/ || p > 32) { print "ERR"; exit }
	print plen2mask(p), (innet("inet", g, a, p) ? "onlink" : "offlink")
}')
[ "$1" != ERR ] || {
	echo "init-state.sh: bad address, prefix or gateway: $addr/$plen $gw" >&2
	exit 2
}
mask=$1 onlink=$2

# The hardware: NICs and lo0 (which the kernel brings up with ::1).
lab_if_new "$nic" ether
for x in $extra; do lab_if_new "$x" ether; done
lab_if_new lo0 loop
lab_if_set lo0 up 1
echo "inet6 ::1 128" >>"$(lab_iff lo0)"
cat >"$LAB_STATE/sysctl" <<EOF
net.inet.ip.forwarding=0
net.inet6.ip6.forwarding=0
hw.ncpu=2
EOF
case $os in
openbsd) printf '%s\n' "kern.securelevel=1" "net.inet.gre.allow=0" "net.inet.etherip.allow=0" >>"$LAB_STATE/sysctl" ;;
freebsd)
	printf '%s\n' "kern.securelevel=-1" "net.link.tap.up_on_open=0" >>"$LAB_STATE/sysctl"
	# Pool zroot, as FreeBSD's installer names it (sbin/zfs's state). The installer mounts it at
	# /zroot; a lab host's / is read-only outside a few directories, so here it is /var/zroot.
	echo "zroot filesystem /var/zroot - -" >"$R/var/lab/zfs"
	mkdir -p "$R/var/zroot"
	;;
netbsd) printf '%s\n' "kern.securelevel=1" "net.inet6.ip6.accept_rtadv=0" >>"$LAB_STATE/sysctl" ;;
esac
# What the hardware and the kernel give at power-on: lab.reboot (usr/libexec/lab/reboot) starts
# again from this.
rm -rf "$R/var/lab/hardware"
mkdir -p "$R/var/lab/hardware"
cp -R "$LAB_STATE/if" "$R/var/lab/hardware/if"
cp "$LAB_STATE/sysctl" "$LAB_STATE/next-index" "$R/var/lab/hardware/"

rt() { echo "$*" >>"$LAB_STATE/routes"; }

case $os in
openbsd)
	{
		echo "inet $addr $mask"
		[ "$onlink" = onlink ] || echo "!route -qn add -inet $gw -cloning -link -iface \$if"
		[ "$labnic" = 0 ] || echo "!route -qn add -inet default $gw"
	} >"$R/etc/hostname.$nic"
	chmod 0640 "$R/etc/hostname.$nic"
	[ "$labnic" = 1 ] || echo "$gw" >"$R/etc/mygate"
	echo "$name" >"$R/etc/myname"
	printf '%s\n' "# the lab's default: what a fresh install allows" "set skip on lo" "block return" "pass" >"$R/etc/pf.conf"
	chmod 0600 "$R/etc/pf.conf"
	mkdir -p "$LAB_STATE/pf" "$LAB_STATE/rc"
	if [ "$boot" = 1 ]; then
		sh "$R/etc/netstart" >/dev/null
		pfctl -f /etc/pf.conf
		pfctl -e 2>/dev/null # as /etc/rc does when pf is not NO
	else
		lab_if_set "$nic" up 1
		echo "inet $addr $plen" >>"$(lab_iff "$nic")"
		echo "inet 127.0.0.1 8" >>"$(lab_iff lo0)"
		for r in fe80::/10 fec0::/10 ::ffff:0.0.0.0/96 2002:e000::/20 2002:7f00::/24 2002::/24 2002:ff00::/24 ff01::/16 ff02::/16 ::/96; do
			rt "inet6 ${r%/*} ${r#*/} ::1 UGRS lo0 ::1 8"
		done
		[ "$onlink" = onlink ] || rt "inet $gw 32 link#$(lab_if_get "$nic" index) UHCS $nic $addr 8"
		rt "inet 0.0.0.0 0 $gw UGS $nic $addr 8"
		rt "inet 224.0.0.0 4 127.0.0.1 URS lo0 127.0.0.1 8"
		rt "inet 127.0.0.0 8 127.0.0.1 UGRS lo0 127.0.0.1 8"
		printf '%s\n' "block return all" "pass all flags S/SA" >"$LAB_STATE/pf/main"
		echo 1 >"$LAB_STATE/pf/enabled"
	fi
	# /etc/rc starts the daemons enabled in rc.conf(.local).
	awk -F= '/^[a-z0-9_]+_flags=/ && $2 != "NO" { sub(/_flags$/, "", $1); print $1 }' "$R/etc/rc.conf" |
		while read -r d; do : >"$LAB_STATE/rc/$d"; done
	;;
freebsd)
	{
		echo "hostname=\"$name\""
		echo "ifconfig_$nic=\"inet $addr netmask $mask\""
		if [ "$onlink" != onlink ]; then
			echo 'static_routes="mgmtgw"'
			echo "route_mgmtgw=\"-host $gw -interface $nic\""
		fi
		echo "defaultrouter=\"$gw\""
		echo 'sshd_enable="YES"'
	} >"$R/etc/rc.conf"
	if [ "$boot" = 1 ]; then
		service netif start >/dev/null
		service routing start >/dev/null 2>&1
	else
		lab_if_set "$nic" up 1
		echo "inet $addr $plen" >>"$(lab_iff "$nic")"
		echo "inet 127.0.0.1 8" >>"$(lab_iff lo0)"
		[ "$onlink" = onlink ] || rt "inet $gw 32 link#$(lab_if_get "$nic" index) UHS $nic $addr 8"
		rt "inet 0.0.0.0 0 $gw UGS $nic $addr 8"
		for r in ::ffff:0.0.0.0/96 ::/96 fe80::/10 ff02::/16; do
			rt "inet6 ${r%/*} ${r#*/} ::1 UGRS lo0 ::1 8"
		done
	fi
	;;
netbsd)
	{
		echo "inet $addr netmask $mask"
		[ "$onlink" = onlink ] || echo "!/sbin/route -q add -host $gw -iface $addr"
	} >"$R/etc/ifconfig.$nic"
	printf '%s\n' "rc_configured=YES" "hostname=$name" "defaultroute=\"$gw\"" "sshd=YES" >"$R/etc/rc.conf"
	if [ "$boot" = 1 ]; then
		sh "$R/etc/rc.d/network" start >/dev/null
	else
		lab_if_set "$nic" up 1
		echo "inet 127.0.0.1 8" >>"$(lab_iff lo0)"
		echo "inet $addr $plen" >>"$(lab_iff "$nic")"
		rt "inet 127.0.0.0 8 127.0.0.1 UGRS lo0 127.0.0.1 8"
		for r in fe80::/10 ::ffff:0.0.0.0/96 2001:db8::/32 ff02::/16; do
			rt "inet6 ${r%/*} ${r#*/} ::1 UGRS lo0 ::1 8"
		done
		[ "$onlink" = onlink ] || rt "inet $gw 32 $addr UHS $nic $addr 8"
		rt "inet 0.0.0.0 0 $gw UGS $nic $addr 8"
	fi
	;;
esac
: >"$LAB_LOG"
