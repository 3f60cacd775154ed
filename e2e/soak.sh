# shellcheck shell=bash
# shellcheck disable=SC2153,SC2154 # T, NS, NS_A… are set by e2e/run.sh, which sources this file
# The soak (issue 12): a healthy but jittery fleet for E2E_SOAK_SECONDS
# (default 120; 0 skips), sourced by e2e/run.sh once the main tests passed.
# The suite's healthy Postfix in the namespace is put behind e2e/jitterproxy
# (every chunk held 0–150 ms, 1 % of them stalled 0.5–1 s), on an address of
# the namespace's own (NS_J), with 2 % random packet loss on the proxied path
# (iptables -m statistic, inside the namespace only). A soak exporter probes
# it and a second Prometheus scrapes every 5 s and evaluates
# dashboards/smtp_exporter.rules.yml VERBATIM (the file itself, no copy) every
# 5 s. TestSoak (e2e/soak_test.go, tag e2e_soak) waits out the soak, then
# asserts zero failed probes and zero ALERTS, pending or firing, and reports
# the figures.
#
# Timing: a 5 s scrape_timeout gives each probe 4.5 s (minus the exporter's
# 0.5 s --timeout-offset). The loss hits the packets the server side sends
# (SYN-ACK, greeting, replies, TLS flights), so a lost SYN-ACK costs the
# exporter's SYN retransmit, 1 s (linear on Linux >= 6.7, 1 s then 2 s
# before), and a lost reply a data retransmit (~0.2 s). E2E_SOAK_LOSS=both
# also drops the exporter's packets: then a lost final handshake ACK is
# repaired only by the server's SYN-ACK timer (1 s, 2 s, 4 s: 7 s for three
# losses in a row, about 1 connection in 26 000), which no 5 s scrape can
# absorb; README "Dashboards and alerts" has the figures.

# A developer running chosen tests (extra go test arguments) skips it by default.
SOAK_SECONDS=${E2E_SOAK_SECONDS:-$(($# ? 0 : 120))}
SOAK_LOSS=${E2E_SOAK_LOSS:-server}
[[ "$SOAK_SECONDS" =~ ^[0-9]+$ ]] || die "E2E_SOAK_SECONDS=$SOAK_SECONDS: want a number of seconds"
[[ "$SOAK_LOSS" == server || "$SOAK_LOSS" == both ]] || die "E2E_SOAK_LOSS=$SOAK_LOSS: want server or both"
SOAK_PROXY_PID=""
SOAK_EXPORTER_PID=""
SOAK_PROM_PID=""
SOAK_IPT=() # "CHAIN spec…" of each rule added, for soak_cleanup

# Called by run.sh's cleanup (EXIT trap) before the namespace goes.
soak_cleanup() {
	stop_pid "$SOAK_PROM_PID"
	stop_pid "$SOAK_EXPORTER_PID"
	stop_pid "$SOAK_PROXY_PID"
	local r
	for r in "${SOAK_IPT[@]}"; do
		# shellcheck disable=SC2086 # a rule's words
		ip netns exec "$NS" iptables -w 5 -D $r 2>/dev/null
	done
	SOAK_IPT=()
}

if ((SOAK_SECONDS == 0)); then
	log "soak skipped (E2E_SOAK_SECONDS=0)"
	return 0
fi
SOAK_BEGIN=$(date +%s)
SOAK_INTERVAL=5
SOAK_TARGETS=5 # the smtp_soak job's targets below

# The main suite's browser, Prometheus, Alertmanager and exporters are done:
# stopped now, so that they do not compete with the soak for the CPU.
stop_group "$CHROME_PID" && CHROME_PID=""
stop_pid "$PROM_PID" && PROM_PID=""
stop_pid "$AM_PID" && AM_PID=""
stop_pid "$EXPORTER_B_PID" && EXPORTER_B_PID=""
stop_pid "$EXPORTER_PID" && EXPORTER_PID=""

# ---------------------------------------------------------------- proxy ---
NS_J="$SUBNET.6" # the proxy's own address in the namespace
ip netns exec "$NS" ip addr add "$NS_J/24" dev "$VETH_N"
(cd "$REPO_ROOT" && go build -o "$T/jitterproxy" ./e2e/jitterproxy) || die "go build ./e2e/jitterproxy failed"
ip netns exec "$NS" "$T/jitterproxy" \
	-route "$NS_J:25=$NS_A:25" -route "$NS_J:465=$NS_D:465" \
	-route "$NS_J:587=$NS_D:587" -route "$NS_J:2525=$NS_D:2525" \
	-delay 150ms -stall-probability 0.01 -stall-min 500ms -stall-max 1s \
	-lifetime "$((SOAK_SECONDS + 300))s" -stats "$T/soak-proxy.json" >"$T/soak-proxy.log" 2>&1 &
SOAK_PROXY_PID=$!
wait_for "jitterproxy $NS_J:25" 15 smtp_greets "$NS_J" 25
wait_for "jitterproxy $NS_J:465 (TLS)" 15 tls_greets "$NS_J" 465

# ------------------------------------------------------------ packet loss ---
# Only packets from or to NS_J, inside the namespace: the first rule of a
# pair (no target) counts every packet, the second drops 2 % of them.
soak_loss_rules() { # CHAIN -s|-d
	local tag="smtp_exporter-e2e-soak" r
	for r in "$1 $2 $NS_J -p tcp -m comment --comment $tag-count" \
		"$1 $2 $NS_J -p tcp -m statistic --mode random --probability 0.02 -m comment --comment $tag-loss -j DROP"; do
		# shellcheck disable=SC2086 # a rule's words
		ip netns exec "$NS" iptables -w 5 -A $r
		SOAK_IPT+=("$r")
	done
}
soak_loss_rules OUTPUT -s # what the proxy (the server side) sends
[[ "$SOAK_LOSS" == both ]] && soak_loss_rules INPUT -d

# -------------------------------------------------------------- exporter ---
# Module timeouts above the probe's 4.5 s: the scrape timeout decides.
pick_port && SOAK_EXPORTER="127.0.0.1:$PORT"
soak_module() { # NAME PROBER [auth]
	printf '  %s:\n    prober: %s\n    timeout: %ss\n    smtp:\n      ehlo: probe.e2e.test\n' "$1" "$2" "$SOAK_INTERVAL"
	[[ -z "${3:-}" ]] || printf '      auth:\n        username: %s\n        password_file: %s\n' "$E2E_USER" "$T/password"
	printf '    tls_config:\n      ca_file: %s\n      server_name: mail.e2e.test\n' "$PKI/ca.pem"
}
{
	echo "modules:"
	soak_module starttls starttls
	soak_module tls_auth tls auth
	soak_module starttls_auth starttls auth
	soak_module submission_auth submission auth
} >"$T/soak-exporter.yml"
"$T/smtp_exporter" --config.file="$T/soak-exporter.yml" --web.listen-address="$SOAK_EXPORTER" \
	>"$T/soak-exporter.log" 2>&1 &
SOAK_EXPORTER_PID=$!
wait_for "soak exporter /-/ready" 15 curl -fsS -m 2 "http://$SOAK_EXPORTER/-/ready"

# ------------------------------------------------------------ Prometheus ---
SOAK_RULES="$REPO_ROOT/dashboards/smtp_exporter.rules.yml"
soak_prometheus_config() { # [with rules]
	cat <<-EOF
		global:
		  scrape_interval: ${SOAK_INTERVAL}s
		  scrape_timeout: ${SOAK_INTERVAL}s
		  evaluation_interval: ${SOAK_INTERVAL}s
	EOF
	[[ -z "${1:-}" ]] || printf 'rule_files:\n  - %s\n' "$SOAK_RULES"
	cat <<-EOF
		scrape_configs:
		  - job_name: smtp_soak
		    metrics_path: /probe
		    static_configs:
		      - {targets: ["$NS_J:25"], labels: {module: starttls}}
		      - {targets: ["$NS_J:2525"], labels: {module: starttls}}
		      - {targets: ["$NS_J:465"], labels: {module: tls_auth}}
		      - {targets: ["$NS_J:587"], labels: {module: starttls_auth}}
		      - {targets: ["$NS_J"], labels: {module: submission_auth}}
		    relabel_configs:
		      - {source_labels: [__address__], target_label: __param_target}
		      - {source_labels: [module], target_label: __param_module}
		      - {source_labels: [__param_target], target_label: instance}
		      - {target_label: __address__, replacement: "$SOAK_EXPORTER"}
		  - job_name: smtp_exporter
		    static_configs:
		      - targets: ["$SOAK_EXPORTER"]
	EOF
}
soak_prometheus_config with-rules >"$T/soak-prometheus.yml"
promtool check config "$T/soak-prometheus.yml" >"$T/soak-promtool.log" 2>&1 ||
	{ cat "$T/soak-promtool.log" >&2; die "promtool rejected $T/soak-prometheus.yml"; }
# Started without the rules, which are loaded (SIGHUP) once every target has
# been scraped: before that, SmtpExporterDown's absent(up) is rightly pending.
soak_prometheus_config >"$T/soak-prometheus.yml"
pick_port && SOAK_PROM="127.0.0.1:$PORT"
prometheus --config.file="$T/soak-prometheus.yml" --storage.tsdb.path="$T/soak-prom" \
	--web.listen-address="$SOAK_PROM" --log.level=info >"$T/soak-prometheus.log" 2>&1 &
SOAK_PROM_PID=$!
wait_for "soak Prometheus /-/ready" 30 curl -fsS -m 2 "http://$SOAK_PROM/-/ready"
soak_all_scraped() {
	local h
	h=$(curl -fsS -m 2 "http://$SOAK_PROM/api/v1/targets?state=active" | grep -o '"health":"[a-z]*"')
	[[ $(grep -c '"up"' <<<"$h") -eq $((SOAK_TARGETS + 1)) ]]
}
wait_for "the soak's first scrapes" 30 soak_all_scraped
soak_prometheus_config with-rules >"$T/soak-prometheus.yml"
kill -HUP "$SOAK_PROM_PID"
soak_rules_loaded() { curl -fsS -m 2 "http://$SOAK_PROM/api/v1/rules" | grep -qF "\"file\":\"$SOAK_RULES\""; }
wait_for "the soak's rules loaded" 15 soak_rules_loaded
SOAK_START=$(date +%s)
log "soak: ${SOAK_SECONDS}s, Prometheus $SOAK_PROM (pid $SOAK_PROM_PID) evaluating $SOAK_RULES verbatim, exporter $SOAK_EXPORTER, proxy $NS_J (pid $SOAK_PROXY_PID), 2 % loss of the packets from $([[ "$SOAK_LOSS" == both ]] && echo "both sides" || echo "the server side")"

# ------------------------------------------------------------------ test ---
SOAK_RC=0
E2E_PROMETHEUS="$SOAK_PROM" E2E_SOAK_SECONDS="$SOAK_SECONDS" E2E_SOAK_START="$SOAK_START" \
	E2E_SOAK_INTERVAL="$SOAK_INTERVAL" E2E_SOAK_TARGETS="$SOAK_TARGETS" E2E_SOAK_ADDR="$NS_J" \
	E2E_SOAK_LOSS="$SOAK_LOSS" E2E_SOAK_RULES="$SOAK_RULES" E2E_SOAK_PROXY_STATS="$T/soak-proxy.json" \
	setsid go test -tags e2e,e2e_soak -count=1 -timeout "$((SOAK_SECONDS + 180))s" -v -run '^TestSoak$' ./e2e/ &
GOTEST_PID=$!
wait "$GOTEST_PID" || SOAK_RC=$?
GOTEST_PID=""
log "soak: added $(($(date +%s) - SOAK_BEGIN))s, exit $SOAK_RC"
((SOAK_RC == 0)) || exit "$SOAK_RC"
