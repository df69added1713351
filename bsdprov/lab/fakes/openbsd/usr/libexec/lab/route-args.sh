# route-args.sh (openbsd): route(8)'s argument grammar on openbsd, sourced by the common fake.
# route_args ARGS...: lab_die with the real tool's message on what openbsd's route refuses.
# Each rule names the source function or man page it follows.
# shellcheck shell=sh
route_args() {
	:
}
