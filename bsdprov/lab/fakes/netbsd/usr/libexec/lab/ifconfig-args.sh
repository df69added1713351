# ifconfig-args.sh (netbsd): ifconfig(8)'s argument grammar on netbsd, sourced by the common fake.
# ifconfig_args ARGS...: lab_die with the real tool's message on what netbsd's ifconfig refuses.
# Each rule names the source function or man page it follows.
# shellcheck shell=sh
ifconfig_args() {
	:
}
